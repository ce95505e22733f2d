#include "thanos/common/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace thanos {

double percentile_of(std::vector<double> values, double p) {
  if (values.empty()) throw std::invalid_argument("percentile of no values");
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (rank - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  const std::size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + n / 2, v.end());
  const double hi = v[n / 2];
  if (n % 2) return hi;
  return (*std::max_element(v.begin(), v.begin() + n / 2) + hi) / 2;
}

Interval median_interval(std::vector<double> values, double confidence) {
  if (!(confidence > 0 && confidence < 1)) {
    throw std::invalid_argument("median interval: confidence must be in (0, 1), got " + std::to_string(confidence));
  }
  const double inf = std::numeric_limits<double>::infinity();
  const std::size_t n = values.size();
  // P(B < j) for B ~ Binomial(n, 1/2), accumulated in log space so that large n cannot overflow.
  // Coverage of [x(j), x(n+1-j)] is 1 - 2 P(B < j); j grows while it stays >= confidence.
  std::size_t best = 0;  // 0: no interval reaches the confidence
  double below = 0;      // P(B < j)
  for (std::size_t j = 1; 2 * j <= n + 1; ++j) {
    const double k = static_cast<double>(j - 1);
    below += std::exp(std::lgamma(static_cast<double>(n) + 1) - std::lgamma(k + 1) - std::lgamma(static_cast<double>(n) - k + 1) -
                      static_cast<double>(n) * std::log(2.0));
    if (1 - 2 * below < confidence) break;
    best = j;
  }
  if (best == 0) return {-inf, inf};
  std::sort(values.begin(), values.end());
  return {values[best - 1], values[n - best]};
}

double kendall_tau(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) throw std::invalid_argument("kendall_tau: lists of different lengths");
  const std::size_t n = x.size();
  // tau-b = (concordant - discordant) / sqrt((n0 - ties_x) * (n0 - ties_y)), pairs tied in both
  // lists counting in both tie totals.
  long long concordant = 0, discordant = 0, ties_x = 0, ties_y = 0, pairs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      ++pairs;
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0) ++ties_x;
      if (dy == 0) ++ties_y;
      if (dx == 0 || dy == 0) continue;
      if ((dx > 0) == (dy > 0)) {
        ++concordant;
      } else {
        ++discordant;
      }
    }
  }
  const double denom = std::sqrt(static_cast<double>(pairs - ties_x) * static_cast<double>(pairs - ties_y));
  return denom > 0 ? (concordant - discordant) / denom : 0.0;
}

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

double stddev_of(const std::vector<double>& v) {
  if (v.empty()) return 0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / v.size());
}

}  // namespace thanos
