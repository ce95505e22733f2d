// Search building blocks (docs/SEARCH.md): genomes, constraints, HAT's evolution.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "search_test_util.h"
#include "test_util.h"
#include "thanos/model/cost_model.h"
#include "thanos/search/evolution.h"
#include "thanos/space/sampler.h"

namespace thanos {
namespace {

TEST(Genome, OperatorsAlwaysGiveMembersOfTheSpace) {
  const SearchSpace space = testing::tiny_space();
  Rng rng(5);
  Genome a = random_genome(space, rng), b = random_genome(space, rng);
  for (int i = 0; i < 500; ++i) {
    EXPECT_TRUE(space.contains(a.config()));
    EXPECT_TRUE(space.contains(b.config()));
    Genome m = mutate(a, space, 0.3, rng);
    Genome c = crossover(a, b, space, rng);
    ASSERT_TRUE(space.contains(m.config())) << m.config().summary();
    ASSERT_TRUE(space.contains(c.config())) << c.config().summary();
    a = m;
    b = c;
  }
  // A config's genome gives the config back.
  for (const auto& c : sample_configs(space, 9, 20)) EXPECT_EQ(genome_of(c, space, rng).config(), c);
}

TEST(Genome, EncoderDepthsThatNoAttendedDepthFitsAreNeverDrawn) {
  // Depths 1..3 offered, but every decoder layer attends 2 or 3 encoder layers: a 1-layer encoder
  // has no members. Drawing it once made the operators fail on an empty choice list.
  SearchSpace space = testing::tiny_space();
  space.encoder_layer_num_choices = {1, 2, 3};
  space.decoder_ende_layers_choices = {2, 3};
  space.validate();
  EXPECT_EQ(space.encoder_depths_with_members(), (std::vector<int>{2, 3}));
  Rng rng(6);
  Genome a = random_genome(space, rng), b = random_genome(space, rng);
  std::set<int> depths;
  for (int i = 0; i < 300; ++i) {
    Genome m = mutate(a, space, 0.5, rng);
    Genome c = crossover(a, b, space, rng);
    ASSERT_TRUE(space.contains(m.config())) << m.config().summary();
    ASSERT_TRUE(space.contains(c.config())) << c.config().summary();
    depths.insert(m.encoder_layer_num);
    a = m;
    b = c;
  }
  EXPECT_EQ(depths, (std::set<int>{2, 3}));
  for (const auto& c : sample_configs(space, 3, 200)) ASSERT_TRUE(space.contains(c)) << c.summary();
  EXPECT_TRUE(space.contains(space.smallest()));
  EXPECT_EQ(space.smallest().encoder_layer_num(), 2);
  EXPECT_TRUE(space.contains(space.largest()));
}

TEST(Genome, MutationRateAndCrossoverInheritance) {
  const SearchSpace space = testing::tiny_space();
  Rng rng(11);
  const Genome a = random_genome(space, rng);
  // Probability 0: nothing changes; crossover of a genome with itself is itself.
  EXPECT_EQ(mutate(a, space, 0.0, rng).config(), a.config());
  EXPECT_EQ(crossover(a, a, space, rng).config(), a.config());
  // Every gene of a child comes from one of its parents.
  const Genome b = random_genome(space, rng);
  for (int i = 0; i < 100; ++i) {
    const Genome c = crossover(a, b, space, rng);
    EXPECT_TRUE(c.encoder_embed_dim == a.encoder_embed_dim || c.encoder_embed_dim == b.encoder_embed_dim);
    for (std::size_t k = 0; k < c.decoder_layers.size(); ++k) {
      const int f = c.decoder_layers[k].ffn_dim;
      EXPECT_TRUE(f == a.decoder_layers[k].ffn_dim || f == b.decoder_layers[k].ffn_dim);
    }
  }
}

using testing::analytic_memory;
using testing::distance;

TEST(Constraints, ViolationsAreAmountsAndMarginsCount) {
  CostEstimate e;
  e.latency_ms = 90;
  e.latency_error_ms = 5;
  e.memory_mib = 100;
  Budgets b;
  b.latency_ms = 100;
  b.memory_mib = 120;
  b.margin_errors = 1;
  auto c = check_constraints(e, b);
  EXPECT_TRUE(c.feasible);
  EXPECT_DOUBLE_EQ(c.latency_excess_ms, -5);
  EXPECT_DOUBLE_EQ(c.memory_excess_mib, -20);
  b.margin_errors = 3;  // 90 + 15 > 100
  c = check_constraints(e, b);
  EXPECT_FALSE(c.feasible);
  EXPECT_DOUBLE_EQ(c.latency_excess_ms, 5);
}

TEST(Constraints, NothingFitsIsSaidUpFront) {
  const SearchSpace space = testing::tiny_space();
  const auto costs = analytic_memory(space);
  const double smallest = costs(space.smallest()).memory_mib;
  Budgets b;
  b.memory_mib = smallest * 0.99;
  const std::string msg = testing::invalid_argument_message([&] { require_something_fits(space, costs, b); });
  EXPECT_NE(msg.find("nothing in the search space"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MiB"), std::string::npos) << msg;
  b.memory_mib = smallest * 1.01;
  EXPECT_NO_THROW(require_something_fits(space, costs, b));
}

TEST(Evolution, FindsTheKnownOptimumAndNeverScoresInfeasibleConfigs) {
  const SearchSpace space = testing::tiny_space();
  const auto costs = analytic_memory(space);
  const SubConfig target = sample_configs(space, 21, 1).front();
  Budgets budgets;
  budgets.memory_mib = costs(target).memory_mib * 1.05;  // the target fits; the largest does not
  ASSERT_FALSE(check_constraints(costs(space.largest()), budgets).feasible);
  require_something_fits(space, costs, budgets);
  EvolutionOptions o;
  o.population = 40;
  o.parents = 10;
  o.mutations = 15;
  o.crossovers = 15;
  o.iterations = 60;
  o.mutation_prob = 0.1;
  EvolutionSearch search(space, o, [&](const SubConfig& c) { return check_constraints(costs(c), budgets); }, 3);
  int scored = 0;
  while (!search.done()) {
    const auto asked = search.ask();
    std::vector<double> fitness;
    for (const auto& c : asked) {
      ASSERT_TRUE(space.contains(c));
      ASSERT_TRUE(check_constraints(costs(c), budgets).feasible) << "an infeasible config was asked for";
      fitness.push_back(distance(c, target));
    }
    scored += static_cast<int>(asked.size());
    search.tell(fitness);
  }
  const auto best = search.ranked().front();
  EXPECT_EQ(best.fitness, 0) << best.config.summary() << " vs " << target.summary();
  EXPECT_EQ(best.config, target);
  EXPECT_EQ(search.evaluations(), scored);  // every config scored once (cache by hash)
}

TEST(Evolution, SameSeedSameSearch) {
  const SearchSpace space = testing::tiny_space();
  const SubConfig target = space.largest();
  EvolutionOptions o;
  o.population = 20;
  o.parents = 5;
  o.mutations = 8;
  o.crossovers = 7;
  o.iterations = 5;
  auto run = [&](std::uint64_t seed) {
    EvolutionSearch s(space, o, [](const SubConfig&) { return ConstraintCheck{}; }, seed);
    std::vector<std::string> trace;
    while (!s.done()) {
      const auto asked = s.ask();
      std::vector<double> f;
      for (const auto& c : asked) {
        trace.push_back(c.hash_hex());
        f.push_back(distance(c, target));
      }
      s.tell(f);
    }
    return trace;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
  EvolutionOptions bad = o;
  bad.parents = 6;  // 6 + 8 + 7 != 20
  EXPECT_THROW(EvolutionSearch(space, bad, [](const SubConfig&) { return ConstraintCheck{}; }, 1), std::invalid_argument);
}

}  // namespace
}  // namespace thanos

#include "thanos/search/strategy.h"

namespace thanos {
namespace {

using testing::micro_space;

class EveryStrategy : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryStrategy, FindsTheKnownOptimumUnderAMemoryBudget) {
  const SearchSpace space = micro_space();
  const auto costs = analytic_memory(space);
  // The optimum of the fitness alone (the largest member) must not fit; the reference optimum is
  // found by enumerating every member of the space.
  const SubConfig largest = space.largest();
  Budgets budgets;
  budgets.memory_mib = 0.5 * (costs(largest).memory_mib + costs(space.smallest()).memory_mib);
  ASSERT_FALSE(check_constraints(costs(largest), budgets).feasible);
  double optimum = 1e30;
  const auto members = testing::micro_space_members(space);
  for (const auto& c : members) {
    if (check_constraints(costs(c), budgets).feasible) optimum = std::min(optimum, distance(c, largest));
  }
  ASSERT_EQ(BigUInt(static_cast<std::uint64_t>(members.size())).to_string(), space.size().to_string());
  StrategyContext ctx;
  ctx.space = space;
  ctx.checker = [&](const SubConfig& c) { return check_constraints(costs(c), budgets); };
  ctx.seed = 4;
  if (GetParam() == "evo") ctx.settings = {{"population", 20}, {"parents", 5}, {"mutations", 8}, {"crossovers", 7}, {"iterations", 15}};
  if (GetParam() == "random") ctx.settings = {{"samples", 400}};
  if (GetParam() == "hpo-evo") ctx.settings = {{"trials", 20}, {"startup_trials", 10}};
  if (GetParam() == "nsga2") ctx.settings = {{"population", 20}, {"iterations", 15}};
  auto strategy = make_strategy(GetParam(), ctx);
  // Fitness: distance to the largest member (a "bigger is better" loss).
  while (!strategy->done()) {
    const auto asked = strategy->ask();
    std::vector<double> f;
    for (const auto& c : asked) {
      EXPECT_TRUE(ctx.checker(c).feasible);
      f.push_back(distance(c, largest));
    }
    strategy->tell(f);
  }
  const auto best = strategy->results().front();
  EXPECT_DOUBLE_EQ(best.fitness, optimum) << best.config.summary();
  EXPECT_TRUE(best.check.feasible);
}

INSTANTIATE_TEST_SUITE_P(Search, EveryStrategy, ::testing::ValuesIn(strategy_names()));

TEST(StrategyRegistry, UnknownNamesAndSettingsAreRefused) {
  StrategyContext ctx;
  ctx.space = micro_space();
  ctx.checker = [](const SubConfig&) { return ConstraintCheck{}; };
  const std::string msg = testing::invalid_argument_message([&] { make_strategy("annealing", ctx); });
  EXPECT_NE(msg.find("evo"), std::string::npos) << msg;
  ctx.settings = {{"populaton", 10}};
  const std::string typo = testing::invalid_argument_message([&] { make_strategy("evo", ctx); });
  EXPECT_NE(typo.find("populaton"), std::string::npos) << typo;
}

}  // namespace
}  // namespace thanos
