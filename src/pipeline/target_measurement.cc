#include "target_measurement.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <thread>

#include "thanos/common/text.h"
#include "thanos/hw/target_device.h"
#include "thanos/pipeline/budgets.h"

namespace thanos {

std::string measure_unit_hash(const Plan& p, const TargetPlan& t, const LatencyProtocol& protocol) {
  return hash_of({{"space", p.space_text}, {"device", t.spec.device}, {"backend", t.spec.backend},
                  {"protocol", protocol.canonical()}, {"samples", p.config.measure_samples}, {"seed", p.config.seed},
                  {"threads", t.threads}});
}

MeasureOptions target_measure_options(const Plan& p, const TargetPlan& t) {
  MeasureOptions o;
  o.device = t.spec.device;
  o.token_file = t.spec.token_file;
  o.remote_backend = t.spec.backend;
  o.job.protocol = measured_protocol(p, t);
  o.job.run.threads = t.threads;
  o.allow_busy = p.options.allow_busy;
  return o;
}

TargetMeasurer& measurer_of(const Plan& p, const TargetPlan& t) {
  if (!t.measurer) t.measurer = std::make_shared<TargetMeasurer>(target_measure_options(p, t), p.space);
  return *t.measurer;
}

ClaimPolicy claim_policy(const Plan& p) {
  ClaimPolicy policy;
  policy.measurements = p.config.claim_measurements;
  policy.max_measurements = p.config.claim_max_measurements;
  policy.drift_tolerance = kDriftTolerance;
  return policy;
}

double read_reference(const Plan& p, const TargetPlan& t) {
  const Measurement m = measurer_of(p, t).measure(p.space.smallest());
  return m.feasible ? m.latency_ms() : std::numeric_limits<double>::quiet_NaN();
}

BudgetClaim claim_on_target(const Plan& p, const TargetPlan& t, const SubConfig& config, const ClaimBudgets& budgets,
                            const Log& log) {
  TargetMeasurer& measurer = measurer_of(p, t);
  const double baseline = dataset_reference_ms(p.dir.dataset(t.spec.name));
  BudgetClaim c = measure_claim([&] { return measurer.measure(config); }, [&] { return read_reference(p, t); },
                                baseline > 0 ? baseline : std::numeric_limits<double>::quiet_NaN(), budgets, claim_policy(p));
  if (c.drifting && log) {
    log("the drift reference read " + format_fixed(c.reference_median_ms, 2) + " ms (median) against " + format_fixed(baseline, 2) +
        " ms while the dataset was measured (" + (c.drift > 0 ? "+" : "") + format_fixed(100 * c.drift, 0) +
        "%): the claim stands on the raw readings and is flagged");
  }
  return c;
}

MeasurementRecord measurement_record(const BudgetClaim& c, bool judged) {
  const auto finite = [](double v) { return std::isfinite(v) ? std::optional<double>(v) : std::nullopt; };
  MeasurementRecord out;
  out.feasible = c.feasible;
  out.reason = c.infeasible_reason;
  out.verdict = judged ? to_string(c.verdict) : "";
  out.latency_ms = finite(c.latency_ms_median);
  out.memory_mib = finite(c.memory_mib_peak);
  out.latency_ms_low = finite(c.latency_ms_interval.low);
  out.latency_ms_high = finite(c.latency_ms_interval.high);
  out.memory_mib_low = finite(c.memory_mib_interval.low);
  out.memory_mib_high = finite(c.memory_mib_interval.high);
  out.latencies_ms = c.latencies_ms;
  out.memories_mib = c.memories_mib;
  out.reference_ms = c.reference_ms;
  out.reference_baseline_ms = finite(c.reference_baseline_ms);
  out.reference_drift = finite(c.drift);
  out.drifting = c.drifting;
  out.screened = c.screened;
  out.memory_kind = c.representative.memory_kind;
  out.backend = c.representative.backend;
  out.runtime = runtime_of_backend(c.representative.backend);
  return out;
}

ReferenceCheck settle_target(const Plan& p, const TargetPlan& t, int* cooldowns_left, const Log& log) {
  const double baseline = dataset_reference_ms(p.dir.dataset(t.spec.name));
  if (!(baseline > 0)) return {};
  auto read = [&] {
    const double ms = read_reference(p, t);
    return std::isfinite(ms) ? ms : baseline;
  };
  auto sleep = [](double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); };
  const ReferenceCheck c = settle_reference(read, baseline, kDriftTolerance, 30, std::max(0, *cooldowns_left), sleep, log);
  *cooldowns_left -= c.cooldowns;
  return c;
}


}  // namespace thanos
