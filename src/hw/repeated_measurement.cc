#include "thanos/hw/repeated_measurement.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace thanos {

RepeatedMeasurement measure_repeatedly(const std::function<Measurement()>& measure_once, double latency_budget_ms,
                                       const RepeatPolicy& policy) {
  if (policy.repeats < 1) throw std::invalid_argument("measurement repeats must be >= 1, got " + std::to_string(policy.repeats));
  if (!(policy.near >= 0)) throw std::invalid_argument("measurement repeat band must be >= 0, got " + std::to_string(policy.near));
  RepeatedMeasurement out;
  std::vector<Measurement> taken;
  const bool budgeted = std::isfinite(latency_budget_ms) && latency_budget_ms > 0;
  while (static_cast<int>(taken.size()) < policy.repeats) {
    Measurement m = measure_once();
    if (!m.feasible) {  // the model does not run there: no repeat changes that
      out.median = m;
      return out;
    }
    out.latencies_ms.push_back(m.latency_ms());
    taken.push_back(std::move(m));
    const bool near = budgeted && std::abs(out.latencies_ms.front() - latency_budget_ms) <= policy.near * latency_budget_ms;
    if (!policy.always && !near) break;  // the first reading decides alone
  }
  std::vector<std::size_t> order(taken.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return taken[a].latency_ms() < taken[b].latency_ms(); });
  out.median = taken[order[(order.size() - 1) / 2]];
  return out;
}

ReferenceCheck settle_reference(const std::function<double()>& read_reference, double baseline_ms, double tolerance,
                                double cooldown_s, int max_cooldowns, const std::function<void(double)>& sleep,
                                const std::function<void(const std::string&)>& log) {
  if (!(baseline_ms > 0)) throw std::invalid_argument("reference baseline must be > 0 ms, got " + std::to_string(baseline_ms));
  ReferenceCheck c;
  c.reference_ms = read_reference();
  c.drift = (c.reference_ms - baseline_ms) / baseline_ms;
  while (c.drift > tolerance && c.cooldowns < max_cooldowns) {
    if (log) {
      log("reference " + std::to_string(c.reference_ms) + " ms reads " + std::to_string(static_cast<int>(std::lround(100 * c.drift))) +
          "% slower than while the dataset was measured (" + std::to_string(baseline_ms) + " ms); cooling down " +
          std::to_string(static_cast<int>(std::lround(cooldown_s))) + " s");
    }
    sleep(cooldown_s);
    ++c.cooldowns;
    const double before = c.reference_ms;
    c.reference_ms = read_reference();
    c.drift = (c.reference_ms - baseline_ms) / baseline_ms;
    if (c.drift > tolerance && cooldown_changed_nothing(before, c.reference_ms)) {
      if (log) log("reference " + std::to_string(c.reference_ms) + " ms: the cool-down changed nothing (a lasting slowdown); measuring as it is");
      break;
    }
  }
  return c;
}

bool cooldown_changed_nothing(double before_ms, double after_ms, double still) {
  return before_ms > 0 && std::abs(after_ms - before_ms) <= still * before_ms;
}

}  // namespace thanos
