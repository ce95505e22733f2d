#pragma once
// Whether a model fits its budgets when measured: the one rule behind the search's verification,
// HAT's baseline and the report's final figures (docs/MEASUREMENT.md, "Noise and budget claims").
//
// A claim is made on raw measurements, never on corrected ones: the model is measured k >= 5 times,
// each time after a reading of the drift reference, and the claim is the median with its 90%
// distribution-free interval (common/stats.h, median_interval). It *fits* when the interval's upper
// end is within the budget, *does not fit* when its lower end is beyond it, and is otherwise
// measured again, up to a limit, after which it is *undecided*, which is never reported as fitting.
// On a shared machine the noise is one-sided and comes in bursts (a model 7% under its budget once
// read 13% over it): a burst widens the interval and costs more measurements or an "undecided", it
// never admits a model. The reference's readings are kept beside the claim and a device reading
// beyond kDriftTolerance from its dataset's speed is flagged, not divided away.
// Torch-free.
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "thanos/common/stats.h"
#include "thanos/hw/measurement.h"

namespace thanos {

enum class Verdict { kFits, kDoesNotFit, kUndecided };
// "fits" | "does not fit" | "undecided"
std::string to_string(Verdict verdict);
// Throws std::invalid_argument naming the three forms.
Verdict verdict_from_string(const std::string& text);

// The verdict of an interval against a budget (an infinite budget: fits; equal to the budget fits).
Verdict judge_interval(const Interval& interval, double budget);
// Both must fit to fit; either not fitting does not fit; otherwise undecided.
Verdict both(Verdict a, Verdict b);

struct ClaimPolicy {
  int measurements = 5;       // k: measured at least this often (>= 5: fewer cannot give a 90% interval)
  int max_measurements = 11;  // measured at most this often while the verdict is undecided
  double confidence = 0.90;   // of the median's interval
  double drift_tolerance = 0.10;
  // > 0: a model whose first reading is beyond (1 + screen) x a budget is screened out after that
  // one reading, without a verdict (undecided, `screened`): walking down a search's ranking, a
  // candidate that reads far over the budget is not worth k readings, and leaving it out claims
  // nothing about it. 0: every claim takes its k readings.
  double screen = 0;
};

// Throws std::invalid_argument naming the field unless 5 <= measurements <= max_measurements and
// 0 < confidence < 1 and even [min, max] of `measurements` values reaches `confidence`.
void check_policy(const ClaimPolicy& policy);

struct ClaimBudgets {
  double latency_ms = std::numeric_limits<double>::infinity();
  double memory_mib = std::numeric_limits<double>::infinity();
};

struct BudgetClaim {
  bool feasible = true;          // every measurement ran (not killed by a cap, not crashed)
  std::string infeasible_reason;
  Measurement representative;    // the measurement with the median latency: what it ran on
  std::vector<double> latencies_ms;  // every reading of the model, in order
  std::vector<double> memories_mib;  // each reading's peak memory, in order
  std::vector<double> reference_ms;  // the drift reference read before each of them (NaN when it failed)
  double latency_ms_median = std::numeric_limits<double>::quiet_NaN();
  Interval latency_ms_interval;
  double memory_mib_peak = std::numeric_limits<double>::quiet_NaN();  // the median of the readings' peaks
  Interval memory_mib_interval;
  Verdict latency_verdict = Verdict::kUndecided;
  Verdict memory_verdict = Verdict::kUndecided;
  Verdict verdict = Verdict::kUndecided;
  // The reference while the dataset was measured (NaN: unknown), the median reading now and the
  // relative difference; drifting = |drift| beyond the policy's tolerance.
  double reference_baseline_ms = std::numeric_limits<double>::quiet_NaN();
  double reference_median_ms = std::numeric_limits<double>::quiet_NaN();
  double drift = std::numeric_limits<double>::quiet_NaN();
  bool drifting = false;
  bool screened = false;  // left out after one reading far over a budget (ClaimPolicy::screen)

  bool fits() const { return verdict == Verdict::kFits; }
  // How far the median reads over the budget (<= 0: under it).
  double latency_miss_ms(const ClaimBudgets& b) const { return latency_ms_median - b.latency_ms; }
  double memory_miss_mib(const ClaimBudgets& b) const { return memory_mib_peak - b.memory_mib; }
};

// Judges readings already taken: the medians, intervals and verdicts of `claim`'s readings (fills
// everything but `representative`, `feasible` and the reference baseline). An infeasible claim
// does not fit.
void judge_readings(BudgetClaim& claim, const ClaimBudgets& budgets, const ClaimPolicy& policy);

// Measures a claim: rounds of (read_reference, measure_model) until policy.measurements readings
// were taken and the verdict is decided, or policy.max_measurements were taken, or the first
// reading is screened out (ClaimPolicy::screen). `read_reference`
// may be empty (no reference: the drift stays unknown); it returns NaN when it could not measure.
// `reference_baseline_ms` is the reference's dataset reading (NaN: unknown). An infeasible reading
// ends the claim at once: the model does not run there. `progress`, when given, is told after each
// reading. Throws what check_policy throws.
BudgetClaim measure_claim(const std::function<Measurement()>& measure_model, const std::function<double()>& read_reference,
                          double reference_baseline_ms, const ClaimBudgets& budgets, const ClaimPolicy& policy,
                          const std::function<void(const BudgetClaim&)>& progress = {});

}  // namespace thanos
