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
#include "thanos/train/train_options.h"

namespace thanos {

// Parses "cpu" / "cuda" / "cuda:N"; throws std::invalid_argument saying why when this build or
// machine cannot use it.
torch::Device parse_device(const std::string& name);

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

  // Set by SIGINT/SIGTERM while run() is active (common/signal_scope.h); run() saves and returns
  // at the next update.
  static std::atomic<bool> stop_requested;

 private:
  // checkpoint_<updates>.pt from checkpoint_last.pt (temp + rename), and the numbered ones older
  // than the newest keep_last removed.
  void save_numbered_checkpoint(const std::string& last_path);

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
