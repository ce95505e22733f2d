// Multi-objective search (docs/SEARCH.md): Pareto fronts, NSGA-II ranking and the hypervolume
// (pagmo2's) against independent brute-force references, and the nsga2 strategy on a space small
// enough to enumerate its true front.
#include <gtest/gtest.h>

#include <set>

#include "search_test_util.h"
#include "thanos/search/nsga2.h"
#include "thanos/search/pareto.h"

namespace thanos {
namespace {

using testing::analytic_memory;
using testing::distance;
using testing::micro_space;

#define REQUIRE_PAGMO()                                                           \
  if (!multi_objective_available()) GTEST_SKIP() << "built without pagmo2 (THANOS_WITH_PAGMO)"

bool dominates(const ObjectiveVector& a, const ObjectiveVector& b) {
  bool strictly = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) strictly = true;
  }
  return strictly;
}

std::vector<std::size_t> brute_force_front(const std::vector<ObjectiveVector>& points) {
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < points.size() && !dominated; ++j) dominated = dominates(points[j], points[i]);
    if (!dominated) front.push_back(i);
  }
  return front;
}

// The volume of the union of the boxes [p, 1]^m by inclusion-exclusion: the intersection of the
// boxes of a subset is [max of its points, 1]. Exact, independent of pagmo's algorithms.
double inclusion_exclusion_volume(const std::vector<ObjectiveVector>& points) {
  const std::size_t n = points.size(), m = points.front().size();
  double total = 0;
  for (std::uint32_t subset = 1; subset < (1u << n); ++subset) {
    ObjectiveVector corner(m, 0.0);
    int size = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!(subset >> i & 1u)) continue;
      ++size;
      for (std::size_t k = 0; k < m; ++k) corner[k] = std::max(corner[k], points[i][k]);
    }
    double volume = 1;
    for (double c : corner) volume *= 1.0 - c;
    total += (size % 2 ? 1 : -1) * volume;
  }
  return total;
}

std::vector<ObjectiveVector> random_points(std::size_t n, std::size_t m, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<ObjectiveVector> points(n, ObjectiveVector(m));
  for (auto& p : points) {
    for (auto& v : p) v = 0.05 + 0.9 * rng.uniform01();
  }
  return points;
}

TEST(Pareto, FrontAndRanksMatchBruteForce) {
  REQUIRE_PAGMO();
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    auto points = random_points(40, 3, seed);
    points.push_back(points[3]);  // a duplicate: equal points do not dominate each other
    const auto front = pareto_front(points);
    EXPECT_EQ(front, brute_force_front(points)) << "seed " << seed;
    // Ranks: peel fronts off by brute force.
    const RankAndCrowding rc = rank_and_crowding(points);
    std::vector<std::size_t> left(points.size());
    for (std::size_t i = 0; i < left.size(); ++i) left[i] = i;
    for (std::size_t rank = 0; !left.empty(); ++rank) {
      std::vector<ObjectiveVector> rest;
      for (auto i : left) rest.push_back(points[i]);
      std::vector<std::size_t> next;
      const auto f = brute_force_front(rest);
      std::set<std::size_t> in_front(f.begin(), f.end());
      for (std::size_t k = 0; k < left.size(); ++k) {
        if (in_front.count(k)) {
          EXPECT_EQ(rc.rank[left[k]], rank) << "point " << left[k];
        } else {
          next.push_back(left[k]);
        }
      }
      left = next;
    }
    // NSGA-II's survivor selection takes whole fronts first.
    const auto best = select_best(points, front.size());
    EXPECT_EQ(std::set<std::size_t>(best.begin(), best.end()), std::set<std::size_t>(front.begin(), front.end()));
  }
}

TEST(Pareto, CrowdingDistanceByHand) {
  REQUIRE_PAGMO();
  // One front of four points on a line: the ends are infinitely far, the inner ones get the sum
  // over objectives of (next - previous) / (max - min), as in Deb et al.
  const std::vector<ObjectiveVector> points = {{0, 1}, {0.25, 0.5}, {0.75, 0.25}, {1, 0}};
  const RankAndCrowding rc = rank_and_crowding(points);
  EXPECT_TRUE(std::isinf(rc.crowding[0]));
  EXPECT_TRUE(std::isinf(rc.crowding[3]));
  EXPECT_NEAR(rc.crowding[1], (0.75 - 0) / 1 + (1 - 0.25) / 1, 1e-12);
  EXPECT_NEAR(rc.crowding[2], (1 - 0.25) / 1 + (0.5 - 0) / 1, 1e-12);
}

TEST(Pareto, HypervolumeMatchesInclusionExclusion) {
  REQUIRE_PAGMO();
  HypervolumeBounds unit{{"a", "b"}, {0, 0}, {1, 1}};
  // By hand: boxes 0.8 x 0.4 and 0.5 x 0.7 overlap in 0.5 x 0.4.
  EXPECT_NEAR(hypervolume({{0.2, 0.6}, {0.5, 0.3}}, unit), 0.32 + 0.35 - 0.20, 1e-12);
  for (std::size_t m : {2u, 3u}) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      const auto points = random_points(9, m, 100 * m + seed);
      HypervolumeBounds b;
      b.lower.assign(m, 0.0);
      b.reference.assign(m, 1.0);
      EXPECT_NEAR(hypervolume(points, b), inclusion_exclusion_volume(points), 1e-9) << "m=" << m << " seed " << seed;
    }
  }
}

