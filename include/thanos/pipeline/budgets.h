#pragma once
// Budgets resolved against the measured dataset (docs/PIPELINE.md): a percentile budget ("p40") is
// the 40th percentile of the feasible rows' measured latency (encoder + decoder) or peak memory, so
// a demo stays meaningful on faster and slower machines; the feasible fraction is the share of the
// dataset's rows that fit both resolved budgets (the measured sample of the space).
#include <string>
#include <vector>

#include "thanos/pipeline/run_config.h"

namespace thanos {

struct MeasuredPoint {
  double latency_ms = 0, memory_mib = 0;
};

// Feasible rows of a THANOS dataset CSV, one per config (the last row of a re-measured config).
// Throws std::invalid_argument naming the file.
std::vector<MeasuredPoint> read_measured_points(const std::string& dataset_csv);

// The median reference latency of a THANOS dataset CSV's rows (`reference_latency_ms`, the drift
// guard's reference while the dataset was measured); 0 when the file has none. Throws
// std::invalid_argument naming the file when the column is missing.
double dataset_reference_ms(const std::string& dataset_csv);

// Linear interpolation between closest ranks (NumPy's default "linear" method): the p-th
// percentile of `values` (p in [0, 100]). Throws std::invalid_argument for no values.
double percentile(std::vector<double> values, double p);

struct ResolvedBudgets {
  std::string name;
  double latency_ms = 0;  // +inf when not given
  double memory_mib = 0;  // +inf when not given
  std::string latency_text, memory_text;  // as written
  double feasible_fraction = 0;
};

ResolvedBudgets resolve_budgets(const BudgetPair& pair, const std::vector<MeasuredPoint>& points);

}  // namespace thanos
