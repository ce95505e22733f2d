#pragma once
// What `thanos run` resolves once before any stage runs: the config, the paths, the search space,
// each target's protocol, and every stage's inputs hash (stage.h). Private to src/pipeline.
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "thanos/commands/measure.h"
#include "thanos/decode/generation_options.h"
#include "thanos/hw/latency_protocol.h"
#include "thanos/pipeline/pipeline.h"
#include "thanos/pipeline/run_config.h"
#include "thanos/pipeline/work_dir.h"
#include "thanos/space/search_space.h"

namespace thanos {

using Log = std::function<void(const std::string&)>;

// One target, resolved: its protocol and measurement threads.
struct TargetPlan {
  TargetSpec spec;
  LatencyProtocol protocol;
  int threads = 1;
  // Opened at the first single measurement and kept for the run (one agent connection per board).
  mutable std::shared_ptr<TargetMeasurer> measurer;
};

struct Plan {
  RunConfig config;
  RunOptions options;
  WorkDir dir{""};
  std::string corpus_dir, space_path;
  SearchSpace space;
  std::string space_text;  // the space file (dropout, norms: what a model trained from scratch depends on)
  std::string space_hash;
  std::vector<TargetPlan> targets;
  int threads = 1;                            // training and scoring (the global --threads)
  std::map<std::string, std::string> hashes;  // stage -> inputs hash, in stage order
};

// Resolves the corpus, the space and the targets and hashes every stage's inputs (in stage order,
// each over its upstream's). Throws std::invalid_argument naming the config key or missing file.
Plan make_plan(const RunOptions& options);

std::string hash_of(const nlohmann::ordered_json& j);

// The corpus split PREFIX (train, valid, test) and its LANG file (plain or .gz).
std::string corpus_prefix(const Plan& p, const std::string& prefix);
std::string corpus_file(const Plan& p, const std::string& prefix, const std::string& lang);

// The training settings as hashed (super and final).
nlohmann::ordered_json train_json(const TrainStageSettings& t);

// How the evaluate stage translates (and the search's BLEU re-ranking and the final selection, so
// that they rank by the BLEU the run reports).
GenerationOptions evaluate_generation(const RunConfig& c);

// The models' vocabulary: the prepared one (sentencepiece makes fewer pieces than
// corpus.vocab_size on a small corpus), read from WORKDIR/data; the config's before `prepare` ran.
int models_vocab(const Plan& p);

// The protocol a target is measured under: its preset with the models' vocabulary (the output
// projection's width), so that the dataset, the predictors and the search agree on it.
LatencyProtocol measured_protocol(const Plan& p, const TargetPlan& t);

// Every stage's inputs hash, in stage order, from what is on disk now (the runner refreshes them as
// stages complete: a hash may depend on an upstream stage's outputs, e.g. the prepared vocabulary).
void hash_stages(Plan& p);

// Prefixes a target's log lines when the config has several.
Log target_log(const Plan& p, const TargetPlan& t, const Log& log);

}  // namespace thanos
