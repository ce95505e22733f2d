#include <cstdio>
#include <sstream>

#include "thanos/commands/commands.h"
#include "thanos/common/text.h"
#include "thanos/model/cost_model.h"
#include "thanos/model/model_file.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"
#include "thanos/space/sub_config_fields.h"

namespace thanos {
namespace {

constexpr int kAssumedVocab = 32000;

// The space's choice keys in HAT's order (the attended depths as HAT's codes).
nlohmann::ordered_json choices_json(const SearchSpace& s) {
  nlohmann::ordered_json out = {{"encoder-embed-choice", s.encoder_embed_choices},
                                {"decoder-embed-choice", s.decoder_embed_choices}};
  for_each_field_in_hat_order([&](const auto& f) {
    if (f.hat_rank == kHatRankOfLayerCounts) {
      out["encoder-layer-num-choice"] = s.encoder_layer_num_choices;
      out["decoder-layer-num-choice"] = s.decoder_layer_num_choices;
    }
    std::vector<int> values = s.*f.choices;
    if (f.role == FieldRole::kAttendedLayers) {
      for (int& n : values) n = layers_to_hat_ende_code(n);
    }
    out[f.choice_key()] = values;
  });
  return out;
}

}  // namespace

nlohmann::ordered_json describe_config(const SubConfig& c, const ModelHyperParams& hyper, int vocab, int src_len, int tgt_len) {
  const ParamCount p = count_params(c, hyper, vocab, vocab);
  const FlopCount f = count_flops(c, hyper, src_len, tgt_len);
  return {{"hash", c.hash_hex()},
          {"summary", c.summary()},
          {"params", p.total()},
          {"params_no_embed", p.no_embed()},
          {"params_embed", p.embeddings},
          {"params_encoder_layers", p.encoder_layers},
          {"params_decoder_layers", p.decoder_layers},
          {"flops", f.total()},
          {"flops_matmul", f.matmul},
          {"flops_elementwise", f.elementwise},
          {"flops_encoder", f.encoder},
          {"flops_decoder", f.decoder},
          {"src_len", src_len},
          {"tgt_len", tgt_len},
          {"vocab_size", vocab},
          {"size_mib", {{"float32", params_mib(p.total(), 4)}, {"float16", params_mib(p.total(), 2)},
                        {"int8", params_mib(p.total(), 1)}}},
          {"config", nlohmann::ordered_json(config_to_json(c))}};
}

InfoReport run_info(const InfoOptions& opt) {
  InfoReport report;
  std::optional<SearchSpace> space;
  std::optional<SubConfig> config;
  std::optional<int> checkpoint_vocab;
  ModelHyperParams hyper;

  if (!opt.checkpoint_path.empty()) {
    LoadedModel m = load_model(opt.checkpoint_path);
    hyper = m.info.options.hyper;
    checkpoint_vocab = m.info.options.src_vocab_size;
    if (m.info.sub_config) config = m.info.sub_config;
    auto it = m.info.metadata.find("space_yaml");
    if (it != m.info.metadata.end() && opt.space_path.empty()) {
      LoadedSpace ls = parse_search_space(it->second, opt.checkpoint_path + " (embedded space)");
      space = ls.space;
    }
    report.data["checkpoint"] = {{"path", opt.checkpoint_path},
                                 {"kind", m.info.is_standalone() ? "subtransformer" : "supertransformer"},
                                 {"format_version", m.info.format_version},
                                 {"src_vocab_size", m.info.options.src_vocab_size},
                                 {"tgt_vocab_size", m.info.options.tgt_vocab_size}};
  }
  if (!opt.space_path.empty()) {
    LoadedSpace ls = load_search_space(opt.space_path);
    report.warnings.insert(report.warnings.end(), ls.warnings.begin(), ls.warnings.end());
    space = ls.space;
  }
  if (!space && !config) {
    throw std::invalid_argument("thanos info: give --space SPACE.yml (and optionally --config SUB.yml) or --checkpoint FILE");
  }
  if (space) hyper = space->hyper;
  if (!opt.config_path.empty()) {
    LoadedConfig lc = load_config_file(opt.config_path, default_qkv_dim(space));
    report.warnings.insert(report.warnings.end(), lc.warnings.begin(), lc.warnings.end());
    config = lc.config;
    if (space) {
      try {
        space->check_config(*config);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(opt.config_path + ": " + e.what() + " (search space " + space->source + ")");
      }
    }
  }

  const int vocab = opt.vocab_size.value_or(checkpoint_vocab.value_or(kAssumedVocab));
  const int default_len = space ? space->hat_profile_length() : kHatWmtLength;
  const int src_len = opt.src_len.value_or(default_len), tgt_len = opt.tgt_len.value_or(default_len);
  report.data["vocab_size"] = vocab;
  report.data["vocab_assumed"] = !opt.vocab_size && !checkpoint_vocab;

  if (space) {
    const BigUInt size = space->size();
    report.data["space"] = {
        {"source", space->source},
        {"hat_arch", space->hat_arch},
        {"super", {{"encoder-embed-dim", space->encoder_embed_dim}, {"decoder-embed-dim", space->decoder_embed_dim},
                   {"encoder-ffn-embed-dim", space->encoder_ffn_dim}, {"decoder-ffn-embed-dim", space->decoder_ffn_dim},
                   {"encoder-layers", space->encoder_layers}, {"decoder-layers", space->decoder_layers},
                   {"encoder-attention-heads", space->encoder_heads}, {"decoder-attention-heads", space->decoder_heads},
                   {"qkv-dim", space->qkv_dim}}},
        {"choices", choices_json(*space)},
        // A decimal string: JSON readers lose integer precision past 2^53.
        {"size", size.to_string()},
        {"size_scientific", size.to_scientific()}};
    if (!config) {
      report.data["space"]["smallest"] = describe_config(space->smallest(), hyper, vocab, src_len, tgt_len);
      report.data["space"]["largest"] = describe_config(space->largest(), hyper, vocab, src_len, tgt_len);
      const ParamCount sp = count_params(space->super_shape(), hyper, vocab, vocab);
      report.data["space"]["super_params"] = sp.total();
    }
  }
  if (config) {
    report.data["config"] = describe_config(*config, hyper, vocab, src_len, tgt_len);
    // The flat keys most scripts want, at the top level.
    for (const char* k : {"params", "params_no_embed", "flops", "size_mib"}) report.data[k] = report.data["config"][k];
  }
  return report;
}

std::string render_info_text(const nlohmann::ordered_json& d) {
  std::ostringstream o;
  auto config_block = [&](const nlohmann::ordered_json& c, const std::string& indent) {
    o << indent << "architecture     " << c["summary"].get<std::string>() << "\n"
      << indent << "hash             " << c["hash"].get<std::string>() << "\n"
      << indent << "params           " << format_fixed(c["params"].get<double>() / 1e6, 2) << " M  (without embeddings: "
      << format_fixed(c["params_no_embed"].get<double>() / 1e6, 2) << " M, HAT's #Params)\n"
      << indent << "FLOPs            " << format_fixed(c["flops"].get<double>() / 1e9, 3) << " G  (matmul only "
      << format_fixed(c["flops_matmul"].get<double>() / 1e9, 3) << " G; src/tgt length " << c["src_len"].get<int>() << "/"
      << c["tgt_len"].get<int>() << ", batch 1)\n"
      << indent << "size             " << format_fixed(c["size_mib"]["float32"].get<double>(), 1) << " MiB float32, "
      << format_fixed(c["size_mib"]["float16"].get<double>(), 1) << " MiB float16, "
      << format_fixed(c["size_mib"]["int8"].get<double>(), 1) << " MiB int8 (weights, vocabulary "
      << c["vocab_size"].get<int>() << ")\n";
  };
  if (d.contains("checkpoint")) {
    const auto& k = d["checkpoint"];
    o << "model file " << k["path"].get<std::string>() << ": " << k["kind"].get<std::string>() << ", vocabulary "
      << k["src_vocab_size"].get<int>() << "\n";
  }
  if (d.contains("space")) {
    const auto& s = d["space"];
    o << "search space " << s["source"].get<std::string>() << "\n";
    o << "  super sizes:";
    for (auto& [k, v] : s["super"].items()) o << " " << k << "=" << v.get<int>();
    o << "\n  choices:\n";
    for (auto& [k, v] : s["choices"].items()) o << "    " << k << ": " << v.dump() << "\n";
    o << "  size: " << s["size"].get<std::string>() << " SubTransformers (" << s["size_scientific"].get<std::string>()
      << ")\n";
    if (s.contains("smallest")) {
      o << "  smallest:\n";
      config_block(s["smallest"], "    ");
      o << "  largest:\n";
      config_block(s["largest"], "    ");
    }
  }
  if (d.contains("config")) {
    o << "SubTransformer:\n";
    config_block(d["config"], "  ");
  }
  if (d.value("vocab_assumed", false)) {
    o << "(vocabulary size " << d["vocab_size"].get<int>() << " assumed for embedding parameters; pass --vocab)\n";
  }
  return o.str();
}

}  // namespace thanos
