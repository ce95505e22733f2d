#include "baseline_choice.h"

#include <algorithm>
#include <optional>

#include "target_measurement.h"
#include "thanos/common/text.h"
#include "thanos/pipeline/baseline.h"
#include "thanos/predict/predictor_file.h"
#include "thanos/search/budget_claim.h"
#include "thanos/space/config_io.h"

namespace thanos {

BaselineChoice choose_baseline(const Plan& p, const TargetPlan& t, const ResolvedBudgets& b, double slowdown,
                               const std::string& config_path, const Log& log) {
  const Predictor lat = load_predictor(p.dir.predictor(t.spec.name, "latency"));
  const Predictor mem = load_predictor(p.dir.predictor(t.spec.name, "memory"));
  std::vector<std::pair<double, SubConfig>> under_budget, over_budget;
  for (const auto& c : homogeneous_members(p.space)) {
    const double l = lat.predict(c).value, m = mem.predict(c).value;
    if (m > 1.05 * b.memory_mib) continue;
    if (l <= b.latency_ms) under_budget.emplace_back(l, c);
    else if (l <= 1.25 * b.latency_ms) over_budget.emplace_back(l, c);
  }
  std::sort(under_budget.begin(), under_budget.end(), [](const auto& a, const auto& c) { return a.first > c.first; });
  std::sort(over_budget.begin(), over_budget.end(), [](const auto& a, const auto& c) { return a.first < c.first; });
  std::vector<std::pair<double, SubConfig>> ranked = under_budget;
  ranked.insert(ranked.end(), over_budget.begin(), over_budget.end());
  BaselineChoice choice;
  std::optional<std::pair<RepeatedMeasurement, SubConfig>> best;
  int fitting = 0;
  for (std::size_t i = 0; i < ranked.size() && fitting < 3 && choice.tried.size() < 12; ++i) {
    const RepeatedMeasurement r = measure_on_target(p, t, ranked[i].second, b.latency_ms * slowdown, false);
    const Measurement& m = r.median;
    const bool fits = judge_claim(m.feasible, m.latency_ms(), m.peak_memory_mib, slowdown, b.latency_ms, b.memory_mib).fits();
    choice.tried.push_back({ranked[i].second.summary(), ranked[i].first, fits, measurement_record(r), slowdown});
    if (!fits) continue;
    ++fitting;
    if (!best || m.latency_ms() > best->first.median.latency_ms()) best = std::make_pair(r, ranked[i].second);
  }
  if (!best) {
    log("no homogeneous Transformer of the space fits budget " + b.name + " (" + std::to_string(ranked.size()) + " predicted to)");
    return choice;
  }
  write_file_atomically(config_path, config_to_yaml(best->second));
  choice.found = true;
  choice.config = config_path;
  choice.measurement = measurement_record(best->first);
  choice.slowdown = slowdown;
  return choice;
}

}  // namespace thanos
