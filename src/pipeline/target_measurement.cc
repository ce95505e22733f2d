#include "target_measurement.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "thanos/pipeline/budgets.h"
#include "thanos/search/budget_claim.h"

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
  return o;
}

TargetMeasurer& measurer_of(const Plan& p, const TargetPlan& t) {
  if (!t.measurer) t.measurer = std::make_shared<TargetMeasurer>(target_measure_options(p, t), p.space);
  return *t.measurer;
}

RepeatedMeasurement measure_on_target(const Plan& p, const TargetPlan& t, const SubConfig& config, double latency_budget_ms,
                                      bool always) {
  TargetMeasurer& measurer = measurer_of(p, t);
  RepeatPolicy repeat;
  repeat.repeats = p.config.measure_repeats;
  repeat.always = always;
  return measure_repeatedly([&] { return measurer.measure(config); }, latency_budget_ms, repeat);
}

MeasurementRecord measurement_record(const RepeatedMeasurement& r) {
  const Measurement& m = r.median;
  MeasurementRecord out;
  out.feasible = m.feasible;
  out.reason = m.infeasible_reason;
  if (m.feasible) out.latency_ms = m.latency_ms(), out.memory_mib = m.peak_memory_mib;
  out.latencies_ms = r.latencies_ms;
  out.memory_kind = m.memory_kind;
  return out;
}

ReferenceCheck settle_target(const Plan& p, const TargetPlan& t, int* cooldowns_left, const Log& log) {
  const double baseline = dataset_reference_ms(p.dir.dataset(t.spec.name));
  if (!(baseline > 0)) return {};
  auto read = [&] {
    const Measurement m = measure_on_target(p, t, p.space.smallest(), 0, false).median;
    return m.feasible ? m.latency_ms() : baseline;
  };
  auto sleep = [](double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); };
  const ReferenceCheck c = settle_reference(read, baseline, kDriftTolerance, 30, std::max(0, *cooldowns_left), sleep, log);
  *cooldowns_left -= c.cooldowns;
  return c;
}

double slowdown_factor(const ReferenceCheck& c) { return slowdown_for_drift(c.drift); }

}  // namespace thanos
