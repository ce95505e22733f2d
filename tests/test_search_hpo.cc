// The two-level search hpo-evo and its parts (docs/SEARCH_HPO.md): the Study, the TPE sampler,
// the narrowed trial spaces, pruning and the strategy itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "search_test_util.h"
#include "test_util.h"
#include "thanos/model/cost_model.h"
#include "thanos/search/hpo_evolution.h"
#include "thanos/search/study.h"
#include "thanos/search/tpe_sampler.h"
#include "thanos/space/sampler.h"

namespace thanos {
namespace {

// ---- Study ----

TEST(TpeStudy, LifecycleBestTrialAndRefusals) {
  Study study;
  EXPECT_FALSE(study.best_trial().has_value());
  const int a = study.start({{"x", 1}});
  const int b = study.start({{"x", 2}});
  const int c = study.start({{"x", 3}});
  const int d = study.start({{"x", 4}});
  const int e = study.start({{"x", 5}});
  EXPECT_EQ(a, 0);
  EXPECT_EQ(e, 4);
  study.complete(a, 2.5, 10);
  study.complete(b, 1.5, 7);
  study.prune(c, "too big", -1, 3.25);
  study.complete(d, std::nan(""), 4);  // Optuna: a NaN objective is a failure
  EXPECT_EQ(study.trial(d).state, TrialState::kFailed);
  EXPECT_EQ(study.trial(d).evaluations, 4);
  EXPECT_EQ(study.trial(e).state, TrialState::kRunning);
  EXPECT_EQ(study.count(TrialState::kComplete), 2);
  EXPECT_EQ(study.count(TrialState::kPruned), 1);
  ASSERT_TRUE(study.best_trial().has_value());
  EXPECT_EQ(study.best_trial()->number, b);
  // A finished trial cannot be closed again; the message says its state.
  const std::string msg = testing::invalid_argument_message([&] { study.complete(c, 1.0, 1); });
  EXPECT_NE(msg.find("pruned"), std::string::npos) << msg;
  EXPECT_THROW(study.fail(17, "no such trial", 0), std::invalid_argument);
  // The text form is fixed and full precision.
  study.set_attr(b, "best_config", "abc");
  EXPECT_EQ(study.trial(b).summary(), "trial 1 complete value=1.5 evaluations=7 params{x=2} attrs{best_config=abc}");
  EXPECT_EQ(study.trial(c).summary(),
            "trial 2 pruned evaluations=0 params{x=3} latency_excess_ms=-1 memory_excess_mb=3.25 note=too big");
  for (TrialState s : {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFailed}) {
    EXPECT_EQ(trial_state_from_string(to_string(s)), s);
  }
  EXPECT_THROW(trial_state_from_string("done"), std::invalid_argument);
}

// ---- TPE ----

TEST(Tpe, GammaAndWeightsMatchOptunasDefaults) {
  // gamma(n) = min(ceil(0.1 n), 25), by hand.
  EXPECT_EQ(tpe_gamma(0), 0);
  EXPECT_EQ(tpe_gamma(1), 1);
  EXPECT_EQ(tpe_gamma(10), 1);
  EXPECT_EQ(tpe_gamma(11), 2);
  EXPECT_EQ(tpe_gamma(100), 10);
  EXPECT_EQ(tpe_gamma(241), 25);
  EXPECT_EQ(tpe_gamma(1000), 25);
  EXPECT_EQ(tpe_weights(3), std::vector<double>(3, 1.0));
  EXPECT_EQ(tpe_weights(25), std::vector<double>(25, 1.0));
  // numpy.linspace(1/27, 1, 2) = [1/27, 1], then 25 ones.
  const auto w = tpe_weights(27);
  ASSERT_EQ(w.size(), 27u);
  EXPECT_DOUBLE_EQ(w[0], 1.0 / 27);
  EXPECT_DOUBLE_EQ(w[1], 1.0);
  EXPECT_DOUBLE_EQ(w[26], 1.0);
}

TEST(Tpe, SplitRanksCompleteThenPrunedAndSkipsFailedAndRunning) {
  Study study;
  // 9 complete trials with values 9, 8, ..., 1 (trial 8 is the best, trial 7 the second best).
  for (int i = 0; i < 9; ++i) study.complete(study.start({{"x", i}}), 9.0 - i, 1);
  study.prune(study.start({{"x", 0}}), "over", 0, 5);   // trial 9: misses by 5
  study.prune(study.start({{"x", 0}}), "over", 2, -1);  // trial 10: misses by 2
  study.fail(study.start({{"x", 0}}), "crashed", 0);    // trial 11: left out
  study.start({{"x", 0}});                              // trial 12: running, left out
  // 11 finished trials -> gamma = ceil(1.1) = 2 good ones: the two best complete trials.
  TpeSplit s = tpe_split(study);
  EXPECT_EQ(s.below, (std::vector<int>{7, 8}));
  EXPECT_EQ(s.above, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 9, 10}));
  // With one complete trial, the rest of the good group comes from the pruned trials that miss
  // the budgets by the least.
  Study few;
  few.complete(few.start({{"x", 0}}), 3.0, 1);
  for (int i = 0; i < 10; ++i) few.prune(few.start({{"x", 0}}), "over", 0, 10.0 - i);  // trial 10 misses least
  s = tpe_split(few);
  EXPECT_EQ(s.below, (std::vector<int>{0, 10}));
  EXPECT_EQ(s.above.size(), 9u);
}

