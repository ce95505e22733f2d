#pragma once
// HAT's baseline under one budget pair, chosen by measurement (docs/PIPELINE.md). Private to
// src/pipeline.
#include "plan.h"
#include "thanos/pipeline/budgets.h"
#include "thanos/pipeline/stage_outputs.h"

namespace thanos {

// The homogeneous member with the largest measured latency that fits `b`. Measured in this order:
// those predicted to fit, slowest first (the baseline sits just under the latency budget), then
// those predicted up to 25% over it, closest first (predictions of small models err by
// milliseconds); members predicted over the memory budget by more than 5% are left out (memory
// predictions err by ~2%). Of the first three that fit when measured (at most twelve measured), the
// slowest, written to `config_path`. Measured latencies count at the dataset's speed (divided by
// `slowdown`).
BaselineChoice choose_baseline(const Plan& p, const TargetPlan& t, const ResolvedBudgets& b, double slowdown,
                               const std::string& config_path, const Log& log);

}  // namespace thanos
