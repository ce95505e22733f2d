#pragma once
// "nsga2": multi-objective search over (validation loss, predicted latency, predicted memory) that
// returns the Pareto front in one run (Deb et al. 2002, NSGA-II). pagmo2's own nsga2 algorithm
// works on box-bounded continuous problems without constraints or custom operators, so this file
// runs NSGA-II's loop itself with pagmo's building blocks (pareto.h: non-dominated sorting,
// crowding distance, best-N selection) and THANOS' categorical genome operators (genome.h):
// binary tournament on (rank, crowding), HAT's crossover with probability `crossover_prob`, HAT's
// per-gene mutation, every child feasible by bounded rejection (then a copy of its first parent),
// elitist survival of the best `population` of parents + children. Only with pagmo2
// (multi_objective_available()). Torch-free.
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "thanos/search/genome.h"
#include "thanos/search/pareto.h"
#include "thanos/search/strategy.h"

namespace thanos {

struct Nsga2Options {
  int population = 100;
  int iterations = 30;  // generations scored, the random first one included (as evo's)
  double crossover_prob = 0.9;
  double mutation_prob = 0.3;  // per gene, HAT's
  int max_tries = 200;         // draws per child before falling back to a parent copy
  void validate() const;
};

// The objectives a scored candidate is ranked by: its fitness and its predicted costs.
ObjectiveVector objectives_of(const Evaluation& e);
extern const char* const kObjectiveNames[3];  // valid_loss, latency_ms, memory_mb

class Nsga2Search : public Strategy {
 public:
  using Checker = std::function<ConstraintCheck(const SubConfig&)>;
  Nsga2Search(SearchSpace space, Nsga2Options options, Checker checker, std::uint64_t seed);

  std::string name() const override { return "nsga2"; }
  std::vector<SubConfig> ask() override;
  void tell(const std::vector<double>& fitness) override;
  bool done() const override { return iteration_ >= options_.iterations; }
  // The first front of the current population, lowest loss first.
  std::vector<Evaluation> results() const override;
  int iteration() const override { return iteration_; }
  int iterations() const override { return options_.iterations; }
  bool pareto() const override { return true; }

  int evaluations() const { return static_cast<int>(scored_.size()); }
  int fallbacks() const { return fallbacks_; }

 private:
  Genome child(const RankAndCrowding& rc, const std::set<std::string>& taken);
  std::size_t tournament(const RankAndCrowding& rc);
  void breed();

  SearchSpace space_;
  Nsga2Options options_;
  Checker checker_;
  Rng rng_;
  std::vector<Genome> parents_;    // the survivors (all scored)
  std::vector<Genome> offspring_;  // the generation being scored
  std::vector<std::string> pending_;
  std::map<std::string, Evaluation> scored_;
  int iteration_ = 0;
  int fallbacks_ = 0;
};

// Settings: population (100), iterations (30), crossover_prob (0.9), mutation_prob (0.3), max_tries (200).
std::unique_ptr<Strategy> make_nsga2(const StrategyContext& context);

}  // namespace thanos
