#include "thanos/search/pareto.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#ifdef THANOS_WITH_PAGMO
#include <pagmo/utils/hypervolume.hpp>
#include <pagmo/utils/multi_objective.hpp>
#endif

namespace thanos {

void HypervolumeBounds::validate() const {
  if (lower.empty() || lower.size() != reference.size() || (!names.empty() && names.size() != lower.size())) {
    throw std::invalid_argument("hypervolume bounds: lower, reference and names must have one value per objective");
  }
  for (std::size_t i = 0; i < lower.size(); ++i) {
    if (!(std::isfinite(lower[i]) && std::isfinite(reference[i]) && reference[i] > lower[i])) {
      throw std::invalid_argument("hypervolume bounds: objective " + (names.empty() ? std::to_string(i) : names[i]) +
                                  " needs finite bounds with reference > lower");
    }
  }
}

#ifdef THANOS_WITH_PAGMO

bool multi_objective_available() { return true; }

std::vector<std::size_t> pareto_front(const std::vector<ObjectiveVector>& points) {
  if (points.size() < 2) return points.empty() ? std::vector<std::size_t>{} : std::vector<std::size_t>{0};
  const auto fronts = std::get<0>(pagmo::fast_non_dominated_sorting(points));
  std::vector<std::size_t> first(fronts.front().begin(), fronts.front().end());
  std::sort(first.begin(), first.end());
  return first;
}

std::vector<std::size_t> select_best(const std::vector<ObjectiveVector>& points, std::size_t n) {
  if (n >= points.size()) {
    std::vector<std::size_t> all(points.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    return all;
  }
  const auto best = pagmo::select_best_N_mo(points, n);
  return {best.begin(), best.end()};
}

RankAndCrowding rank_and_crowding(const std::vector<ObjectiveVector>& points) {
  RankAndCrowding r;
  r.rank.assign(points.size(), 0);
  r.crowding.assign(points.size(), std::numeric_limits<double>::infinity());
  if (points.size() < 2) return r;
  const auto fronts = std::get<0>(pagmo::fast_non_dominated_sorting(points));
  for (std::size_t f = 0; f < fronts.size(); ++f) {
    // pagmo's crowding distance needs two or more points; the ends of a front are infinitely
    // crowded-apart anyway, so a front of one or two keeps infinity.
    if (fronts[f].size() > 2) {
      std::vector<ObjectiveVector> front;
      for (auto i : fronts[f]) front.push_back(points[i]);
      const auto d = pagmo::crowding_distance(front);
      for (std::size_t k = 0; k < fronts[f].size(); ++k) r.crowding[fronts[f][k]] = d[k];
    }
    for (auto i : fronts[f]) r.rank[i] = f;
  }
  return r;
}

double hypervolume(const std::vector<ObjectiveVector>& points, const HypervolumeBounds& bounds) {
  bounds.validate();
  const std::size_t m = bounds.lower.size();
  std::vector<ObjectiveVector> inside;
  for (const auto& p : points) {
    if (p.size() != m) throw std::invalid_argument("hypervolume: a point has " + std::to_string(p.size()) + " objectives, the bounds " + std::to_string(m));
    ObjectiveVector q(m);
    bool dominates_reference = true;
    for (std::size_t i = 0; i < m; ++i) {
      q[i] = (p[i] - bounds.lower[i]) / (bounds.reference[i] - bounds.lower[i]);
      if (!(q[i] < 1.0)) dominates_reference = false;
    }
    if (dominates_reference) inside.push_back(std::move(q));
  }
  if (inside.empty()) return 0.0;
  // Below the lower bound counts as at the bound: the box, not the points, fixes the scale.
  for (auto& q : inside) {
    for (auto& v : q) v = std::max(v, 0.0);
  }
  return pagmo::hypervolume(inside, true).compute(ObjectiveVector(m, 1.0));
}

#else

namespace {
[[noreturn]] void no_pagmo() {
  throw std::runtime_error("multi-objective search needs pagmo2: this build has THANOS_WITH_PAGMO off or no libpagmo-dev");
}
}  // namespace

bool multi_objective_available() { return false; }
std::vector<std::size_t> pareto_front(const std::vector<ObjectiveVector>&) { no_pagmo(); }
std::vector<std::size_t> select_best(const std::vector<ObjectiveVector>&, std::size_t) { no_pagmo(); }
RankAndCrowding rank_and_crowding(const std::vector<ObjectiveVector>&) { no_pagmo(); }
double hypervolume(const std::vector<ObjectiveVector>&, const HypervolumeBounds& bounds) {
  bounds.validate();
  no_pagmo();
}

#endif

}  // namespace thanos
