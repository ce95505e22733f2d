#pragma once
// Multi-objective helpers (docs/SEARCH.md): Pareto fronts, NSGA-II's ranking and the hypervolume
// indicator, all minimised. They wrap pagmo2's well-tested building blocks
// (fast_non_dominated_sorting, crowding_distance, select_best_N_mo, hypervolume); a build without
// pagmo2 (THANOS_WITH_PAGMO off, e.g. a CUDA check with libtorch alone) has no multi-objective
// search: multi_objective_available() says so and the functions throw std::runtime_error.
// Torch-free.
#include <cstddef>
#include <string>
#include <vector>

namespace thanos {

using ObjectiveVector = std::vector<double>;  // one value per objective, lower is better

bool multi_objective_available();

// Indices of the non-dominated points (the first front), ascending. Equal points are all kept.
std::vector<std::size_t> pareto_front(const std::vector<ObjectiveVector>& points);

// NSGA-II's survivor selection: the indices of the best `n` points by non-domination rank, then
// crowding distance (pagmo::select_best_N_mo). n >= points.size() keeps everything.
std::vector<std::size_t> select_best(const std::vector<ObjectiveVector>& points, std::size_t n);

// Non-domination rank (0 = first front) and crowding distance of every point, for NSGA-II's
// binary tournament.
struct RankAndCrowding {
  std::vector<std::size_t> rank;
  std::vector<double> crowding;
};
RankAndCrowding rank_and_crowding(const std::vector<ObjectiveVector>& points);

// How objectives are put on one scale before the hypervolume: each objective i is mapped to
// (x - lower[i]) / (reference[i] - lower[i]), so the reference point becomes (1, ..., 1) and the
// ideal corner (0, ..., 0); the hypervolume is then a fraction of that box. Written into
// search.json with the value, so two runs' numbers are comparable only when their bounds match.
struct HypervolumeBounds {
  std::vector<std::string> names;  // e.g. valid_loss, latency_ms, memory_mb
  ObjectiveVector lower;
  ObjectiveVector reference;
  void validate() const;  // same sizes, reference > lower everywhere
};

// The normalised hypervolume dominated by `points` up to the reference point. Points that do not
// strictly dominate the reference in every objective add nothing and are skipped (pagmo requires
// the reference to be dominated by every point it gets).
double hypervolume(const std::vector<ObjectiveVector>& points, const HypervolumeBounds& bounds);

}  // namespace thanos
