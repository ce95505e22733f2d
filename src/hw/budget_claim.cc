#include "thanos/hw/budget_claim.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace thanos {

std::string to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kFits: return "fits";
    case Verdict::kDoesNotFit: return "does not fit";
    case Verdict::kUndecided: return "undecided";
  }
  return "undecided";
}

Verdict verdict_from_string(const std::string& text) {
  for (Verdict v : {Verdict::kFits, Verdict::kDoesNotFit, Verdict::kUndecided}) {
    if (to_string(v) == text) return v;
  }
  throw std::invalid_argument("'" + text + "': expected a verdict: fits, does not fit or undecided");
}

Verdict judge_interval(const Interval& interval, double budget) {
  if (std::isinf(budget) && budget > 0) return Verdict::kFits;
  if (interval.high <= budget) return Verdict::kFits;
  if (interval.low > budget) return Verdict::kDoesNotFit;
  return Verdict::kUndecided;
}

Verdict both(Verdict a, Verdict b) {
  if (a == Verdict::kDoesNotFit || b == Verdict::kDoesNotFit) return Verdict::kDoesNotFit;
  if (a == Verdict::kFits && b == Verdict::kFits) return Verdict::kFits;
  return Verdict::kUndecided;
}

void check_policy(const ClaimPolicy& policy) {
  if (policy.measurements < 5) {
    throw std::invalid_argument("claim measurements: expected at least 5 (fewer cannot give a 90% interval of the median), got " +
                                std::to_string(policy.measurements));
  }
  if (policy.max_measurements < policy.measurements) {
    throw std::invalid_argument("claim max_measurements: expected at least measurements (" + std::to_string(policy.measurements) +
                                "), got " + std::to_string(policy.max_measurements));
  }
  if (!(policy.confidence > 0 && policy.confidence < 1)) {
    throw std::invalid_argument("claim confidence: expected a fraction in (0, 1), got " + std::to_string(policy.confidence));
  }
  if (!(policy.screen >= 0)) throw std::invalid_argument("claim screen: expected >= 0, got " + std::to_string(policy.screen));
  if (!(policy.drift_tolerance > 0)) {
    throw std::invalid_argument("claim drift_tolerance: expected > 0, got " + std::to_string(policy.drift_tolerance));
  }
  const Interval probe = median_interval(std::vector<double>(static_cast<std::size_t>(policy.measurements), 0.0), policy.confidence);
  if (std::isinf(probe.high)) {
    throw std::invalid_argument("claim measurements: " + std::to_string(policy.measurements) + " readings cannot give a " +
                                std::to_string(policy.confidence) + " interval of the median; measure more often");
  }
}

void judge_readings(BudgetClaim& claim, const ClaimBudgets& budgets, const ClaimPolicy& policy) {
  const auto finite = [](const std::vector<double>& values) {
    std::vector<double> out;
    for (double v : values) {
      if (std::isfinite(v)) out.push_back(v);
    }
    return out;
  };
  // A figure the backend could not read (NaN) is no evidence: its interval stays unbounded.
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::vector<double> latencies = finite(claim.latencies_ms), memories = finite(claim.memories_mib);
  claim.latency_ms_median = latencies.empty() ? nan : median_of(latencies);
  claim.latency_ms_interval = latencies.empty() ? Interval{-inf, inf} : median_interval(latencies, policy.confidence);
  claim.memory_mib_peak = memories.empty() ? nan : median_of(memories);
  claim.memory_mib_interval = memories.empty() ? Interval{-inf, inf} : median_interval(memories, policy.confidence);
  const std::vector<double> references = finite(claim.reference_ms);
  if (!references.empty()) {
    claim.reference_median_ms = median_of(references);
    if (claim.reference_baseline_ms > 0) {
      claim.drift = (claim.reference_median_ms - claim.reference_baseline_ms) / claim.reference_baseline_ms;
      claim.drifting = std::abs(claim.drift) > policy.drift_tolerance;
    }
  }
  if (!claim.feasible) {
    claim.latency_verdict = claim.memory_verdict = claim.verdict = Verdict::kDoesNotFit;
    return;
  }
  // Fewer readings than the policy asks for are never a verdict: the interval of, say, one reading
  // would be that reading.
  if (static_cast<int>(claim.latencies_ms.size()) < policy.measurements) {
    claim.latency_verdict = claim.memory_verdict = claim.verdict = Verdict::kUndecided;
    return;
  }
  claim.latency_verdict = judge_interval(claim.latency_ms_interval, budgets.latency_ms);
  claim.memory_verdict = judge_interval(claim.memory_mib_interval, budgets.memory_mib);
  claim.verdict = both(claim.latency_verdict, claim.memory_verdict);
}

BudgetClaim measure_claim(const std::function<Measurement()>& measure_model, const std::function<double()>& read_reference,
                          double reference_baseline_ms, const ClaimBudgets& budgets, const ClaimPolicy& policy,
                          const std::function<void(const BudgetClaim&)>& progress) {
  check_policy(policy);
  BudgetClaim claim;
  claim.reference_baseline_ms = reference_baseline_ms;
  std::vector<Measurement> taken;
  while (static_cast<int>(taken.size()) < policy.max_measurements) {
    // The reference right before the model: the two see the same state of the device.
    claim.reference_ms.push_back(read_reference ? read_reference() : std::numeric_limits<double>::quiet_NaN());
    Measurement m = measure_model();
    if (!m.feasible) {  // the model does not run there: no repeat changes that
      claim.feasible = false;
      claim.infeasible_reason = m.infeasible_reason;
      claim.representative = std::move(m);
      judge_readings(claim, budgets, policy);
      if (progress) progress(claim);
      return claim;
    }
    claim.latencies_ms.push_back(m.latency_ms());
    claim.memories_mib.push_back(m.peak_memory_mib);
    taken.push_back(std::move(m));
    judge_readings(claim, budgets, policy);
    if (progress) progress(claim);
    if (static_cast<int>(taken.size()) >= policy.measurements && claim.verdict != Verdict::kUndecided) break;
    if (taken.size() == 1 && policy.screen > 0) {
      const double factor = 1 + policy.screen;
      const double l = claim.latencies_ms.front(), m = claim.memories_mib.front();
      if ((std::isfinite(budgets.latency_ms) && l > factor * budgets.latency_ms) ||
          (std::isfinite(budgets.memory_mib) && std::isfinite(m) && m > factor * budgets.memory_mib)) {
        claim.screened = true;
        break;
      }
    }
  }
  // The representative is a real reading: the lower middle one for an even count.
  std::vector<std::size_t> order(taken.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return taken[a].latency_ms() < taken[b].latency_ms(); });
  claim.representative = taken[order[(order.size() - 1) / 2]];
  return claim;
}

}  // namespace thanos
