#include "training.h"

#include <algorithm>
#include <filesystem>

#include "thanos/pipeline/work_dir.h"
#include "thanos/train/lr_schedule.h"

namespace thanos {

TrainOptions stage_train_options(const Plan& p, const TrainStageSettings& t) {
  TrainOptions o;
  o.max_updates = t.updates;
  o.update_freq = t.update_freq;
  o.batching.max_tokens = t.max_tokens;
  o.batching.seed = p.config.seed;
  o.lr.lr = t.lr;
  o.lr.warmup_updates = t.warmup;
  o.lr.kind = lr_schedule_from_string(t.schedule);
  o.clip_norm = t.clip_norm;
  o.seed = p.config.seed;
  o.log_every = std::max<int64_t>(1, t.updates / 20);
  o.save_every = std::max<int64_t>(1, t.updates / 4);
  o.device = p.config.train_device;
  return o;
}

bool train_to_budget(const TrainCommandOptions& o, const Log& log) {
  TrainCommandOptions run = o;
  run.resume = std::filesystem::exists(WorkDir::checkpoint(o.save_dir));
  const TrainCommandResult r = run_train(run, log);
  return !r.result.interrupted;
}

}  // namespace thanos
