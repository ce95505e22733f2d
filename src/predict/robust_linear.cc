#include "thanos/predict/robust_linear.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "thanos/common/stats.h"

namespace thanos {
namespace {

// Solves a x = b (symmetric positive definite after the ridge) by Gaussian elimination with
// partial pivoting; the systems are ~20 x 20.
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t p = i;
    for (std::size_t r = i + 1; r < n; ++r) {
      if (std::abs(a[r][i]) > std::abs(a[p][i])) p = r;
    }
    std::swap(a[i], a[p]);
    std::swap(b[i], b[p]);
    if (a[i][i] == 0) throw std::runtime_error("fit_robust_linear: singular system");
    for (std::size_t r = i + 1; r < n; ++r) {
      const double f = a[r][i] / a[i][i];
      if (f == 0) continue;
      for (std::size_t c = i; c < n; ++c) a[r][c] -= f * a[i][c];
      b[r] -= f * b[i];
    }
  }
  std::vector<double> x(n);
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t c = i + 1; c < n; ++c) s -= a[i][c] * x[c];
    x[i] = s / a[i][i];
  }
  return x;
}

// Weighted ridge least squares on standardised features.
LinearModel weighted_fit(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                         const std::vector<double>& w, const LinearModel& standardisation, double ridge) {
  const std::size_t p = standardisation.mean.size();
  // Unknowns: intercept, then coefficient j for each feature j >= 1 (feature 0 is the constant).
  std::vector<std::vector<double>> a(p, std::vector<double>(p, 0.0));
  std::vector<double> b(p, 0.0), z(p);
  double total = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (w[i] == 0) continue;
    z[0] = 1;
    for (std::size_t j = 1; j < p; ++j) {
      z[j] = standardisation.scale[j] != 0 ? (x[i][j] - standardisation.mean[j]) / standardisation.scale[j] : 0;
    }
    for (std::size_t r = 0; r < p; ++r) {
      const double wz = w[i] * z[r];
      b[r] += wz * y[i];
      for (std::size_t c = 0; c <= r; ++c) a[r][c] += wz * z[c];
    }
    total += w[i];
  }
  for (std::size_t r = 0; r < p; ++r) {
    for (std::size_t c = 0; c < r; ++c) a[c][r] = a[r][c];
  }
  for (std::size_t j = 1; j < p; ++j) a[j][j] += standardisation.scale[j] != 0 ? ridge * total : 1.0;
  const std::vector<double> sol = solve(a, b);
  LinearModel m = standardisation;
  m.intercept = sol[0];
  m.coef.assign(p, 0.0);
  for (std::size_t j = 1; j < p; ++j) m.coef[j] = standardisation.scale[j] != 0 ? sol[j] : 0;
  return m;
}

}  // namespace

LinearModel fit_robust_linear(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                              const RobustLinearOptions& options, const std::vector<double>& row_weights) {
  if (x.empty() || x.size() != y.size() || (!row_weights.empty() && row_weights.size() != y.size())) {
    throw std::invalid_argument("fit_robust_linear: " + std::to_string(x.size()) + " feature rows, " +
                                std::to_string(y.size()) + " targets, " + std::to_string(row_weights.size()) +
                                " row weights");
  }
  const std::size_t p = x[0].size();
  for (const auto& r : x) {
    if (r.size() != p) throw std::invalid_argument("fit_robust_linear: ragged feature rows");
  }
  const std::vector<double> base = row_weights.empty() ? std::vector<double>(y.size(), 1.0) : row_weights;

  // Standardisation from the weighted training rows.
  LinearModel st;
  st.mean.assign(p, 0.0);
  st.scale.assign(p, 0.0);
  double total = 0;
  for (std::size_t i = 0; i < x.size(); ++i) total += base[i];
  for (std::size_t j = 1; j < p; ++j) {
    double s = 0, s2 = 0;
    for (std::size_t i = 0; i < x.size(); ++i) s += base[i] * x[i][j];
    const double mean = s / total;
    for (std::size_t i = 0; i < x.size(); ++i) s2 += base[i] * (x[i][j] - mean) * (x[i][j] - mean);
    const double sd = std::sqrt(s2 / total);
    st.mean[j] = mean;
    st.scale[j] = sd > 1e-12 * std::max(1.0, std::abs(mean)) ? sd : 0.0;
  }

  LinearModel m = weighted_fit(x, y, base, st, options.ridge);
  if (!options.robust) return m;
  // The residuals' scale comes from the rows in the fit (a bootstrap's or a cross-validation
  // fold's rows of weight 0 are not).
  std::vector<double> w(y.size(), 0.0), rel(y.size()), in_fit, dev;
  for (int it = 0; it < options.iterations; ++it) {
    in_fit.clear();
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double p_i = m.predict(x[i].data());
      rel[i] = (y[i] - p_i) / std::max(std::abs(p_i), 1e-12);
      if (base[i] > 0) in_fit.push_back(rel[i]);
    }
    const double med = median_of(in_fit);
    dev.clear();
    for (const double r : in_fit) dev.push_back(std::abs(r - med));
    const double sigma = 1.4826 * median_of(dev);
    if (!(sigma > 0)) break;  // an exact fit: nothing to reweight
    const double k = options.huber_k * sigma;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double a = std::abs(rel[i]);
      w[i] = base[i] * (a <= k ? 1.0 : k / a);
    }
    m = weighted_fit(x, y, w, st, options.ridge);
  }
  return m;
}

double choose_ridge_by_cross_validation(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                                        const RobustLinearOptions& options, const std::vector<double>& grid, int folds) {
  if (grid.empty()) throw std::invalid_argument("choose_ridge_by_cross_validation: empty ridge grid");
  if (folds < 2) throw std::invalid_argument("choose_ridge_by_cross_validation: folds must be >= 2, got " + std::to_string(folds));
  const std::size_t n = x.size();
  const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(folds), n);
  if (k < 2) return grid.front();
  double best_ridge = grid.front(), best_score = std::numeric_limits<double>::infinity();
  for (const double ridge : grid) {
    RobustLinearOptions o = options;
    o.ridge = ridge;
    double score = 0;
    for (std::size_t f = 0; f < k; ++f) {
      std::vector<double> held_out(n, 1.0);  // the fold's rows get weight 0 in its fit
      for (std::size_t i = f; i < n; i += k) held_out[i] = 0.0;
      const LinearModel m = fit_robust_linear(x, y, o, held_out);
      for (std::size_t i = f; i < n; i += k) {
        const double rel = std::abs(m.predict(x[i].data()) - y[i]) / std::max(std::abs(y[i]), 1e-12);
        score += std::min(rel, 1.0);
      }
    }
    if (score < best_score) {
      best_score = score;
      best_ridge = ridge;
    }
  }
  return best_ridge;
}

}  // namespace thanos
