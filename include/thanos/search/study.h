#pragma once
// The trial history of a hyperparameter search, in Optuna's vocabulary (docs/SEARCH_HPO.md): a
// Study is one search, a Trial one proposal of categorical parameters with its lifecycle state and
// value (lower is better). Plain value types, torch-free and format-free: the JSON/JSONL log of
// search.json is written in the tools layer from these fields (or from Trial::summary()).
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace thanos {

// Optuna's TrialState without WAITING (nothing is enqueued here).
enum class TrialState { kRunning, kComplete, kPruned, kFailed };

// "running", "complete", "pruned", "failed" (the names search.json uses).
std::string to_string(TrialState state);
// The inverse; throws std::invalid_argument listing the four names.
TrialState trial_state_from_string(const std::string& name);

struct Trial {
  int number = 0;                     // 0, 1, ... in the order trials were started
  std::map<std::string, int> params;  // parameter name -> chosen value (one of its choices)
  TrialState state = TrialState::kRunning;
  double value = 0;     // the objective (lower is better); meaningful when complete
  std::string note;     // why a trial was pruned or failed, in words
  int evaluations = 0;  // fitness evaluations this trial spent
  // For a pruned trial: how far its cheapest candidate misses the budgets (> 0 = over). Pruned
  // trials rank among themselves by these amounts (the smaller the miss, the better).
  double latency_excess_ms = 0;
  double memory_excess_mib = 0;
  // Extra facts a strategy records (Optuna's user_attrs), e.g. the hash of the trial's best config.
  std::map<std::string, std::string> attrs;

  bool finished() const { return state != TrialState::kRunning; }
  // One line with every field in a fixed order and full double precision, e.g.
  // `trial 3 complete value=1.25 evaluations=40 params{decoder_qkv=16,encoder_qkv=32} ...`.
  std::string summary() const;
};

class Study {
 public:
  // Starts trial number trials().size() with `params`, state kRunning; returns its number.
  int start(std::map<std::string, int> params);
  // Closes a running trial. A value that is not finite makes the trial kFailed, as in Optuna.
  // Throw std::invalid_argument for an unknown number or a trial that is already finished.
  void complete(int number, double value, int evaluations);
  void prune(int number, const std::string& note, double latency_excess_ms, double memory_excess_mib);
  void fail(int number, const std::string& note, int evaluations);
  // Records an extra fact on a trial (any state).
  void set_attr(int number, const std::string& key, const std::string& value);

  // Every trial in start order (append-only: trials are never removed or renumbered).
  const std::vector<Trial>& trials() const { return trials_; }
  const Trial& trial(int number) const;
  int count(TrialState state) const;
  // The complete trial with the lowest value (the first such on ties); none before any completes.
  std::optional<Trial> best_trial() const;

 private:
  Trial& running(int number, const char* action);
  std::vector<Trial> trials_;
};

}  // namespace thanos
