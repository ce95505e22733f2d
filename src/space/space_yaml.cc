#include "thanos/space/space_yaml.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

#include "thanos/common/text.h"
#include "thanos/space/sub_config_fields.h"
#include "thanos/space/yaml_fields.h"

namespace thanos {
namespace {

using namespace yaml_fields;

// fairseq/HAT options that may sit in a space file but that the model does not read. They are
// accepted with a warning; the training issue takes over the ones it implements.
const std::set<std::string> kKnownUnused = {
    "arch", "max-tokens", "data", "source-lang", "target-lang", "distributed-world-size", "optimizer",
    "adam-betas", "adam-eps", "clip-norm", "weight-decay", "criterion", "label-smoothing", "ddp-backend", "fp16",
    "update-freq", "max-update", "warmup-updates", "lr-scheduler", "warmup-init-lr", "max-lr", "lr", "lr-shrink",
    "lr-period-updates", "min-lr", "keep-last-epochs", "save-interval", "validate-interval", "save-dir",
    "seed", "log-interval", "no-progress-bar", "max-epoch", "train-subtransformer"};

// The shortest decimal that reads back as the same double (a stream's default 6 digits turned a
// model's dropout 0.1234567 into 0.123457 when its embedded space was saved and read again).
std::string shortest(double x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string(buf, r.ptr);
}

}  // namespace

LoadedSpace parse_search_space(const std::string& text, const std::string& source) {
  YAML::Node root = parse_mapping(text, source);
  LoadedSpace out;
  SearchSpace& s = out.space;
  s.source = source;
  std::set<std::string> used;

  auto node = [&](const std::string& key) -> YAML::Node {
    used.insert(key);
    return root[key];
  };
  auto opt_int = [&](const std::string& key, int& dst) {
    if (auto n = node(key)) dst = as_int(source, n, key);
  };
  auto opt_bool = [&](const std::string& key, bool& dst) {
    if (auto n = node(key)) dst = as_bool(source, n, key);
  };
  auto opt_double = [&](const std::string& key, double& dst) {
    if (auto n = node(key)) dst = as_double(source, n, key);
  };
  auto choices = [&](const std::string& key, std::vector<int>& dst) {
    auto n = node(key);
    if (!n) throw std::invalid_argument(source + ": " + key + ": missing; expected a list of choices");
    dst = as_int_list(source, n, key);
  };

  choices("encoder-embed-choice", s.encoder_embed_choices);
  choices("decoder-embed-choice", s.decoder_embed_choices);
  // HAT's keys in HAT's order; THANOS' QKV choices default to the super width, read below.
  for_each_field_in_hat_order([&](const auto& f) {
    if (f.hat_rank == kHatRankOfLayerCounts) {
      choices("encoder-layer-num-choice", s.encoder_layer_num_choices);
      choices("decoder-layer-num-choice", s.decoder_layer_num_choices);
    }
    if (f.role == FieldRole::kQkv) return;
    const std::string key = f.choice_key();
    if (f.role != FieldRole::kAttendedLayers) {
      choices(key, s.*f.choices);
      return;
    }
    std::vector<int> codes;
    choices(key, codes);
    for (std::size_t i = 0; i < codes.size(); ++i) {
      try {
        (s.*f.choices).push_back(hat_ende_code_to_layers(codes[i]));
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(where(source, root[key], key) + ": " + e.what());
      }
    }
  });

  // Super sizes: HAT always gives them; when absent, the largest choice is the natural size.
  auto super_or_max = [&](const std::string& key, int& dst, const std::vector<int>& from) {
    if (auto n = node(key)) {
      dst = as_int(source, n, key);
    } else if (from.empty()) {
      throw std::invalid_argument(source + ": " + key + " not given and its choice list is empty: give at least one choice");
    } else {
      dst = *std::max_element(from.begin(), from.end());
      out.warnings.push_back(source + ": " + key + " not given; using the largest choice, " + std::to_string(dst));
    }
  };
  super_or_max("encoder-embed-dim", s.encoder_embed_dim, s.encoder_embed_choices);
  super_or_max("decoder-embed-dim", s.decoder_embed_dim, s.decoder_embed_choices);
  super_or_max("encoder-ffn-embed-dim", s.encoder_ffn_dim, s.encoder_ffn_choices);
  super_or_max("decoder-ffn-embed-dim", s.decoder_ffn_dim, s.decoder_ffn_choices);
  super_or_max("encoder-layers", s.encoder_layers, s.encoder_layer_num_choices);
  super_or_max("decoder-layers", s.decoder_layers, s.decoder_layer_num_choices);
  super_or_max("encoder-attention-heads", s.encoder_heads, s.encoder_self_heads_choices);
  std::vector<int> dec_heads = s.decoder_self_heads_choices;
  dec_heads.insert(dec_heads.end(), s.decoder_ende_heads_choices.begin(), s.decoder_ende_heads_choices.end());
  super_or_max("decoder-attention-heads", s.decoder_heads, dec_heads);

  // QKV: HAT has one fixed qkv-dim; THANOS makes it a per-layer choice per attention type.
  std::vector<int> qkv_all;
  for_each_field_in_hat_order([&](const auto& f) {
    if (f.role != FieldRole::kQkv) return;
    const std::string key = f.choice_key();
    if (auto n = node(key)) {
      auto v = as_int_list(source, n, key);
      qkv_all.insert(qkv_all.end(), v.begin(), v.end());
    }
  });
  if (auto n = node("qkv-dim")) {
    s.qkv_dim = as_int(source, n, "qkv-dim");
  } else if (!qkv_all.empty()) {
    s.qkv_dim = *std::max_element(qkv_all.begin(), qkv_all.end());
  } else {
    s.qkv_dim = kHatQkvDim;
    out.warnings.push_back(source + ": qkv-dim not given; using HAT's fixed " + std::to_string(s.qkv_dim));
  }
  auto qkv_choices = [&](const std::string& key, std::vector<int>& dst) {
    if (auto n = root[key]) {
      dst = as_int_list(source, n, key);
    } else {
      dst = {s.qkv_dim};
    }
  };
  for_each_field_in_hat_order([&](const auto& f) {
    if (f.role == FieldRole::kQkv) qkv_choices(f.choice_key(), s.*f.choices);
  });

  auto& h = s.hyper;
  opt_bool("share-all-embeddings", h.share_all_embeddings);
  opt_bool("share-decoder-input-output-embed", h.share_decoder_input_output);
  if (h.share_all_embeddings) h.share_decoder_input_output = true;  // fairseq: share-all implies it
  opt_bool("encoder-normalize-before", h.encoder_normalize_before);
  opt_bool("decoder-normalize-before", h.decoder_normalize_before);
  opt_double("dropout", h.dropout);
  opt_double("attention-dropout", h.attention_dropout);
  opt_double("activation-dropout", h.activation_dropout);
  if (auto n = node("relu-dropout")) h.activation_dropout = as_double(source, n, "relu-dropout");
  opt_int("max-source-positions", h.max_source_positions);
  opt_int("max-target-positions", h.max_target_positions);
  if (auto n = node("arch")) {
    // HAT's architecture name (transformersuper_iwslt_de_en): written back as it is by
    // search_space_to_yaml and into model files, so only a plain name is kept; a control character
    // or a ':' would make the written YAML another document.
    s.hat_arch = n.IsScalar() ? n.Scalar() : "";
    const bool plain = std::all_of(s.hat_arch.begin(), s.hat_arch.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    });
    if (!plain) {
      throw std::invalid_argument(where(source, n, "arch") + ": expected an architecture name of letters, digits, '_', '-' or '.' (e.g. "
                                  "transformersuper_iwslt_de_en), got " + scalar_text(n));
    }
  }

