#pragma once
// HAT's evolutionary search as an ask/tell strategy (docs/SEARCH.md): a population of feasible
// SubTransformers; each iteration keeps the best `parents`, adds `mutations` mutated and
// `crossovers` crossed-over children of random parents. Children are generated feasible by
// bounded rejection (up to `max_tries` draws, then a copy of a parent), so nothing infeasible is
// ever scored. Fitness is minimised (validation loss) and cached by config hash. Torch-free.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "thanos/search/constraints.h"
#include "thanos/search/genome.h"

namespace thanos {

struct EvolutionOptions {
  int population = 125;  // HAT's defaults
  int parents = 25;
  int mutations = 50;
  int crossovers = 50;
  double mutation_prob = 0.3;
  int iterations = 30;
  int max_tries = 200;  // draws per child before falling back to a parent
  void validate() const;
};

struct ScoredConfig {
  SubConfig config;
  double fitness = 0;
  ConstraintCheck check;
};

class EvolutionSearch {
 public:
  using Checker = std::function<ConstraintCheck(const SubConfig&)>;
  // `initial`: members the first generation starts with (a warm start, e.g. hpo-evo's best configs
  // so far); those outside the space, infeasible or repeated are skipped, the rest of the
  // generation is drawn at random.
  EvolutionSearch(SearchSpace space, EvolutionOptions options, Checker checker, std::uint64_t seed,
                  const std::vector<SubConfig>& initial = {});

  // The members of the current generation that have no fitness yet (distinct, all feasible).
  // Empty when done().
  std::vector<SubConfig> ask();
  // Fitness of ask()'s configs, in the same order; then the next generation is bred.
  void tell(const std::vector<double>& fitness);
  bool done() const { return iteration_ >= options_.iterations; }
  int iteration() const { return iteration_; }

  // The current population, best first (after the last tell()).
  std::vector<ScoredConfig> ranked() const;
  int evaluations() const { return static_cast<int>(fitness_.size()); }
  // Children that fell back to a parent copy because no feasible draw was found.
  int fallbacks() const { return fallbacks_; }

 private:
  Genome feasible(const std::function<Genome()>& draw, const Genome& fallback);
  void breed();

  SearchSpace space_;
  EvolutionOptions options_;
  Checker checker_;
  Rng rng_;
  std::vector<Genome> population_;
  std::vector<std::string> pending_;  // hashes handed out by ask()
  std::map<std::string, ScoredConfig> fitness_;
  int iteration_ = 0;
  int fallbacks_ = 0;
};

}  // namespace thanos
