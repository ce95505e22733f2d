#include <set>
#include <sstream>
#include <type_traits>

#include "thanos/common/text.h"
#include "thanos/space/config_io.h"
#include "thanos/space/sub_config_fields.h"
#include "thanos/space/yaml_fields.h"

namespace thanos {
namespace {

using namespace yaml_fields;

const char* kEncEmbed = "encoder-embed-dim-subtransformer";
const char* kDecEmbed = "decoder-embed-dim-subtransformer";
const char* kEncLayers = "encoder-layer-num-subtransformer";
const char* kDecLayers = "decoder-layer-num-subtransformer";

// A field's value as HAT's files hold it: the attended-layer count as HAT's code.
template <typename Layer>
int to_file_value(const LayerField<Layer>& f, int value) {
  return f.role == FieldRole::kAttendedLayers ? layers_to_hat_ende_code(value) : value;
}

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
  auto per_layer = [&](const std::string& key, int n, bool optional_qkv) {
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
  // Read in table order (encoder first), so the first missing key is the one a message names.
  auto read_stack = [&](auto& layers, int n) {
    using Layer = typename std::decay_t<decltype(layers)>::value_type;
    layers.assign(n, Layer{});
    for (const auto& f : layer_fields<Layer>()) {
      const std::string key = f.yaml_key();
      const auto v = per_layer(key, n, f.role == FieldRole::kQkv);
      for (int i = 0; i < n; ++i) {
        int value = v[i];
        if (f.role == FieldRole::kAttendedLayers) {
          try {
            value = hat_ende_code_to_layers(v[i]);
          } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(where(source, root[key], key) + "[" + std::to_string(i) + "]: " + e.what());
          }
        }
        f.of(layers[i]) = value;
      }
    }
  };
  read_stack(c.encoder_layers, le);
  read_stack(c.decoder_layers, ld);
  std::vector<std::string> ignored;
  for (const auto& kv : root) {
    const auto key = key_text(source, kv.first);
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
  std::ostringstream y;
  y << "# SubTransformer " << c.hash_hex() << " (HAT keys; QKV keys are THANOS')\n"
    << kEncEmbed << ": " << c.encoder_embed_dim << "\n"
    << kDecEmbed << ": " << c.decoder_embed_dim << "\n";
  for_each_field_in_hat_order([&](const auto& f) {
    if (f.hat_rank == kHatRankOfLayerCounts) {
      y << kEncLayers << ": " << c.encoder_layer_num() << "\n"
        << kDecLayers << ": " << c.decoder_layer_num() << "\n";
    }
    std::vector<int> values;
    for (const auto& l : stack_layers(c, f)) values.push_back(to_file_value(f, f.of(l)));
    if (f.role == FieldRole::kAttendedLayers) {
      y << "# -1: attend to the last encoder layer; 1: the last two; 2: the last three\n";
    }
    y << f.yaml_key() << ": " << format_list(values) << "\n";
  });
  return y.str();
}


}  // namespace thanos
