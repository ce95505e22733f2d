#include "thanos/predict/metrics.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "thanos/common/stats.h"

namespace thanos {

PredictionMetrics prediction_metrics(const std::vector<double>& p, const std::vector<double>& y) {
  if (p.size() != y.size() || p.empty()) {
    throw std::invalid_argument("prediction_metrics: " + std::to_string(p.size()) + " predictions for " +
                                std::to_string(y.size()) + " truths (need equal, non-zero)");
  }
  PredictionMetrics m;
  m.n = static_cast<int>(y.size());
  const double y_mean = mean_of(y);
  double se = 0, ape = 0, ss_tot = 0;
  int w5 = 0, w10 = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double e = p[i] - y[i];
    se += e * e;
    ss_tot += (y[i] - y_mean) * (y[i] - y_mean);
    const double rel = std::abs(e) / std::abs(y[i]);
    ape += rel;
    // A hair of slack so that a prediction exactly 5% off counts as within 5% despite rounding.
    w5 += rel <= 0.05 + 1e-12;
    w10 += rel <= 0.10 + 1e-12;
    m.max_abs_error = std::max(m.max_abs_error, std::abs(e));
  }
  m.rmse = std::sqrt(se / m.n);
  m.mape = 100.0 * ape / m.n;
  m.r2 = ss_tot > 0 ? 1.0 - se / ss_tot : 0.0;
  m.kendall_tau = kendall_tau(p, y);
  m.within_5pct = static_cast<double>(w5) / m.n;
  m.within_10pct = static_cast<double>(w10) / m.n;
  return m;
}

}  // namespace thanos
