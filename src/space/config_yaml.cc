#include <set>
#include <sstream>

#include "thanos/common/text.h"
#include "thanos/space/config_io.h"
#include "thanos/space/yaml_fields.h"

namespace thanos {
namespace {

using namespace yaml_fields;

const char* kEncEmbed = "encoder-embed-dim-subtransformer";
const char* kDecEmbed = "decoder-embed-dim-subtransformer";
const char* kEncLayers = "encoder-layer-num-subtransformer";
const char* kDecLayers = "decoder-layer-num-subtransformer";
const char* kEncFfn = "encoder-ffn-embed-dim-all-subtransformer";
const char* kDecFfn = "decoder-ffn-embed-dim-all-subtransformer";
const char* kEncHeads = "encoder-self-attention-heads-all-subtransformer";
const char* kDecHeads = "decoder-self-attention-heads-all-subtransformer";
const char* kEndeHeads = "decoder-ende-attention-heads-all-subtransformer";
const char* kEndeAttn = "decoder-arbitrary-ende-attn-all-subtransformer";
const char* kEncQkv = "encoder-self-attention-qkv-dim-all-subtransformer";
const char* kDecQkv = "decoder-self-attention-qkv-dim-all-subtransformer";
const char* kEndeQkv = "decoder-ende-attention-qkv-dim-all-subtransformer";

}  // namespace

LoadedConfig parse_config_yaml(const std::string& text, const std::string& source, int default_qkv_dim) {
  YAML::Node root = parse_mapping(text, source);
  LoadedConfig out;
  SubConfig& c = out.config;
  std::set<std::string> used;

  auto required = [&](const char* key) {
    used.insert(key);
    YAML::Node n = root[key];
    if (!n) throw std::invalid_argument(source + ": " + key + ": missing (a HAT SubTransformer file needs it)");
    return n;
  };
  c.encoder_embed_dim = as_int(source, required(kEncEmbed), kEncEmbed);
  c.decoder_embed_dim = as_int(source, required(kDecEmbed), kDecEmbed);
  const int le = as_int(source, required(kEncLayers), kEncLayers);
  const int ld = as_int(source, required(kDecLayers), kDecLayers);
  if (le <= 0) throw std::invalid_argument(where(source, root[kEncLayers], kEncLayers) + ": expected >= 1, got " + std::to_string(le));
  if (ld <= 0) throw std::invalid_argument(where(source, root[kDecLayers], kDecLayers) + ": expected >= 1, got " + std::to_string(ld));

  // A per-layer list: one entry per active layer. HAT itself reads only the first n entries of a
  // longer list, so we do too (with a warning); a shorter list is an error. A missing QKV list
  // means HAT's fixed width.
  auto per_layer = [&](const char* key, int n, bool optional_qkv) {
    used.insert(key);
    YAML::Node node = root[key];
    if (!node) {
      if (!optional_qkv) throw std::invalid_argument(source + ": " + key + ": missing; expected a list of " + std::to_string(n) + " integers");
      return std::vector<int>(n, default_qkv_dim);
    }
    std::vector<int> v = as_int_list(source, node, key);
    if (node.IsScalar() && n > 1) v.assign(n, v[0]);  // one value for every layer
    if (static_cast<int>(v.size()) < n) {
      throw std::invalid_argument(where(source, node, key) + ": has " + std::to_string(v.size()) + " entries, expected " +
                                  std::to_string(n) + " (one per active layer)");
    }
    if (static_cast<int>(v.size()) > n) {
      out.warnings.push_back(where(source, node, key) + ": has " + std::to_string(v.size()) + " entries for " +
                             std::to_string(n) + " active layers; using the first " + std::to_string(n));
      v.resize(n);
    }
    return v;
  };
  const auto eff = per_layer(kEncFfn, le, false), eh = per_layer(kEncHeads, le, false), eq = per_layer(kEncQkv, le, true);
  const auto dff = per_layer(kDecFfn, ld, false), dh = per_layer(kDecHeads, ld, false), dq = per_layer(kDecQkv, ld, true);
  const auto xh = per_layer(kEndeHeads, ld, false), xq = per_layer(kEndeQkv, ld, true), xa = per_layer(kEndeAttn, ld, false);
  for (int i = 0; i < le; ++i) c.encoder_layers.push_back({eff[i], eh[i], eq[i]});
  for (int i = 0; i < ld; ++i) {
    int layers = 0;
    try {
      layers = hat_ende_code_to_layers(xa[i]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where(source, root[kEndeAttn], kEndeAttn) + "[" + std::to_string(i) + "]: " + e.what());
    }
    c.decoder_layers.push_back({dff[i], dh[i], dq[i], xh[i], xq[i], layers});
  }
  std::vector<std::string> ignored;
  for (const auto& kv : root) {
    const auto key = kv.first.as<std::string>();
    if (!used.count(key)) ignored.push_back(key);
  }
  if (!ignored.empty()) {
    std::string list;
    for (const auto& k : ignored) list += (list.empty() ? "" : ", ") + k;
    out.warnings.push_back(source + ": ignoring keys that do not describe the architecture: " + list);
  }
  try {
    c.check_consistent();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(source + ": " + e.what());
  }
  return out;
}

LoadedConfig load_config_yaml(const std::string& path, int default_qkv_dim) {
  return parse_config_yaml(read_text_file(path), path, default_qkv_dim);
}

std::string config_to_yaml(const SubConfig& c) {
  std::vector<int> eff, eh, eq, dff, dh, dq, xh, xq, xa;
  for (const auto& l : c.encoder_layers) {
    eff.push_back(l.ffn_dim);
    eh.push_back(l.self_heads);
    eq.push_back(l.self_qkv_dim);
  }
  for (const auto& l : c.decoder_layers) {
    dff.push_back(l.ffn_dim);
    dh.push_back(l.self_heads);
    dq.push_back(l.self_qkv_dim);
    xh.push_back(l.ende_heads);
    xq.push_back(l.ende_qkv_dim);
    xa.push_back(layers_to_hat_ende_code(l.ende_attn_layers));
  }
  std::ostringstream y;
  y << "# SubTransformer " << c.hash_hex() << " (HAT keys; QKV keys are THANOS')\n"
    << kEncEmbed << ": " << c.encoder_embed_dim << "\n"
    << kDecEmbed << ": " << c.decoder_embed_dim << "\n"
    << kEncFfn << ": " << format_list(eff) << "\n"
    << kDecFfn << ": " << format_list(dff) << "\n"
    << kEncLayers << ": " << c.encoder_layer_num() << "\n"
    << kDecLayers << ": " << c.decoder_layer_num() << "\n"
    << kEncHeads << ": " << format_list(eh) << "\n"
    << kDecHeads << ": " << format_list(dh) << "\n"
    << kEndeHeads << ": " << format_list(xh) << "\n"
    << "# -1: attend to the last encoder layer; 1: the last two; 2: the last three\n"
    << kEndeAttn << ": " << format_list(xa) << "\n"
    << kEncQkv << ": " << format_list(eq) << "\n"
    << kDecQkv << ": " << format_list(dq) << "\n"
    << kEndeQkv << ": " << format_list(xq) << "\n";
  return y.str();
}


}  // namespace thanos
