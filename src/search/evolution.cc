#include "thanos/search/evolution.h"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace thanos {

void EvolutionOptions::validate() const {
  if (population < 2 || parents < 1 || parents > population) {
    throw std::invalid_argument("evolution: need population >= 2 and 1 <= parents <= population");
  }
  if (mutations < 0 || crossovers < 0 || parents + mutations + crossovers != population) {
    throw std::invalid_argument("evolution: parents + mutations + crossovers must equal the population (HAT: 25 + 50 + 50 = 125)");
  }
  if (!(mutation_prob >= 0 && mutation_prob <= 1)) throw std::invalid_argument("evolution: mutation probability must be in [0, 1]");
  if (iterations < 1 || max_tries < 1) throw std::invalid_argument("evolution: iterations and max_tries must be >= 1");
}

EvolutionSearch::EvolutionSearch(SearchSpace space, EvolutionOptions options, Checker checker, std::uint64_t seed,
                                 const std::vector<SubConfig>& initial)
    : space_(std::move(space)), options_(options), checker_(std::move(checker)), rng_(seed) {
  options_.validate();
  std::set<std::string> given;
  for (const auto& c : initial) {
    if (static_cast<int>(population_.size()) == options_.population) break;
    if (!space_.contains(c) || !given.insert(c.hash_hex()).second || !checker_(c).feasible) continue;
    population_.push_back(genome_of(c, space_, rng_));
  }
  // The rest of the first generation: random feasible members; the smallest member (the
  // cheapest, checked feasible by the caller through require_something_fits) is the fallback.
  Genome smallest = genome_of(space_.smallest(), space_, rng_);
  while (static_cast<int>(population_.size()) < options_.population) {
    population_.push_back(feasible([&] { return random_genome(space_, rng_); }, smallest));
  }
}

Genome EvolutionSearch::feasible(const std::function<Genome()>& draw, const Genome& fallback) {
  for (int t = 0; t < options_.max_tries; ++t) {
    Genome g = draw();
    if (checker_(g.config()).feasible) return g;
  }
  ++fallbacks_;
  return fallback;
}

std::vector<SubConfig> EvolutionSearch::ask() {
  pending_.clear();
  if (done()) return {};
  return unscored_members(population_, [&](const std::string& h) { return fitness_.count(h) > 0; }, pending_);
}

void EvolutionSearch::tell(const std::vector<double>& fitness) {
  if (fitness.size() != pending_.size()) {
    throw std::invalid_argument("evolution: tell() got " + std::to_string(fitness.size()) + " values for " +
                                std::to_string(pending_.size()) + " asked configs");
  }
  std::map<std::string, SubConfig> by_hash;
  for (const auto& g : population_) by_hash.emplace(g.config().hash_hex(), g.config());
  for (std::size_t i = 0; i < fitness.size(); ++i) {
    const SubConfig& c = by_hash.at(pending_[i]);
    fitness_[pending_[i]] = {c, fitness[i], checker_(c)};
  }
  pending_.clear();
  ++iteration_;
  if (!done()) breed();
}

std::vector<ScoredConfig> EvolutionSearch::ranked() const {
  std::vector<ScoredConfig> r;
  std::set<std::string> seen;
  for (const auto& g : population_) {
    const std::string h = g.config().hash_hex();
    auto it = fitness_.find(h);
    if (it != fitness_.end() && seen.insert(h).second) r.push_back(it->second);
  }
  std::stable_sort(r.begin(), r.end(), [](const ScoredConfig& a, const ScoredConfig& b) { return a.fitness < b.fitness; });
  return r;
}

void EvolutionSearch::breed() {
  // Parents: the best members by fitness (ties keep population order, so a seed reproduces).
  std::vector<std::size_t> order(population_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto score = [&](std::size_t i) { return fitness_.at(population_[i].config().hash_hex()).fitness; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score(a) < score(b); });
  std::vector<Genome> parents;
  for (int i = 0; i < options_.parents; ++i) parents.push_back(population_[order[i]]);
  std::vector<Genome> next = parents;
  for (int i = 0; i < options_.mutations; ++i) {
    const Genome& p = parents[rng_.uniform_index(parents.size())];
    next.push_back(feasible([&] { return mutate(p, space_, options_.mutation_prob, rng_); }, p));
  }
  for (int i = 0; i < options_.crossovers; ++i) {
    const Genome& a = parents[rng_.uniform_index(parents.size())];
    const Genome& b = parents[rng_.uniform_index(parents.size())];
    next.push_back(feasible([&] { return crossover(a, b, space_, rng_); }, a));
  }
  population_ = std::move(next);
}

}  // namespace thanos