TEST(Tpe, ParzenEstimatorOfCategoriesByHand) {
  // Two observations of category 0 among 3, prior weight 1: three kernels of weight 1/3 each;
  // an observation's kernel is (1 + 1/3, 1/3, 1/3) / 2, the prior's (1/3, 1/3, 1/3).
  const auto p = parzen_categorical({0, 0}, 3, 1.0);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_NEAR(p[0], 5.0 / 9, 1e-15);
  EXPECT_NEAR(p[1], 2.0 / 9, 1e-15);
  EXPECT_NEAR(p[2], 2.0 / 9, 1e-15);
  // No observation: the prior alone, uniform.
  for (double x : parzen_categorical({}, 4, 1.0)) EXPECT_DOUBLE_EQ(x, 0.25);
  EXPECT_THROW(parzen_categorical({3}, 3, 1.0), std::invalid_argument);
}

// A separable objective over 8 x 8 x 6 = 384 categorical points with its unique optimum 0 at
// a=5, b=2, c=3.
std::vector<CategoricalParam> synthetic_params() {
  return {{"a", {0, 1, 2, 3, 4, 5, 6, 7}}, {"b", {0, 1, 2, 3, 4, 5, 6, 7}}, {"c", {0, 1, 2, 3, 4, 5}}};
}
double synthetic_objective(const std::map<std::string, int>& p) {
  return std::abs(p.at("a") - 5) + 0.5 * std::abs(p.at("b") - 2) + 0.3 * std::pow(p.at("c") - 3, 2);
}

// Trials until the optimum is proposed (at most `cap`).
int trials_to_optimum(int startup, std::uint64_t seed, int cap) {
  TpeOptions o;
  o.n_startup_trials = startup;
  TpeSampler sampler(synthetic_params(), o, seed);
  Study study;
  for (int i = 0; i < cap; ++i) {
    const auto params = sampler.sample(study);
    const double v = synthetic_objective(params);
    study.complete(study.start(params), v, 1);
    if (v == 0) return i + 1;
  }
  return cap;
}

TEST(Tpe, ReachesTheOptimumInFewerTrialsThanRandom) {
  // Random = the same sampler that never leaves its startup phase. Over seeds 1..10 (capped at
  // 400 trials) TPE needed 94 trials on average and random 270 when this test was written.
  double tpe = 0, random = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    tpe += trials_to_optimum(10, seed, 400);
    random += trials_to_optimum(1 << 30, seed, 400);
  }
  EXPECT_LT(tpe, 0.5 * random) << "TPE " << tpe / 10 << " vs random " << random / 10 << " trials on average";
}

