#pragma once
// Training's and the fitness's options and results as plain value types: commands, flags and the
// pipeline fill and read them without seeing libtorch; train/trainer.h and train/fitness.h run them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "thanos/data/batcher.h"
#include "thanos/space/search_space.h"
#include "thanos/space/sub_config.h"
#include "thanos/train/lr_schedule.h"

namespace thanos {

struct TrainOptions {
  std::int64_t max_updates = 1000;  // the budget, in updates (deterministic, never wall time)
  int update_freq = 1;              // batches accumulated per update
  BatchingOptions batching;
  LrScheduleOptions lr;
  double adam_beta1 = 0.9, adam_beta2 = 0.98, adam_eps = 1e-8;
  double weight_decay = 0.0;        // decoupled (AdamW), as fairseq's Adam
  double clip_norm = 0.0;           // 0 = no clipping
  double label_smoothing = 0.1;
  std::uint64_t seed = 1;           // dropout, data order and sampled SubTransformers
  std::int64_t log_every = 10;
  std::int64_t save_every = 0;      // checkpoint every N updates (0: only at the end)
  int keep_last = 2;                // numbered checkpoints kept besides checkpoint_last.pt
  std::string save_dir;             // where checkpoints go (empty: none)
  std::string device = "cpu";       // "cpu" or "cuda[:N]" (float32 on CUDA); chosen once, passed down
};

enum class TrainMode { kSuperTransformer, kSubTransformer };

struct TrainTarget {
  TrainMode mode = TrainMode::kSuperTransformer;
  SearchSpace space;   // super mode: where SubTransformers are sampled from
  SubConfig config;    // sub mode: the architecture trained
};

struct TrainProgress {
  std::int64_t update = 0, max_updates = 0, epoch = 0;
  double loss = 0, nll_loss = 0, ppl = 0;  // base 2 per target token, averaged since the last log
  double lr = 0, grad_norm = 0;
  double tokens_per_second = 0, elapsed_seconds = 0, eta_seconds = 0;
  std::string config_hash;  // the SubTransformer of the last update
};

struct TrainResult {
  std::int64_t updates = 0;
  bool interrupted = false;        // stopped by SIGINT/SIGTERM after saving
  std::vector<double> losses;      // per update (this run), label-smoothed, base 2
  std::string last_checkpoint;
};

struct FitnessOptions {
  int max_tokens = 4096;
  std::size_t subset = 0;     // score only this many pairs (a fixed, seeded subset); 0 = all
  std::uint64_t seed = 1;
  double label_smoothing = 0.1;
};

// fairseq's units: base-2 losses per target token; ppl = 2^nll_loss.
struct ValidScore {
  double loss = 0;      // label-smoothed
  double nll_loss = 0;
  double ppl = 0;
  std::int64_t ntokens = 0;
};

}  // namespace thanos
