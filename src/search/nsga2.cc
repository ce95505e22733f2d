#include "thanos/search/nsga2.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace thanos {

const char* const kObjectiveNames[3] = {"valid_loss", "latency_ms", "memory_mb"};

ObjectiveVector objectives_of(const Evaluation& e) {
  return {e.fitness, e.check.estimate.latency_ms, e.check.estimate.memory_mib};
}

void Nsga2Options::validate() const {
  if (population < 4) throw std::invalid_argument("nsga2: population must be >= 4");
  if (iterations < 1 || max_tries < 1) throw std::invalid_argument("nsga2: iterations and max_tries must be >= 1");
  if (!(crossover_prob >= 0 && crossover_prob <= 1)) throw std::invalid_argument("nsga2: crossover_prob must be in [0, 1]");
  if (!(mutation_prob >= 0 && mutation_prob <= 1)) throw std::invalid_argument("nsga2: mutation_prob must be in [0, 1]");
}

Nsga2Search::Nsga2Search(SearchSpace space, Nsga2Options options, Checker checker, std::uint64_t seed)
    : space_(std::move(space)), options_(options), checker_(std::move(checker)), rng_(seed) {
  options_.validate();
  if (!multi_objective_available()) {
    throw std::runtime_error("nsga2 needs pagmo2: this build has THANOS_WITH_PAGMO off or no libpagmo-dev");
  }
  // The first generation: distinct random feasible members (bounded rejection); the smallest
  // member (the cheapest, checked by the caller through require_something_fits) fills the rest.
  std::set<std::string> taken;
  for (int i = 0; i < options_.population; ++i) {
    for (int t = 0; t < options_.max_tries; ++t) {
      Genome g = random_genome(space_, rng_);
      const SubConfig c = g.config();
      if (taken.count(c.hash_hex()) || !checker_(c).feasible) continue;
      taken.insert(c.hash_hex());
      offspring_.push_back(std::move(g));
      break;
    }
  }
  if (offspring_.empty()) {
    ++fallbacks_;
    offspring_.push_back(genome_of(space_.smallest(), space_, rng_));
  }
}

std::vector<SubConfig> Nsga2Search::ask() {
  pending_.clear();
  if (done()) return {};
  return unscored_members(offspring_, [&](const std::string& h) { return scored_.count(h) > 0; }, pending_);
}

void Nsga2Search::tell(const std::vector<double>& fitness) {
  if (fitness.size() != pending_.size()) {
    throw std::invalid_argument("nsga2: tell() got " + std::to_string(fitness.size()) + " values for " +
                                std::to_string(pending_.size()) + " asked configs");
  }
  std::map<std::string, SubConfig> by_hash;
  for (const auto& g : offspring_) by_hash.emplace(g.config().hash_hex(), g.config());
  for (std::size_t i = 0; i < fitness.size(); ++i) {
    const SubConfig& c = by_hash.at(pending_[i]);
    scored_[pending_[i]] = {c, fitness[i], checker_(c)};
  }
  pending_.clear();
  // Elitist survival: the best `population` distinct members of parents + children.
  std::vector<Genome> merged;
  std::set<std::string> seen;
  for (const auto* group : {&parents_, &offspring_}) {
    for (const auto& g : *group) {
      if (seen.insert(g.config().hash_hex()).second) merged.push_back(g);
    }
  }
  std::vector<ObjectiveVector> points;
  for (const auto& g : merged) points.push_back(objectives_of(scored_.at(g.config().hash_hex())));
  std::vector<Genome> survivors;
  for (auto i : select_best(points, static_cast<std::size_t>(options_.population))) survivors.push_back(merged[i]);
  parents_ = std::move(survivors);
  offspring_.clear();
  ++iteration_;
  if (!done()) breed();
}

std::size_t Nsga2Search::tournament(const RankAndCrowding& rc) {
  const std::size_t a = rng_.uniform_index(parents_.size()), b = rng_.uniform_index(parents_.size());
  if (rc.rank[a] != rc.rank[b]) return rc.rank[a] < rc.rank[b] ? a : b;
  return rc.crowding[b] > rc.crowding[a] ? b : a;
}

Genome Nsga2Search::child(const RankAndCrowding& rc, const std::set<std::string>& taken) {
  // A feasible child not scored and not already in this generation; failing that within
  // max_tries, the first feasible one drawn, then a copy of a parent.
  std::optional<Genome> first_feasible;
  for (int t = 0; t < options_.max_tries; ++t) {
    const Genome& a = parents_[tournament(rc)];
    const Genome& b = parents_[tournament(rc)];
    Genome g = rng_.uniform01() < options_.crossover_prob ? crossover(a, b, space_, rng_) : a;
    g = mutate(g, space_, options_.mutation_prob, rng_);
    const SubConfig c = g.config();
    if (!checker_(c).feasible) continue;
    if (!scored_.count(c.hash_hex()) && !taken.count(c.hash_hex())) return g;
    if (!first_feasible) first_feasible = std::move(g);
  }
  if (first_feasible) return *first_feasible;
  ++fallbacks_;
  return parents_[tournament(rc)];
}

void Nsga2Search::breed() {
  std::vector<ObjectiveVector> points;
  for (const auto& g : parents_) points.push_back(objectives_of(scored_.at(g.config().hash_hex())));
  const RankAndCrowding rc = rank_and_crowding(points);
  std::set<std::string> taken;
  for (int i = 0; i < options_.population; ++i) {
    offspring_.push_back(child(rc, taken));
    taken.insert(offspring_.back().config().hash_hex());
  }
}

std::vector<Evaluation> Nsga2Search::results() const {
  std::vector<Evaluation> members;
  for (const auto& g : parents_) members.push_back(scored_.at(g.config().hash_hex()));
  std::vector<ObjectiveVector> points;
  for (const auto& e : members) points.push_back(objectives_of(e));
  std::vector<Evaluation> front;
  for (auto i : pareto_front(points)) front.push_back(members[i]);
  std::stable_sort(front.begin(), front.end(), [](const Evaluation& a, const Evaluation& b) { return a.fitness < b.fitness; });
  return front;
}

std::unique_ptr<Strategy> make_nsga2(const StrategyContext& c) {
  StrategySettings left = c.settings;
  Nsga2Options o;
  o.population = static_cast<int>(take_setting(left, "population", o.population));
  o.iterations = static_cast<int>(take_setting(left, "iterations", o.iterations));
  o.crossover_prob = take_setting(left, "crossover_prob", o.crossover_prob);
  o.mutation_prob = take_setting(left, "mutation_prob", o.mutation_prob);
  o.max_tries = static_cast<int>(take_setting(left, "max_tries", o.max_tries));
  check_settings_used(left, "nsga2");
  return std::make_unique<Nsga2Search>(c.space, o, c.checker, c.seed);
}

}  // namespace thanos
