#include "thanos/search/constraints.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace thanos {

ConstraintCheck check_constraints(const CostEstimate& e, const Budgets& b) {
  ConstraintCheck c;
  c.estimate = e;
  c.latency_excess_ms = e.latency_ms + b.margin_errors * e.latency_error_ms - b.latency_ms;
  c.memory_excess_mib = e.memory_mib + b.margin_errors * e.memory_error_mib - b.memory_mib;
  c.feasible = !(c.latency_excess_ms > 0) && !(c.memory_excess_mib > 0);
  return c;
}

void require_something_fits(const SearchSpace& space, const CostEstimator& costs, const Budgets& budgets) {
  const ConstraintCheck c = check_constraints(costs(space.smallest()), budgets);
  if (c.feasible) return;
  std::ostringstream s;
  s.precision(4);
  s << "nothing in the search space " << space.source << " fits the budgets (latency " << budgets.latency_ms
    << " ms, memory " << budgets.memory_mib << " MiB, margin " << budgets.margin_errors
    << " errors): its smallest member needs " << c.estimate.latency_ms << " ms (+/- " << c.estimate.latency_error_ms
    << ") and " << c.estimate.memory_mib << " MiB (+/- " << c.estimate.memory_error_mib
    << "); raise a budget or shrink the space";
  throw NothingFits(s.str());
}

}  // namespace thanos
