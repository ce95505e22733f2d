#pragma once
// thanos search: the best SubTransformer of a trained SuperTransformer under latency and memory
// budgets (docs/SEARCH.md). Fitness = inherited-weight validation loss (FitnessEvaluator); costs =
// a latency predictor file (provenance-checked) and a memory predictor or the analytic memory
// model; the top candidates are measured on the target before they are returned.
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "thanos/decode/generation_options.h"
#include "thanos/hw/backend.h"
#include "thanos/hw/budget_claim.h"
#include "thanos/hw/latency_protocol.h"
#include "thanos/model/cost_model.h"
#include "thanos/predict/predictor.h"
#include "thanos/search/constraints.h"
#include "thanos/search/strategy.h"
#include "thanos/train/train_options.h"

namespace thanos {

// What every search over one SuperTransformer reads before it scores anything: the model (on the
// fitness device), its embedded space, the prepared data's manifest and valid split. Loaded once
// by load_search_inputs and shared by several searches (the pipeline's budgets of one target)
// rather than read from disk again for each. Opaque here: it holds libtorch values.
struct SearchInputs;
// Throws std::invalid_argument naming the file (a standalone model, another vocabulary, no space).
std::shared_ptr<SearchInputs> load_search_inputs(const std::string& checkpoint_path, const std::string& data_dir,
                                                 const std::string& fitness_device);

struct SearchOptions {
  std::string checkpoint_path;          // a SuperTransformer with its space embedded
  std::string data_dir;                 // `thanos prepare` output: the valid split scores
  // Loaded already from checkpoint_path and data_dir (load_search_inputs); empty: loaded here.
  std::shared_ptr<SearchInputs> inputs;
  std::string strategy = "evo";
  StrategySettings settings;            // --set key=value
  std::uint64_t seed = 1;
  Budgets budgets;
  std::string latency_predictor_path;   // required when a latency budget is set
  std::string memory_predictor_path;    // optional: default, the analytic memory model
  LatencyProtocol protocol;             // the target's measurement protocol (provenance, analytic memory)
  std::string target_device_name;       // compared with the predictor's device ("" = not compared)
  int target_threads = 0;               // compared with the predictor's threads (0 = not compared)
  FitnessOptions fitness;
  std::string fitness_device = "cpu";   // where inherited-weight losses are computed: cpu | cuda | cuda:N
  std::string verify_device;            // cpu | cuda | ort-cpu | rknn | remote://... ("" = no verification)
  std::string verify_backend;           // remote devices: cpu | cuda | rknn (what the agent measures with; "" = cpu)
  std::string token_file;
  // An open backend to verify with instead of opening one from verify_device (the pipeline's, kept
  // for the whole run: one agent connection per board); must outlive run_search.
  Backend* verify_with = nullptr;
  int top_k = 3;                        // candidates returned; with verification, ones that fit when measured (Pareto modes: the front)
  int verify_limit = 0;                 // most candidates measured while looking for top_k that fit (0 = 4 x top_k)
  // Each candidate's budget claim (hw/budget_claim.h): at least verify_claim.measurements readings,
  // each after a reading of the drift reference, judged on the median's 90% interval; only
  // candidates that fit are returned, undecided ones are kept with the misses. A candidate whose
  // first reading is 25% over a budget is screened out after it (ClaimPolicy::screen).
  ClaimPolicy verify_claim = [] {
    ClaimPolicy policy;
    policy.screen = 0.25;
    return policy;
  }();
  // One reading of the drift reference (the pipeline: the space's smallest member on its target);
  // empty: the verifier measures the space's smallest member itself.
  std::function<double()> verify_reference;
  // The reference while the predictors' dataset was measured (NaN: unknown): a claim whose
  // reference reads beyond the tolerance from it is flagged "drifting".
  double verify_reference_baseline_ms = std::numeric_limits<double>::quiet_NaN();
  // Re-ranking (search/bleu_rerank.h): this many of the best candidates, the best of each depth
  // pair first, are translated from the valid split with inherited weights and walked by BLEU
  // before the rest (by loss). 0 = off: the loss alone ranks, as in HAT. Not in Pareto modes.
  int rerank = 0;
  GenerationOptions rerank_generation;  // how they are translated (the pipeline: its evaluate settings)
  double hv_reference_loss = 0;         // Pareto modes: the hypervolume's loss reference (0 = worst of the random first batch)
  std::string out_dir;                  // search.json, best.yml, candidates.csv, evaluations.jsonl
  const std::atomic<bool>* stop = nullptr;  // set: return at the next iteration, interrupted (resumable)
};

struct SearchReport {
  nlohmann::ordered_json summary;  // what search.json holds
  bool found = false;
  bool interrupted = false;        // stopped through SearchOptions::stop; nothing but the evaluations log written
};

// The search's cost model: latency from `latency` (0 without one), memory from `memory` or else
// the analytic model at `shape` (the project's memory definition); each with its error estimate.
// The pointers must outlive the returned function.
CostEstimator predicted_costs(const SearchSpace& space, const Predictor* latency, const Predictor* memory, const InferenceShape& shape);

// Resumable: every scored config is appended to out_dir/evaluations.jsonl; a re-run with the same
// arguments replays the (deterministic) strategy against those values and scores only new configs.
SearchReport run_search(const SearchOptions& options, const std::function<void(const std::string&)>& log);

}  // namespace thanos
