#pragma once
// HAT's baseline under one budget pair, chosen by measurement (docs/PIPELINE.md). Private to
// src/pipeline.
#include "plan.h"
#include "thanos/pipeline/budgets.h"
#include "thanos/pipeline/stage_outputs.h"

namespace thanos {

// The homogeneous member with the largest latency that fits `b`, written to `config_path`.
// Screened in this order, one reading each: those predicted to fit, slowest first (the baseline
// sits just under the latency budget), then those predicted up to 25% over it, closest first
// (predictions of small models err by milliseconds), until three read within the budgets (at most
// twelve read); members predicted over the memory budget by more than 5% are left out (memory
// predictions err by ~2%). Then budget claims on those three, slowest reading first (hw/budget_claim.h):
// the first that fits is the baseline; an undecided member is never one. A screening reading is
// recorded as such (`screened`), without a verdict.
BaselineChoice choose_baseline(const Plan& p, const TargetPlan& t, const ResolvedBudgets& b, const std::string& config_path,
                               const Log& log);

}  // namespace thanos
