#pragma once
// Rough stage costs for the dry run and the run's ETA (docs/PIPELINE.md), from the settings and
// rates measured on this project's 2-core machine. Private to src/pipeline.
#include "plan.h"

namespace thanos {

// A training of `settings` on a model of `params` parameters: updates x max_tokens x update_freq x
// params / R, with R ~ 1.1e10 x threads^0.7 parameter-tokens per second on a CPU (measured on the
// demo space: 1.8e10 on 2 threads; small models reach less, big ones more) and 2.7e12 on a GPU
// (tools/gpu_check.cc on an H100, float32, HAT's WMT'14 En-De SuperTransformer, max_tokens 4096:
// 0.084 s per update; the same run on 16 CPU threads measured 6.8e10, the CPU formula says 7.7e10).
double training_seconds(const Plan& p, const TrainStageSettings& settings, double params);

// Parameters of the space's largest member, and of the average sampled member (a SuperTransformer
// trains that one: taken as the mean of the smallest and the largest).
double largest_params(const Plan& p);
double mean_params(const Plan& p);

// One measurement on the target: ~1 s plus (warm-ups + repeats) x tgt_len x 2 ms.
double measurement_seconds(const TargetPlan& t);

// Budget pairs over all targets.
double budget_count(const Plan& p);

// Models trained per budget pair: the finalists and the baseline.
double models_per_budget(const Plan& p);

// Translating the valid split once for re-ranking or selection: ~500 sentences of members near
// the budget, ~300 sentences/s (the demo's: 342 in 1.1-1.8 s, beam 5, 2 cores).
inline constexpr double kValidTranslationSeconds = 500.0 / 300.0;

}  // namespace thanos
