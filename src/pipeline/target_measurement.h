#pragma once
// Single measurements on a run's target after its dataset: the search's baseline, the evaluate
// stage's models and the drift reference. One TargetMeasurer per target for the whole run (one
// agent connection per board). Private to src/pipeline.
#include "plan.h"
#include "thanos/hw/budget_claim.h"
#include "thanos/hw/drift_reference.h"
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

// The run's claim policy: measure.claim_measurements and claim_max_measurements.
ClaimPolicy claim_policy(const Plan& p);

// One reading of the drift reference (the space's smallest member, as in the measure stage) on the
// target, in ms; NaN when it could not be measured.
double read_reference(const Plan& p, const TargetPlan& t);

// A budget claim of `config` on the target (random weights: the architecture is what is measured;
// hw/budget_claim.h): readings interleaved with the drift reference, judged against `budgets`,
// the reference's dataset reading beside them.
BudgetClaim claim_on_target(const Plan& p, const TargetPlan& t, const SubConfig& config, const ClaimBudgets& budgets,
                            const Log& log);

// The claim as the stages record it; `judged` false (the largest, compared against no budget)
// leaves its verdict empty.
MeasurementRecord measurement_record(const BudgetClaim& c, bool judged = true);

// The drift reference, read before each final model is measured: a slow spell of a shared machine
// during the evaluate stage made a model verified at 19.8 ms read 29.3 ms against its 21.4 ms
// budget (docs/MEASUREMENT.md). Slowness beyond the measure stage's 10% tolerance is waited out 30
// s at a time, at most `*cooldowns_left` times per stage run; what is left is flagged beside the
// claim, never divided away.
ReferenceCheck settle_target(const Plan& p, const TargetPlan& t, int* cooldowns_left, const Log& log);

}  // namespace thanos
