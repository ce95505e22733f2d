#include "thanos/search/random_search.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "thanos/search/evolution.h"
#include "thanos/space/sampler.h"

namespace thanos {
namespace {

class RandomSearch : public Strategy {
 public:
  explicit RandomSearch(const StrategyContext& c) : context_(c), rng_(c.seed) {
    StrategySettings left = c.settings;
    samples_ = static_cast<int>(take_setting(left, "samples", 1000));
    batch_ = static_cast<int>(take_setting(left, "batch", 100));
    max_tries_ = static_cast<int>(take_setting(left, "max_tries", 200));
    check_settings_used(left, "random");
    if (samples_ < 1 || batch_ < 1 || max_tries_ < 1) throw std::invalid_argument("random: samples, batch and max_tries must be >= 1");
  }
  std::string name() const override { return "random"; }
  std::vector<SubConfig> ask() override {
    pending_.clear();
    const int want = std::min(batch_, samples_ - drawn_);
    for (int i = 0; i < want; ++i) {
      ++drawn_;
      for (int t = 0; t < max_tries_; ++t) {
        SubConfig c = sample_config(context_.space, rng_);
        if (seen_.count(c.hash_hex())) continue;
        const ConstraintCheck check = context_.checker(c);
        if (!check.feasible) continue;
        seen_.insert(c.hash_hex());
        pending_.push_back({c, 0, check});
        break;
      }
    }
    std::vector<SubConfig> out;
    for (const auto& e : pending_) out.push_back(e.config);
    if (out.empty()) drawn_ = samples_;  // nothing feasible left to find: stop
    return out;
  }
  void tell(const std::vector<double>& fitness) override {
    if (fitness.size() != pending_.size()) throw std::invalid_argument("random: tell() got the wrong number of values");
    for (std::size_t i = 0; i < fitness.size(); ++i) {
      pending_[i].fitness = fitness[i];
      scored_.push_back(pending_[i]);
    }
    pending_.clear();
    ++iteration_;
  }
  bool done() const override { return drawn_ >= samples_; }
  std::vector<Evaluation> results() const override {
    auto r = scored_;
    std::stable_sort(r.begin(), r.end(), [](const Evaluation& a, const Evaluation& b) { return a.fitness < b.fitness; });
    return r;
  }
  int iteration() const override { return iteration_; }
  int iterations() const override { return (samples_ + batch_ - 1) / batch_; }

 private:
  StrategyContext context_;
  Rng rng_;
  int samples_ = 0, batch_ = 0, max_tries_ = 0, drawn_ = 0, iteration_ = 0;
  std::set<std::string> seen_;
  std::vector<Evaluation> pending_, scored_;
};

class EvolutionStrategy : public Strategy {
 public:
  explicit EvolutionStrategy(const StrategyContext& c) : search_(c.space, options(c), c.checker, c.seed) {}
  std::string name() const override { return "evo"; }
  std::vector<SubConfig> ask() override { return search_.ask(); }
  void tell(const std::vector<double>& fitness) override { search_.tell(fitness); }
  bool done() const override { return search_.done(); }
  std::vector<Evaluation> results() const override {
    std::vector<Evaluation> r;
    for (const auto& s : search_.ranked()) r.push_back({s.config, s.fitness, s.check});
    return r;
  }
  int iteration() const override { return search_.iteration(); }
  int iterations() const override { return iterations_; }

 private:
  EvolutionOptions options(const StrategyContext& c) {
    StrategySettings left = c.settings;
    EvolutionOptions o;
    o.population = static_cast<int>(take_setting(left, "population", o.population));
    o.parents = static_cast<int>(take_setting(left, "parents", o.parents));
    o.mutations = static_cast<int>(take_setting(left, "mutations", o.mutations));
    o.crossovers = static_cast<int>(take_setting(left, "crossovers", o.crossovers));
    o.mutation_prob = take_setting(left, "mutation_prob", o.mutation_prob);
    o.iterations = static_cast<int>(take_setting(left, "iterations", o.iterations));
    o.max_tries = static_cast<int>(take_setting(left, "max_tries", o.max_tries));
    check_settings_used(left, "evo");
    iterations_ = o.iterations;
    return o;
  }
  int iterations_ = 0;
  EvolutionSearch search_;
};

}  // namespace

std::unique_ptr<Strategy> make_random_search(const StrategyContext& context) { return std::make_unique<RandomSearch>(context); }
std::unique_ptr<Strategy> make_evolution_strategy(const StrategyContext& context) {
  return std::make_unique<EvolutionStrategy>(context);
}

}  // namespace thanos
