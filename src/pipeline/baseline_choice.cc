#include "baseline_choice.h"

#include <algorithm>
#include <optional>

#include "target_measurement.h"
#include "thanos/common/text.h"
#include "thanos/pipeline/baseline.h"
#include "thanos/predict/predictor_file.h"
#include "thanos/space/config_io.h"

namespace thanos {

BaselineChoice choose_baseline(const Plan& p, const TargetPlan& t, const ResolvedBudgets& b, const std::string& config_path,
                               const Log& log) {
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
  ClaimBudgets budgets;
  budgets.latency_ms = b.latency_ms;
  budgets.memory_mib = b.memory_mib;
  // Screening: one reading per member, in the predicted order, until three read within the budgets
  // (at most twelve read). A reading decides nothing; it orders the members worth a claim.
  struct Screened {
    std::size_t trial;
    double latency_ms;
    SubConfig config;
  };
  std::vector<Screened> within;
  for (std::size_t i = 0; i < ranked.size() && within.size() < 3 && choice.tried.size() < 12; ++i) {
    const Measurement m = measurer_of(p, t).measure(ranked[i].second);
    MeasurementRecord screen;
    screen.feasible = m.feasible;
    screen.reason = m.infeasible_reason;
    screen.screened = true;
    if (m.feasible) {
      screen.latency_ms = m.latency_ms();
      screen.memory_mib = m.peak_memory_mib;
      screen.latencies_ms = {m.latency_ms()};
      screen.memories_mib = {m.peak_memory_mib};
    }
    screen.memory_kind = m.memory_kind;
    screen.backend = m.backend;
    choice.tried.push_back({ranked[i].second.summary(), ranked[i].first, false, screen});
    if (m.feasible && m.latency_ms() <= budgets.latency_ms && !(m.peak_memory_mib > budgets.memory_mib)) {
      within.push_back({choice.tried.size() - 1, m.latency_ms(), ranked[i].second});
    }
  }
  // Claims, slowest screened reading first: the first that fits is HAT's baseline (the largest
  // homogeneous model that fits); an undecided or not fitting one passes the turn to the next.
  std::stable_sort(within.begin(), within.end(), [](const Screened& x, const Screened& y) { return x.latency_ms > y.latency_ms; });
  std::optional<std::pair<BudgetClaim, SubConfig>> best;
  for (const Screened& s : within) {
    const BudgetClaim c = claim_on_target(p, t, s.config, budgets, log);
    BaselineTrial& trial = choice.tried[s.trial];
    trial.fits = c.fits();
    trial.measurement = measurement_record(c);
    if (c.fits()) {
      best = std::make_pair(c, s.config);
      break;
    }
  }
  if (!best) {
    log("no homogeneous Transformer of the space fits budget " + b.name + " (" + std::to_string(ranked.size()) + " predicted to)");
    return choice;
  }
  write_file_atomically(config_path, config_to_yaml(best->second));
  choice.found = true;
  choice.config = config_path;
  choice.measurement = measurement_record(best->first);
  return choice;
}

}  // namespace thanos
