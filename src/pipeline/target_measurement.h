#pragma once
// Single measurements on a run's target after its dataset: the search's baseline, the evaluate
// stage's models and the drift reference. One TargetMeasurer per target for the whole run (one
// agent connection per board). Private to src/pipeline.
#include "plan.h"
#include "thanos/hw/repeated_measurement.h"
#include "thanos/pipeline/stage_outputs.h"
#include "thanos/space/sub_config.h"

namespace thanos {

// What one target's dataset depends on: the space, the device and how it is measured (`protocol`:
// measured_protocol()).
std::string measure_unit_hash(const Plan& p, const TargetPlan& t, const LatencyProtocol& protocol);

// The target's measurement settings (device, token, agent backend, measured_protocol(), threads).
MeasureOptions target_measure_options(const Plan& p, const TargetPlan& t);

// The target's measurer, opened on first use.
TargetMeasurer& measurer_of(const Plan& p, const TargetPlan& t);

// Measures `config` on the target (random weights: the architecture is what is measured), measure.repeats
// times when it reads near `latency_budget_ms` (or `always`); the median (hw/repeated_measurement.h).
RepeatedMeasurement measure_on_target(const Plan& p, const TargetPlan& t, const SubConfig& config, double latency_budget_ms,
                                      bool always);

MeasurementRecord measurement_record(const RepeatedMeasurement& r);

// The drift reference (the space's smallest member, as in the measure stage), read as the search's
// verification starts (no cool-down: slowdown_factor) and before each final model is measured: a
// slow spell of a shared machine during the evaluate stage made a model verified at 19.8 ms read
// 29.3 ms against its 21.4 ms budget (docs/MEASUREMENT.md). Slowness beyond the measure stage's 10%
// tolerance is waited out 30 s at a time, at most `*cooldowns_left` times per stage run, and the
// drift left is reported beside the figures.
ReferenceCheck settle_target(const Plan& p, const TargetPlan& t, int* cooldowns_left, const Log& log);

// How much slower the target reads now than while its dataset was measured, as a factor for the
// budget claims (1 within the measure stage's 10% tolerance, or faster). The dataset, its percentile
// budgets and the predictors describe the device at its dataset's speed; in a lasting slow spell of
// a shared machine (the reference read +31..48% for minutes) every measurement reads slower alike,
// and a demo run in such a spell found no homogeneous baseline under budget (docs/PIPELINE.md).
// Claims are judged at the dataset's speed (measured / factor); the raw figures are kept beside.
double slowdown_factor(const ReferenceCheck& c);

}  // namespace thanos
