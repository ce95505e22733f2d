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

// The ridge (per unit of weight, on standardised coefficients) from `grid` whose robust fits
// predict held-out rows best: `folds`-fold cross-validation over the rows in a fixed interleaved
// order (row i in fold i mod folds), scored by the mean absolute relative error with each row's
// error capped at 1 (one 5x outlier row must not pick the ridge). Ties keep the smaller ridge.
// With few rows per feature (65 noisy rows, 17 features) an unregularised fit follows the noise;
// this is how much to shrink, chosen by the data instead of a constant.
double choose_ridge_by_cross_validation(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                                        const RobustLinearOptions& options, const std::vector<double>& grid, int folds = 10);

}  // namespace thanos
