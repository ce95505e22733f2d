#pragma once
// A linear model fitted by iteratively reweighted least squares with Huber weights on relative
// residuals. Measured latency drifts multiplicatively (a stretch of rows ~20% slow while a board
// throttles), so a row's residual is judged relative to its prediction and rows far off the fit
// lose weight instead of pulling it. Torch-free; prediction is a dot product.
#include <cstdint>
#include <vector>

namespace thanos {

struct LinearModel {
  // Features are standardised before fitting (well-conditioned normal equations); a column that
  // is constant in the training rows gets scale 0 and no weight (the intercept carries it).
  std::vector<double> mean, scale, coef;
  double intercept = 0;
  // `f` has coef.size() features, the first being the constant 1 (ignored: the intercept).
  double predict(const double* f) const {
    double s = intercept;
    for (std::size_t j = 0; j < coef.size(); ++j) {
      if (scale[j] != 0) s += coef[j] * (f[j] - mean[j]) / scale[j];
    }
    return s;
  }
};

struct RobustLinearOptions {
  double huber_k = 1.345;  // in robust standard deviations (1.4826 x MAD) of the relative residual
  int iterations = 30;     // IRLS iterations after the least-squares start
  // Ridge on standardised coefficients, per unit of total weight: resolves exactly collinear
  // features (HAT's fixed QKV width makes some equal up to scale) without biasing the others.
  double ridge = 1e-6;
  bool robust = true;      // false: plain (ridge) least squares
};

// `x` rows of equal length (feature 0 the constant 1), `y` targets, `row_weights` optional
// (empty: 1 each; a bootstrap passes counts). Throws std::invalid_argument on size mismatches.
LinearModel fit_robust_linear(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                              const RobustLinearOptions& options, const std::vector<double>& row_weights = {});

}  // namespace thanos
