#pragma once
// How well a predictor does on held-out rows (bench/README.md Table 9, `fit-predictor --json`).
// Torch-free.
#include <vector>

namespace thanos {

struct PredictionMetrics {
  int n = 0;
  double rmse = 0;          // same unit as the target (ms, MiB)
  double mape = 0;          // mean |pred - true| / true, in percent
  double r2 = 0;            // 1 - SS_res / SS_tot (0 when the truths are constant)
  double kendall_tau = 0;   // tau-b, thanos::kendall_tau
  double within_5pct = 0;   // share of rows with |pred - true| <= 5% of true (0..1)
  double within_10pct = 0;
  double max_abs_error = 0;
};

// Throws std::invalid_argument on lists of different or zero length.
PredictionMetrics prediction_metrics(const std::vector<double>& predicted, const std::vector<double>& truth);

}  // namespace thanos