  std::vector<std::string> ignored_known, unknown;
  for (const auto& kv : root) {
    const std::string key = key_text(source, kv.first);
    if (used.count(key)) continue;
    (kKnownUnused.count(key) ? ignored_known : unknown).push_back(key);
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& k : v) out += (out.empty() ? "" : ", ") + k;
    return out;
  };
  ignored_known.erase(std::remove(ignored_known.begin(), ignored_known.end(), "arch"), ignored_known.end());
  if (!ignored_known.empty()) {
    out.warnings.push_back(source + ": ignoring training options not used by this command: " + join(ignored_known));
  }
  if (!unknown.empty()) out.warnings.push_back(source + ": ignoring unknown keys: " + join(unknown));

  s.validate();
  return out;
}

LoadedSpace load_search_space(const std::string& path) { return parse_search_space(read_text_file(path), path); }

std::string search_space_to_yaml(const SearchSpace& s) {
  std::ostringstream y;
  auto codes = [](const std::vector<int>& layers) {
    std::vector<int> c;
    for (int n : layers) c.push_back(layers_to_hat_ende_code(n));
    return c;
  };
  if (!s.hat_arch.empty()) y << "arch: " << s.hat_arch << "\n";
  y << "# SuperTransformer sizes\n"
    << "encoder-embed-dim: " << s.encoder_embed_dim << "\n"
    << "decoder-embed-dim: " << s.decoder_embed_dim << "\n"
    << "encoder-ffn-embed-dim: " << s.encoder_ffn_dim << "\n"
    << "decoder-ffn-embed-dim: " << s.decoder_ffn_dim << "\n"
    << "encoder-layers: " << s.encoder_layers << "\n"
    << "decoder-layers: " << s.decoder_layers << "\n"
    << "encoder-attention-heads: " << s.encoder_heads << "\n"
    << "decoder-attention-heads: " << s.decoder_heads << "\n"
    << "qkv-dim: " << s.qkv_dim << "\n"
    << "# SubTransformer choices\n"
    << "encoder-embed-choice: " << format_list(s.encoder_embed_choices) << "\n"
    << "decoder-embed-choice: " << format_list(s.decoder_embed_choices) << "\n";
  for_each_field_in_hat_order([&](const auto& f) {
    if (f.hat_rank == kHatRankOfLayerCounts) {
      y << "encoder-layer-num-choice: " << format_list(s.encoder_layer_num_choices) << "\n"
        << "decoder-layer-num-choice: " << format_list(s.decoder_layer_num_choices) << "\n";
    }
    if (f.hat_rank == kHatRankOfThanosKeys) y << "# THANOS: elastic QKV width per attention type\n";
    const auto& v = s.*f.choices;
    y << f.choice_key() << ": " << format_list(f.role == FieldRole::kAttendedLayers ? codes(v) : v) << "\n";
  });
  y << "# model settings\n"
    << "share-all-embeddings: " << (s.hyper.share_all_embeddings ? "true" : "false") << "\n"
    << "share-decoder-input-output-embed: " << (s.hyper.share_decoder_input_output ? "true" : "false") << "\n"
    << "encoder-normalize-before: " << (s.hyper.encoder_normalize_before ? "true" : "false") << "\n"
    << "decoder-normalize-before: " << (s.hyper.decoder_normalize_before ? "true" : "false") << "\n"
    << "dropout: " << shortest(s.hyper.dropout) << "\n"
    << "attention-dropout: " << shortest(s.hyper.attention_dropout) << "\n"
    << "activation-dropout: " << shortest(s.hyper.activation_dropout) << "\n"
    << "max-source-positions: " << s.hyper.max_source_positions << "\n"
    << "max-target-positions: " << s.hyper.max_target_positions << "\n";
  return y.str();
}

std::optional<SearchSpace> embedded_search_space(const std::map<std::string, std::string>& metadata,
                                                 const std::string& model_path) {
  const auto it = metadata.find("space_yaml");
  if (it == metadata.end() || it->second.empty()) return std::nullopt;
  return parse_search_space(it->second, model_path + " (embedded space)").space;
}

}  // namespace thanos
