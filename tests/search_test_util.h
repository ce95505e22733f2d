#pragma once
// Shared by the search suites: a cost model from the analytic memory estimate (vocabulary 1000)
// and a latency of 1 ms per decoder layer, so budgets are exact and cheap to evaluate; a synthetic
// fitness with a known optimum; a space small enough to enumerate.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"
#include "thanos/model/cost_model.h"
#include "thanos/search/constraints.h"

namespace thanos::testing {

inline CostEstimator analytic_memory(const SearchSpace& space) {
  return [space](const SubConfig& c) {
    CostEstimate e;
    InferenceShape shape;
    shape.vocab_size = 1000;
    e.memory_mib = estimate_inference_memory(c, space.hyper, shape).total_mib();
    e.latency_ms = 1.0 * c.decoder_layer_num();
    return e;
  };
}

// A synthetic fitness with a known optimum: how far each gene of the active config is from a
// target config's (0 only at the target). Graded per gene, as a real loss is, not all-or-nothing.
inline double distance(const SubConfig& a, const SubConfig& t) {
  auto gap = [](int x, int y) { return std::abs(std::log2(static_cast<double>(x) / y)); };
  double d = gap(a.encoder_embed_dim, t.encoder_embed_dim) + gap(a.decoder_embed_dim, t.decoder_embed_dim);
  d += 2.0 * std::abs(a.encoder_layer_num() - t.encoder_layer_num()) + 2.0 * std::abs(a.decoder_layer_num() - t.decoder_layer_num());
  for (int i = 0; i < std::min(a.encoder_layer_num(), t.encoder_layer_num()); ++i) {
    const auto &x = a.encoder_layers[i], &y = t.encoder_layers[i];
    d += gap(x.ffn_dim, y.ffn_dim) + gap(x.self_heads, y.self_heads) + gap(x.self_qkv_dim, y.self_qkv_dim);
  }
  for (int i = 0; i < std::min(a.decoder_layer_num(), t.decoder_layer_num()); ++i) {
    const auto &x = a.decoder_layers[i], &y = t.decoder_layers[i];
    d += gap(x.ffn_dim, y.ffn_dim) + gap(x.self_heads, y.self_heads) + gap(x.self_qkv_dim, y.self_qkv_dim) +
         gap(x.ende_heads, y.ende_heads) + gap(x.ende_qkv_dim, y.ende_qkv_dim) + gap(x.ende_attn_layers, y.ende_attn_layers);
  }
  return d;
}

// A space small enough (a few hundred members) that every strategy, the random baseline
// included, must find the optimum of a synthetic fitness within its default-sized budget.
inline SearchSpace micro_space() {
  SearchSpace s = testing::tiny_space();
  s.encoder_layer_num_choices = {1};
  s.decoder_layer_num_choices = {1, 2};
  s.encoder_embed_choices = s.decoder_embed_choices = {16, 32};
  s.encoder_ffn_choices = s.decoder_ffn_choices = {32, 64};
  s.encoder_self_heads_choices = s.decoder_self_heads_choices = s.decoder_ende_heads_choices = {2};
  s.encoder_self_qkv_choices = s.decoder_self_qkv_choices = s.decoder_ende_qkv_choices = {16, 32};
  s.decoder_ende_layers_choices = {1};
  s.validate();
  return s;
}

// Every member of micro_space(), enumerated independently of the space's own code.
inline std::vector<SubConfig> micro_space_members(const SearchSpace& space) {
  std::vector<SubConfig> members;
  for (int ee : space.encoder_embed_choices) for (int de : space.decoder_embed_choices)
  for (int ef : space.encoder_ffn_choices) for (int eq : space.encoder_self_qkv_choices)
  for (int layers : space.decoder_layer_num_choices)
  for (int code = 0; code < (1 << (3 * layers)); ++code) {
    SubConfig c;
    c.encoder_embed_dim = ee;
    c.decoder_embed_dim = de;
    c.encoder_layers.push_back({ef, 2, eq});
    for (int i = 0; i < layers; ++i) {
      const int bits = code >> (3 * i);
      c.decoder_layers.push_back({(bits & 1) ? 64 : 32, 2, (bits & 2) ? 32 : 16, 2, (bits & 4) ? 32 : 16, 1});
    }
    EXPECT_TRUE(space.contains(c)) << c.summary();
    members.push_back(c);
  }
  return members;
}

}  // namespace thanos::testing