TEST(Tpe, SameSeedSameProposalsAndBadTrialsAreRefused) {
  auto run = [](std::uint64_t seed) {
    TpeOptions o;
    o.n_startup_trials = 5;
    TpeSampler sampler(synthetic_params(), o, seed);
    Study study;
    std::vector<std::map<std::string, int>> proposals;
    for (int i = 0; i < 30; ++i) {
      proposals.push_back(sampler.sample(study));
      study.complete(study.start(proposals.back()), synthetic_objective(proposals.back()), 1);
    }
    return proposals;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
  // A finished trial whose value is not one of the choices is named in the error.
  TpeOptions o;
  o.n_startup_trials = 0;
  TpeSampler sampler(synthetic_params(), o, 1);
  Study study;
  study.complete(study.start({{"a", 5}, {"b", 9}, {"c", 0}}), 1.0, 1);
  const std::string msg = testing::invalid_argument_message([&] { sampler.sample(study); });
  EXPECT_NE(msg.find("\"b\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("got 9"), std::string::npos) << msg;
  o.n_ei_candidates = 0;
  const std::string opt = testing::invalid_argument_message([&] { TpeSampler(synthetic_params(), o, 1); });
  EXPECT_NE(opt.find("n_ei_candidates"), std::string::npos) << opt;
  EXPECT_THROW(TpeSampler({{"a", {}}}, TpeOptions{}, 1), std::invalid_argument);
}

// ---- hpo-evo ----

using testing::analytic_memory;

// Fitness: how far a config is from the space's largest member (each gene's log2 ratio, layer
// counts x 2), as tests/test_search.cc's synthetic loss.
double distance_to_largest(const SubConfig& a, const SubConfig& t) {
  auto gap = [](int x, int y) { return std::abs(std::log2(static_cast<double>(x) / y)); };
  double d = gap(a.encoder_embed_dim, t.encoder_embed_dim) + gap(a.decoder_embed_dim, t.decoder_embed_dim);
  d += 2.0 * std::abs(a.encoder_layer_num() - t.encoder_layer_num()) +
       2.0 * std::abs(a.decoder_layer_num() - t.decoder_layer_num());
  for (int i = 0; i < std::min(a.encoder_layer_num(), t.encoder_layer_num()); ++i) {
    d += gap(a.encoder_layers[i].ffn_dim, t.encoder_layers[i].ffn_dim) +
         gap(a.encoder_layers[i].self_qkv_dim, t.encoder_layers[i].self_qkv_dim);
  }
  for (int i = 0; i < std::min(a.decoder_layer_num(), t.decoder_layer_num()); ++i) {
    d += gap(a.decoder_layers[i].ffn_dim, t.decoder_layers[i].ffn_dim) +
         gap(a.decoder_layers[i].self_qkv_dim, t.decoder_layers[i].self_qkv_dim) +
         gap(a.decoder_layers[i].ende_qkv_dim, t.decoder_layers[i].ende_qkv_dim);
  }
  return d;
}

TEST(HpoEvo, OuterParametersAndNarrowedSpaces) {
  SearchSpace space = testing::tiny_space();
  space.encoder_self_qkv_choices = {32, 24, 16, 12};
  space.encoder_self_heads_choices = {16};  // only 16 and 32 are divisible by 16
  space.validate();
  HpoEvolutionOptions o;
  const auto params = hpo_parameters(space, o);
  std::map<std::string, std::vector<int>> by_name;
  for (const auto& p : params) by_name[p.name] = p.choices;
  EXPECT_EQ(by_name.at(kHpoEncoderSelfQkv), (std::vector<int>{16, 32}));
  EXPECT_EQ(by_name.at(kHpoDecoderSelfQkv), (std::vector<int>{16, 24, 32}));
  EXPECT_EQ(by_name.at(kHpoDecoderLayersCap), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(by_name.at(kHpoEncoderEmbedCap), (std::vector<int>{16, 24, 32}));
  EXPECT_EQ(by_name.size(), 6u);
  o.cap_encoder_embed = o.cap_decoder_embed = false;
  EXPECT_EQ(hpo_parameters(space, o).size(), 4u);

  const SearchSpace tiny = testing::tiny_space();
  const SearchSpace n =
      narrow_space(tiny, {{kHpoDecoderSelfQkv, 24}, {kHpoDecoderLayersCap, 2}, {kHpoEncoderEmbedCap, 24}});
  EXPECT_EQ(n.decoder_self_qkv_choices, (std::vector<int>{24}));
  EXPECT_EQ(n.decoder_layer_num_choices, (std::vector<int>{2, 1}));
  EXPECT_EQ(n.encoder_embed_choices, (std::vector<int>{24, 16}));
  EXPECT_EQ(n.encoder_self_qkv_choices, tiny.encoder_self_qkv_choices);  // absent: untouched
  // A value outside the space's choices empties a list; the error names its key.
  const std::string msg = testing::invalid_argument_message([&] { narrow_space(tiny, {{kHpoEncoderEmbedCap, 8}}); });
  EXPECT_NE(msg.find("encoder-embed-choice"), std::string::npos) << msg;
}

TEST(HpoEvo, ProjectionGivesTheNearestMemberOfANarrowedSpace) {
  const SearchSpace tiny = testing::tiny_space();
  const SearchSpace n = narrow_space(
      tiny, {{kHpoEncoderSelfQkv, 16}, {kHpoDecoderEndeQkv, 24}, {kHpoDecoderLayersCap, 1}, {kHpoDecoderEmbedCap, 16}});
  for (const auto& c : sample_configs(tiny, 2, 50)) {
    const SubConfig p = project_config(c, n);
    ASSERT_TRUE(n.contains(p)) << c.summary() << " -> " << p.summary();
    EXPECT_EQ(p.encoder_embed_dim, c.encoder_embed_dim);  // not narrowed: kept
    EXPECT_EQ(p.decoder_layer_num(), 1);
    EXPECT_EQ(p.decoder_layers[0].ffn_dim, c.decoder_layers[0].ffn_dim);
  }
  // A member of the narrowed space projects onto itself.
  for (const auto& c : sample_configs(n, 3, 20)) EXPECT_EQ(project_config(c, n), c);
}

// Runs a strategy to the end with the synthetic fitness; checks that every asked config is
// feasible, in the space and asked once. Returns the asked hashes in order.
std::vector<std::string> drive(Strategy& s, const SearchSpace& space, const EvolutionSearch::Checker& checker) {
  const SubConfig largest = space.largest();
  std::vector<std::string> asked;
  std::set<std::string> seen;
  while (!s.done()) {
    const auto batch = s.ask();
    std::vector<double> f;
    for (const auto& c : batch) {
      EXPECT_TRUE(space.contains(c));
      EXPECT_TRUE(checker(c).feasible) << "an infeasible config was asked for";
      EXPECT_TRUE(seen.insert(c.hash_hex()).second) << "a config was asked twice";
      asked.push_back(c.hash_hex());
      f.push_back(distance_to_largest(c, largest));
    }
    s.tell(f);
  }
  return asked;
}

TEST(HpoEvo, PrunesTrialsThatCannotFitBeforeAnyEvaluation) {
  const SearchSpace space = testing::tiny_space();
  const auto costs = analytic_memory(space);
  // Budget between the space's smallest member and the smallest one with every QKV width at 32:
  // wide-QKV trials cannot fit and must be pruned.
  const SubConfig wide =
      narrow_space(space, {{kHpoEncoderSelfQkv, 32}, {kHpoDecoderSelfQkv, 32}, {kHpoDecoderEndeQkv, 32}}).smallest();
  Budgets budgets;
  budgets.memory_mib = 0.5 * (costs(space.smallest()).memory_mib + costs(wide).memory_mib);
  ASSERT_FALSE(check_constraints(costs(wide), budgets).feasible);
  require_something_fits(space, costs, budgets);
  const EvolutionSearch::Checker checker = [&](const SubConfig& c) { return check_constraints(costs(c), budgets); };
  HpoEvolutionOptions o;
  o.trials = 12;
  o.tpe.n_startup_trials = 6;
  HpoEvolution search(space, o, checker, 5);
  const auto asked = drive(search, space, checker);

  const Study& study = *search.study();
  EXPECT_EQ(study.count(TrialState::kComplete), 12);
  EXPECT_EQ(study.count(TrialState::kRunning), 0);
  ASSERT_GT(study.count(TrialState::kPruned), 0) << "no trial was pruned; the budget test is void";
  int evaluations = 0;
  for (const auto& t : study.trials()) {
    evaluations += t.evaluations;
    const bool fits = checker(narrow_space(space, t.params).smallest()).feasible;
    if (t.state == TrialState::kPruned) {
      EXPECT_FALSE(fits) << t.summary();
      EXPECT_EQ(t.evaluations, 0);
      EXPECT_GT(t.memory_excess_mib, 0) << t.summary();
      EXPECT_NE(t.note.find("MiB"), std::string::npos) << t.note;
    } else {
      EXPECT_TRUE(fits) << t.summary();
      EXPECT_EQ(t.attrs.count("best_config"), 1u);
    }
  }
  EXPECT_EQ(evaluations, static_cast<int>(asked.size()));  // every evaluation belongs to a trial
  EXPECT_EQ(search.evaluations(), static_cast<int>(asked.size()));
  // Results: everything scored, best first, and the best is the best trial's value.
  const auto results = search.results();
  ASSERT_EQ(results.size(), asked.size());
  for (std::size_t i = 1; i < results.size(); ++i) EXPECT_LE(results[i - 1].fitness, results[i].fitness);
  EXPECT_DOUBLE_EQ(results.front().fitness, study.best_trial()->value);
  EXPECT_EQ(results.front().config.hash_hex(), study.best_trial()->attrs.at("best_config"));
  EXPECT_TRUE(results.front().check.feasible);
}

TEST(HpoEvo, SameSeedSameSearchAndTrialHistory) {
  const SearchSpace space = testing::tiny_space();
  const EvolutionSearch::Checker checker = [](const SubConfig&) { return ConstraintCheck{}; };
  HpoEvolutionOptions o;
  o.trials = 6;
  o.tpe.n_startup_trials = 3;
  auto run = [&](std::uint64_t seed, std::vector<std::string>* history) {
    HpoEvolution s(space, o, checker, seed);
    auto asked = drive(s, space, checker);
    for (const auto& t : s.study()->trials()) history->push_back(t.summary());
    return asked;
  };
  std::vector<std::string> h1, h2, h3;
  EXPECT_EQ(run(7, &h1), run(7, &h2));
  EXPECT_EQ(h1, h2);
  EXPECT_NE(run(8, &h3), run(7, &h2));
}

TEST(HpoEvo, SettingsAreReadAndUnknownOnesRefused) {
  StrategyContext ctx;
  ctx.space = testing::tiny_space();
  ctx.checker = [](const SubConfig&) { return ConstraintCheck{}; };
  ctx.settings = {{"trials", 3},           {"inner_population", 10}, {"inner_parents", 2},  {"inner_mutations", 4},
                  {"inner_crossovers", 4}, {"inner_iterations", 2},  {"startup_trials", 2}, {"cap_encoder_embed", 0}};
  auto s = make_strategy("hpo-evo", ctx);
  EXPECT_EQ(s->name(), "hpo-evo");
  EXPECT_EQ(s->iterations(), 3);
  ctx.settings = {{"trails", 3}};
  const std::string typo = testing::invalid_argument_message([&] { make_strategy("hpo-evo", ctx); });
  EXPECT_NE(typo.find("trails"), std::string::npos) << typo;
  ctx.settings = {{"trials", 2.5}};
  const std::string frac = testing::invalid_argument_message([&] { make_strategy("hpo-evo", ctx); });
  EXPECT_NE(frac.find("trials"), std::string::npos) << frac;
  ctx.settings = {{"cap_decoder_layers", 2}};
  EXPECT_THROW(make_strategy("hpo-evo", ctx), std::invalid_argument);
  ctx.settings = {{"inner_parents", 6}};  // 6 + 8 + 7 != 20
  EXPECT_THROW(make_strategy("hpo-evo", ctx), std::invalid_argument);
}

TEST(HpoEvo, WarmStartMembersJoinTheFirstGenerationWhenTheyFit) {
  const SearchSpace space = testing::tiny_space();
  const SubConfig big = space.largest(), small = space.smallest();
  SubConfig outside = small;
  outside.encoder_embed_dim = 8;  // not a choice
  // Only the largest member is infeasible.
  const EvolutionSearch::Checker checker = [&](const SubConfig& c) {
    ConstraintCheck k;
    k.feasible = !(c == big);
    return k;
  };
  EvolutionOptions o;
  o.population = 10;
  o.parents = 2;
  o.mutations = 4;
  o.crossovers = 4;
  EvolutionSearch s(space, o, checker, 1, {big, outside, small, small});
  const auto first = s.ask();
  ASSERT_EQ(first.size(), 10u);
  EXPECT_EQ(first.front(), small);  // given members come first, once
  for (const auto& c : first) EXPECT_NE(c, big);
  EXPECT_EQ(std::count(first.begin(), first.end(), small), 1);
}

}  // namespace
}  // namespace thanos
