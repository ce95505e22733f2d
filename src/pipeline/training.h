#pragma once
// Training as the super and final stages run it. Private to src/pipeline.
#include "plan.h"
#include "thanos/commands/train.h"

namespace thanos {

// `t` as training options: resumable within the stage (a checkpoint every quarter), the run's seed
// and training device.
TrainOptions stage_train_options(const Plan& p, const TrainStageSettings& t);

// Runs one training to its budget, resuming an interrupted one. Returns false when interrupted.
bool train_to_budget(const TrainCommandOptions& o, const Log& log);

}  // namespace thanos
