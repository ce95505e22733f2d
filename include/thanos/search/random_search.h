#pragma once
// The baselines: uniform random feasible sampling ("random", the one every method must beat) and
// the factory of HAT's evolution ("evo", evolution.h) behind the Strategy interface.
#include "thanos/search/strategy.h"

namespace thanos {

// Settings: "samples" (default 1000), "batch" (configs per ask, default 100), "max_tries"
// (rejection draws per sample, default 200).
std::unique_ptr<Strategy> make_random_search(const StrategyContext& context);
// Settings: population, parents, mutations, crossovers, mutation_prob, iterations, max_tries
// (HAT's defaults 125/25/50/50/0.3/30).
std::unique_ptr<Strategy> make_evolution_strategy(const StrategyContext& context);

}  // namespace thanos
