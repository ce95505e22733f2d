#pragma once
// The ask/tell interface every search strategy implements (docs/SEARCH.md; Optuna's vocabulary:
// a study asks its strategy for trials and tells it their values). A strategy sees candidates only
// through a constraint checker, so it can emit feasible configs only; fitness is minimised
// (inherited-weight validation loss). Adding a strategy = one file + one line in
// strategy_registry.cc. Torch-free.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "thanos/search/constraints.h"

namespace thanos {

class Study;

struct Evaluation {
  SubConfig config;
  double fitness = 0;     // validation loss (lower is better)
  ConstraintCheck check;  // predicted latency/memory and the margins
};

// Numeric settings by name ("population", "iterations", ...); each strategy documents its keys
// and rejects unknown ones.
using StrategySettings = std::map<std::string, double>;

struct StrategyContext {
  SearchSpace space;
  std::function<ConstraintCheck(const SubConfig&)> checker;  // feasibility (predicted)
  std::uint64_t seed = 1;
  StrategySettings settings;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // The next configs to score: feasible, not scored before. Empty once done().
  virtual std::vector<SubConfig> ask() = 0;
  // Their fitness, in ask()'s order.
  virtual void tell(const std::vector<double>& fitness) = 0;
  virtual bool done() const = 0;
  // What the strategy returns: best first (single objective) or its Pareto front.
  virtual std::vector<Evaluation> results() const = 0;
  // Progress: iterations done and planned.
  virtual int iteration() const = 0;
  virtual int iterations() const = 0;
  // True when results() is a Pareto front over (loss, latency, memory) rather than a ranking.
  virtual bool pareto() const { return false; }
  // The outer HPO study, for strategies that run one (search.json's trials); else nullptr.
  virtual const Study* study() const { return nullptr; }
};

using StrategyFactory = std::function<std::unique_ptr<Strategy>(const StrategyContext&)>;

// Throws std::invalid_argument listing the known names.
std::unique_ptr<Strategy> make_strategy(const std::string& name, const StrategyContext& context);
std::vector<std::string> strategy_names();

// Reads setting `key` (default when absent); takes it out of `left`, so a factory can refuse
// settings nobody read (check_settings_used).
double take_setting(StrategySettings& left, const std::string& key, double fallback);
void check_settings_used(const StrategySettings& left, const std::string& strategy);

}  // namespace thanos