TEST(Pareto, HypervolumeNormalisesSkipsAndRefuses) {
  REQUIRE_PAGMO();
  // Raw objectives (loss, latency ms): bounds [2, 6] x [10, 60]; (4, 35) is (0.5, 0.5) normalised.
  HypervolumeBounds b{{"valid_loss", "latency_ms"}, {2, 10}, {6, 60}};
  EXPECT_NEAR(hypervolume({{4, 35}}, b), 0.25, 1e-12);
  // Beyond the reference in one objective: adds nothing; below the lower bound counts as at it.
  EXPECT_NEAR(hypervolume({{4, 35}, {1, 70}}, b), 0.25, 1e-12);
  EXPECT_NEAR(hypervolume({{1, 35}}, b), 0.5, 1e-12);
  EXPECT_EQ(hypervolume({}, b), 0.0);
  HypervolumeBounds bad{{"valid_loss", "latency_ms"}, {2, 10}, {6, 10}};
  EXPECT_THROW(hypervolume({{4, 35}}, bad), std::invalid_argument);
  EXPECT_THROW(hypervolume({{4, 35, 1}}, b), std::invalid_argument);
}

// The synthetic problem: fitness = distance to the largest member (bigger is better), latency =
// decoder layers, memory = the analytic estimate, under a memory budget that cuts the largest.
struct MicroProblem {
  SearchSpace space = micro_space();
  CostEstimator costs = analytic_memory(space);
  Budgets budgets;
  MicroProblem() { budgets.memory_mib = 0.5 * (costs(space.largest()).memory_mib + costs(space.smallest()).memory_mib); }
  ConstraintCheck check(const SubConfig& c) const { return check_constraints(costs(c), budgets); }
  ObjectiveVector objectives(const SubConfig& c) const { return objectives_of({c, distance(c, space.largest()), check(c)}); }
};

std::vector<Evaluation> run_nsga2(const MicroProblem& p, std::uint64_t seed, StrategySettings settings,
                                  std::vector<std::string>* trace = nullptr) {
  StrategyContext ctx;
  ctx.space = p.space;
  ctx.checker = [&](const SubConfig& c) { return p.check(c); };
  ctx.seed = seed;
  ctx.settings = std::move(settings);
  auto s = make_strategy("nsga2", ctx);
  EXPECT_TRUE(s->pareto());
  std::set<std::string> scored;
  while (!s->done()) {
    const auto asked = s->ask();
    std::vector<double> f;
    for (const auto& c : asked) {
      EXPECT_TRUE(p.check(c).feasible) << "an infeasible config was asked for";
      EXPECT_TRUE(scored.insert(c.hash_hex()).second) << "a config was asked for twice";
      if (trace) trace->push_back(c.hash_hex());
      f.push_back(distance(c, p.space.largest()));
    }
    s->tell(f);
  }
  return s->results();
}

TEST(Nsga2, FindsTheTrueParetoFrontOfAnEnumerableSpace) {
  REQUIRE_PAGMO();
  const MicroProblem p;
  std::vector<ObjectiveVector> feasible;
  for (const auto& c : testing::micro_space_members(p.space)) {
    if (p.check(c).feasible) feasible.push_back(p.objectives(c));
  }
  std::set<ObjectiveVector> truth;
  for (auto i : pareto_front(feasible)) truth.insert(feasible[i]);
  ASSERT_GE(truth.size(), 5u);
  HypervolumeBounds bounds;
  bounds.lower = {0, 0, 0};
  double worst_loss = 0;
  for (const auto& f : feasible) worst_loss = std::max(worst_loss, f[0]);
  bounds.reference = {worst_loss + 1, 3.0, p.budgets.memory_mib};
  const double best_possible = hypervolume({truth.begin(), truth.end()}, bounds);
  const auto front = run_nsga2(p, 5, {{"population", 24}, {"iterations", 20}});
  std::vector<ObjectiveVector> found;
  for (const auto& e : front) {
    EXPECT_TRUE(e.check.feasible);
    found.push_back(objectives_of(e));
  }
  // Returned points never dominate one another and all lie on the true front, which they cover.
  EXPECT_EQ(brute_force_front(found).size(), found.size());
  for (const auto& f : found) EXPECT_TRUE(truth.count(f)) << "a returned point is not on the true front";
  EXPECT_GE(hypervolume(found, bounds), 0.98 * best_possible);
  for (std::size_t i = 1; i < front.size(); ++i) EXPECT_LE(front[i - 1].fitness, front[i].fitness);
}

TEST(Nsga2, SameSeedSameSearchAndSettingsAreChecked) {
  REQUIRE_PAGMO();
  const MicroProblem p;
  std::vector<std::string> a, b, c;
  run_nsga2(p, 7, {{"population", 12}, {"iterations", 4}}, &a);
  run_nsga2(p, 7, {{"population", 12}, {"iterations", 4}}, &b);
  run_nsga2(p, 8, {{"population", 12}, {"iterations", 4}}, &c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  StrategyContext ctx;
  ctx.space = p.space;
  ctx.checker = [&](const SubConfig& x) { return p.check(x); };
  ctx.settings = {{"parents", 5}};
  const std::string msg = testing::invalid_argument_message([&] { make_strategy("nsga2", ctx); });
  EXPECT_NE(msg.find("parents"), std::string::npos) << msg;
  ctx.settings = {{"crossover_prob", 1.5}};
  EXPECT_THROW(make_strategy("nsga2", ctx), std::invalid_argument);
}

}  // namespace
}  // namespace thanos
