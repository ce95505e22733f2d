#include "thanos/search/budget_claim.h"

#include <stdexcept>
#include <string>

namespace thanos {

double slowdown_for_drift(double drift) { return drift > kDriftTolerance ? 1 + drift : 1.0; }

BudgetClaim judge_claim(bool feasible, double latency_ms, double memory_mib, double slowdown, double latency_budget_ms,
                        double memory_budget_mib) {
  if (!(slowdown > 0)) throw std::invalid_argument("slowdown: expected a factor > 0, got " + std::to_string(slowdown));
  BudgetClaim c;
  c.feasible = feasible;
  c.slowdown = slowdown;
  if (!feasible) return c;
  c.latency_ms_measured = latency_ms;
  c.latency_ms_at_dataset_speed = latency_ms / slowdown;
  c.memory_mib_measured = memory_mib;
  c.latency_miss_ms = c.latency_ms_at_dataset_speed - latency_budget_ms;
  c.memory_miss_mib = memory_mib - memory_budget_mib;
  return c;
}

}  // namespace thanos
