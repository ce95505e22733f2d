#pragma once
// Small random-weight standalone SubTransformers for the ONNX export tests (tests/test_export.cc,
// tests/test_export_ort.cc), and the export options and source batch they share.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "test_util.h"
#include "thanos/export/onnx_export.h"
#include "thanos/model/extract.h"
#include "thanos/model/super_transformer.h"

namespace thanos::testing {

struct ExportVariant {
  std::string name;
  ModelOptions super_options;
  SubConfig config;
};

// Post-norm, all embeddings shared, encoder wider than decoder (the decoder reads the shared
// table's front columns), decoder layers attending 3, 2 and 1 encoder layers.
inline ExportVariant shared_post_norm() {
  ExportVariant v{"shared_post_norm", super_model_options(tiny_space(), 40, 40), {}};
  v.config.encoder_embed_dim = 24;
  v.config.decoder_embed_dim = 16;
  v.config.encoder_layers = {{48, 2, 16}, {64, 4, 32}, {32, 2, 24}};
  v.config.decoder_layers = {{32, 2, 16, 4, 32, 3}, {48, 4, 24, 2, 16, 2}, {64, 2, 24, 4, 24, 1}};
  return v;
}

// Pre-norm (final layer norms), separate vocabularies, untied output projection.
inline ExportVariant separate_pre_norm() {
  SearchSpace s = tiny_space();
  s.hyper.share_all_embeddings = s.hyper.share_decoder_input_output = false;
  s.hyper.encoder_normalize_before = s.hyper.decoder_normalize_before = true;
  ExportVariant v{"separate_pre_norm", super_model_options(s, 40, 36), {}};
  v.config.encoder_embed_dim = 32;
  v.config.decoder_embed_dim = 24;
  v.config.encoder_layers = {{64, 4, 32}, {32, 2, 16}};
  v.config.decoder_layers = {{48, 4, 16, 2, 24, 2}, {32, 2, 32, 4, 16, 1}};
  return v;
}

inline SuperTransformer random_super(const ModelOptions& options, uint64_t seed) {
  torch::manual_seed(seed);
  SuperTransformer m(options);
  torch::NoGradGuard no_grad;
  // Non-trivial layer norms and biases, so that using the wrong tensor shows.
  for (auto& p : m->named_parameters()) {
    if (p.key().find("embed_tokens") == std::string::npos) p.value().add_(torch::randn_like(p.value()) * 0.1);
  }
  m->eval();
  return m;
}

inline SuperTransformer standalone(const ExportVariant& v, uint64_t seed = 7) {
  auto super = random_super(v.super_options, seed);
  auto sub = extract_subtransformer(*super, v.config);
  sub->eval();
  return sub;
}

inline OnnxExportOptions export_options(ExportDtype dtype,
                                        std::optional<std::pair<int64_t, int64_t>> lengths = {}) {
  OnnxExportOptions o;
  o.dtype = dtype;
  if (lengths) {
    o.static_src_len = lengths->first;
    o.static_tgt_len = lengths->second;
  }
  return o;
}

// Source rows with right padding, left padding and none, each ending with </s>.
inline torch::Tensor export_source_batch(int64_t vocab) {
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(11);
  auto src = torch::randint(4, vocab, {3, 7}, gen, torch::kLong);
  src.index_put_({0, 4}, 2);
  src.index_put_({0, torch::indexing::Slice(5, torch::indexing::None)}, 1);
  src.index_put_({1, torch::indexing::Slice(0, 3)}, 1);
  src.index_put_({1, 6}, 2);
  src.index_put_({2, 6}, 2);
  return src;
}

}  // namespace thanos::testing
