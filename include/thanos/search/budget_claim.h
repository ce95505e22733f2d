#pragma once
// Whether a model fits its budgets when measured: the one rule behind the search's verification,
// HAT's baseline and the report's "fits when measured".
//
// The latency is judged at the speed the device had while its latency dataset was measured (the
// dataset, its percentile budgets and the predictors all describe that speed): a measurement
// taken while the drift reference read more than kDriftTolerance slower is divided by that
// slowdown (docs/MEASUREMENT.md, "Noise and budget claims"). Within the tolerance nothing is
// divided: that is the reference's own noise.
#include <limits>

namespace thanos {

// A reference reading within this fraction of its dataset value is the device's usual speed.
inline constexpr double kDriftTolerance = 0.10;

// The factor measured latencies are divided by, for a drift reference `drift` slower than during
// its dataset ((now - then) / then): 1 + drift beyond the tolerance, else 1.
double slowdown_for_drift(double drift);

struct BudgetClaim {
  bool feasible = false;                // the model ran (not out of memory, not crashed)
  double latency_ms_measured = 0;
  double latency_ms_at_dataset_speed = 0;
  double memory_mib_measured = 0;
  double slowdown = 1.0;
  double latency_miss_ms = 0;           // > 0: over the latency budget by this much
  double memory_miss_mib = 0;           // > 0: over the memory budget by this much

  bool fits() const { return feasible && !(latency_miss_ms > 0) && !(memory_miss_mib > 0); }
};

// Judges one measurement: `slowdown` >= 1 (see slowdown_for_drift); an absent budget is infinite.
// Throws std::invalid_argument when slowdown is not > 0.
BudgetClaim judge_claim(bool feasible, double latency_ms, double memory_mib, double slowdown,
                        double latency_budget_ms = std::numeric_limits<double>::infinity(),
                        double memory_budget_mib = std::numeric_limits<double>::infinity());

}  // namespace thanos
