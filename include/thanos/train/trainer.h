#pragma once
// Training: the SuperTransformer (a new SubTransformer sampled for every update, as HAT does) or
// one standalone SubTransformer, with checkpoints that resume exactly.
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "thanos/data/batcher.h"
#include "thanos/model/model_file.h"
#include "thanos/train/distributed.h"
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

// Parses "cpu" / "cuda" / "cuda:N"; throws std::invalid_argument saying why when this build or
// machine cannot use it.
torch::Device parse_device(const std::string& name);

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

// The SubTransformer HAT trains at update `update`: a pure function of (seed, update), so resuming
// needs no sampler state.
SubConfig config_for_update(const SearchSpace& space, std::uint64_t seed, std::int64_t update);

class Trainer {
 public:
  // `info` describes the model for the checkpoints (metadata such as the space is kept).
  Trainer(SuperTransformer model, ModelFileInfo info, const BinarizedSplit& train, TrainOptions options,
          TrainTarget target);
  ~Trainer();

  // Data-parallel training: every rank builds the same Trainer (same seed and data) and passes its
  // communicator. Ranks take interleaved batches of the same global order, sample the same
  // SubTransformer, normalise by the global token count and sum gradients; rank 0 writes files.
  void set_communicator(Communicator* communicator) { comm_ = communicator; }

  // Restores model, optimizer, data position, RNG and counters from a checkpoint of this trainer.
  void resume(const std::string& checkpoint_path);
  TrainResult run(const std::function<void(const TrainProgress&)>& on_log = nullptr);
  // Atomic; called by run() at save points, at the end and on interruption.
  void save_checkpoint(const std::string& path);

  std::int64_t num_updates() const { return num_updates_; }
  SuperTransformer model() const { return model_; }

  // Set by SIGINT/SIGTERM while run() is active; run() saves and returns at the next update.
  static std::atomic<int> stop_signal;

 private:
  struct State;
  SuperTransformer model_;
  ModelFileInfo info_;
  const BinarizedSplit& train_;
  TrainOptions options_;
  TrainTarget target_;
  std::unique_ptr<State> state_;
  Communicator* comm_ = nullptr;
  torch::Device device_{torch::kCPU};
  std::int64_t num_updates_ = 0;
  std::int64_t epoch_ = 1;
  std::size_t batch_in_epoch_ = 0;
};

// fairseq's average_checkpoints: the element-wise mean of the parameters of `paths` (same
// architecture), written as a model file.
void average_checkpoints(const std::vector<std::string>& paths, const std::string& out_path);

}  // namespace thanos
