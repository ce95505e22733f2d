#pragma once
// Shared by the search suites: a cost model from the analytic memory estimate (vocabulary 1000)
// and a latency of 1 ms per decoder layer, so budgets are exact and cheap to evaluate.
#include "thanos/model/cost_model.h"
#include "thanos/search/constraints.h"

namespace thanos::testing {

inline CostModel analytic_memory(const SearchSpace& space) {
  return [space](const SubConfig& c) {
    CostEstimate e;
    InferenceShape shape;
    shape.vocab_size = 1000;
    e.memory_mb = estimate_inference_memory(c, space.hyper, shape).total_mib();
    e.latency_ms = 1.0 * c.decoder_layer_num();
    return e;
  };
}

}  // namespace thanos::testing
