#pragma once
// Budgets and how a candidate is checked against them (docs/SEARCH.md). Costs come from a
// CostEstimator — latency and memory predictors (src/predict), the analytic memory model — with an
// error estimate; a candidate fits when prediction + margin x error is within the budget. A
// violation is kept as an amount (ms or MiB over), for reports and repair. Torch-free.
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

#include "thanos/space/search_space.h"

namespace thanos {

struct CostEstimate {
  double latency_ms = 0;
  double latency_error_ms = 0;  // one standard error of the prediction
  double memory_mib = 0;
  double memory_error_mib = 0;
};

// Any source of a candidate's costs (predictors, the analytic memory model, a test's formula);
// model/cost_model.h's parameter and FLOP counts are something else.
using CostEstimator = std::function<CostEstimate(const SubConfig&)>;

struct Budgets {
  double latency_ms = std::numeric_limits<double>::infinity();
  double memory_mib = std::numeric_limits<double>::infinity();
  // Safety margin in prediction errors: 1 = a candidate must fit with one error to spare.
  double margin_errors = 1.0;
};

struct ConstraintCheck {
  bool feasible = true;
  double latency_excess_ms = 0;  // prediction + margin - budget (<= 0 when it fits)
  double memory_excess_mib = 0;
  CostEstimate estimate;
};

ConstraintCheck check_constraints(const CostEstimate& estimate, const Budgets& budgets);

// Costs grow with every dimension, so the space's smallest member is its cheapest. Throws
// std::invalid_argument saying nothing fits, with the smallest latency and memory the space can
// reach, when even that member exceeds a budget — before any search work is done.
// Thrown when not even the space's smallest member fits (a std::invalid_argument: the CLI's exit
// code stays 2); `thanos run` records it as "no model for this budget" and goes on.
class NothingFits : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

void require_something_fits(const SearchSpace& space, const CostEstimator& costs, const Budgets& budgets);

}  // namespace thanos
