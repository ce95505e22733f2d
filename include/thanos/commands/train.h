#pragma once
// thanos train / valid / average: library entry points of the training subcommands.
#include <nlohmann/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "thanos/train/train_options.h"

namespace thanos {

struct TrainCommandOptions {
  std::string data_dir;      // from thanos prepare
  std::string space_path;    // SuperTransformer training (and the space of a from-scratch SubTransformer)
  std::string config_path;   // train this SubTransformer instead of the SuperTransformer
  std::string init_from;     // SubTransformer: start from this SuperTransformer's inherited weights
  std::string save_dir;      // checkpoints and train_log.jsonl
  bool resume = false;       // continue from save_dir/checkpoint_last.pt
  TrainOptions train;        // save_dir inside is set from save_dir
};

struct TrainCommandResult {
  TrainResult result;
  std::string mode;          // "supertransformer" | "subtransformer"
  std::int64_t parameters = 0;
  std::vector<std::string> warnings;
  nlohmann::json final_valid;  // validation of the largest/smallest (super) or the config (sub)
};

// Progress lines go to `log` (step, loss, lr, tokens/s, ETA); a JSONL record per log point is
// appended to save_dir/train_log.jsonl.
TrainCommandResult run_train(const TrainCommandOptions& options, const std::function<void(const std::string&)>& log);

struct ValidCommandOptions {
  std::string checkpoint_path;
  std::string data_dir;
  std::string split = "valid";
  std::vector<std::string> config_paths;  // empty: the standalone model's own config, or the
                                          // SuperTransformer's largest and smallest
  FitnessOptions fitness;
  std::string device = "cpu";
};
// {"results": [{"config": path|name, "hash", "loss", "nll_loss", "ppl", "ntokens"}], "pairs": N}
nlohmann::json run_valid(const ValidCommandOptions& options);

// thanos average: fairseq's average_checkpoints (train/trainer.h) of `checkpoint_paths` into `out_path`.
void run_average(const std::vector<std::string>& checkpoint_paths, const std::string& out_path);

}  // namespace thanos
