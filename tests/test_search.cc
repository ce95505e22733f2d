// Search building blocks (docs/SEARCH.md): genomes, constraints, HAT's evolution.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

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

CostModel analytic_memory(const SearchSpace& space) {
  return [space](const SubConfig& c) {
    CostEstimate e;
    InferenceShape shape;
    shape.vocab_size = 1000;
    e.memory_mb = estimate_inference_memory(c, space.hyper, shape).total_mib();
    e.latency_ms = 1.0 * c.decoder_layer_num();
    return e;
  };
}

TEST(Constraints, ViolationsAreAmountsAndMarginsCount) {
  CostEstimate e;
  e.latency_ms = 90;
  e.latency_error_ms = 5;
  e.memory_mb = 100;
  Budgets b;
  b.latency_ms = 100;
  b.memory_mb = 120;
  b.margin_errors = 1;
  auto c = check_constraints(e, b);
  EXPECT_TRUE(c.feasible);
  EXPECT_DOUBLE_EQ(c.latency_excess_ms, -5);
  EXPECT_DOUBLE_EQ(c.memory_excess_mb, -20);
  b.margin_errors = 3;  // 90 + 15 > 100
  c = check_constraints(e, b);
  EXPECT_FALSE(c.feasible);
  EXPECT_DOUBLE_EQ(c.latency_excess_ms, 5);
}

TEST(Constraints, NothingFitsIsSaidUpFront) {
  const SearchSpace space = testing::tiny_space();
  const auto costs = analytic_memory(space);
  const double smallest = costs(space.smallest()).memory_mb;
  Budgets b;
  b.memory_mb = smallest * 0.99;
  const std::string msg = testing::invalid_argument_message([&] { require_something_fits(space, costs, b); });
  EXPECT_NE(msg.find("nothing in the search space"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MiB"), std::string::npos) << msg;
  b.memory_mb = smallest * 1.01;
  EXPECT_NO_THROW(require_something_fits(space, costs, b));
}

// A synthetic fitness with a known optimum: how far each gene of the active config is from a
// target config's (0 only at the target). Graded per gene, as a real loss is, not all-or-nothing.
double distance(const SubConfig& a, const SubConfig& t) {
  auto gap = [](int x, int y) { return std::abs(std::log2(static_cast<double>(x) / y)); };
  double d = gap(a.encoder_embed_dim, t.encoder_embed_dim) + gap(a.decoder_embed_dim, t.decoder_embed_dim);
  d += 2.0 * std::abs(a.encoder_layer_num() - t.encoder_layer_num()) + 2.0 * std::abs(a.decoder_layer_num() - t.decoder_layer_num());
  for (int i = 0; i < std::min(a.encoder_layer_num(), t.encoder_layer_num()); ++i) {
    const auto &x = a.encoder_layers[i], &y = t.encoder_layers[i];
    d += gap(x.ffn_dim, y.ffn_dim) + gap(x.self_heads, y.self_heads) + gap(x.self_qkv_dim, y.self_qkv_dim);
  }
  for (int i = 0; i < std::min(a.decoder_layer_num(), t.decoder_layer_num()); ++i) {
    const auto &x = a.decoder_layers[i], &y = t.decoder_layers[i];
    d += gap(x.ffn_dim, y.ffn_dim) + gap(x.self_heads, y.self_heads) + gap(x.self_qkv_dim, y.self_qkv_dim) +
         gap(x.ende_heads, y.ende_heads) + gap(x.ende_qkv_dim, y.ende_qkv_dim) + gap(x.ende_attn_layers, y.ende_attn_layers);
  }
  return d;
}

TEST(Evolution, FindsTheKnownOptimumAndNeverScoresInfeasibleConfigs) {
  const SearchSpace space = testing::tiny_space();
  const auto costs = analytic_memory(space);
  const SubConfig target = sample_configs(space, 21, 1).front();
  Budgets budgets;
  budgets.memory_mb = costs(target).memory_mb * 1.05;  // the target fits; the largest does not
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
