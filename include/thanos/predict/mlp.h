#pragma once
// A small fully connected ReLU network: weights as plain arrays and a forward pass in plain C++
// (a prediction must not pay libtorch's per-call overhead), and fitting with libtorch's autograd
// and Adam (src/predict/mlp_fit.cc). Initialisation and batch draws use THANOS' portable Rng, so
// a seed gives the same network on every platform.
#include <cstdint>
#include <string>
#include <vector>

namespace thanos {

struct MlpWeights {
  std::vector<int> sizes;                 // layer widths, input first: {10, 400, 400, 400, 400, 1}
  std::vector<std::vector<float>> weight;  // per layer, row-major [out][in]
  std::vector<std::vector<float>> bias;    // per layer, [out]
  // ReLU after every layer but the last. `in` has sizes.front() values; returns the first output.
  double forward(const double* in) const;
};

enum class MlpLoss { kMse, kHuber };

struct MlpFitOptions {
  std::vector<int> sizes;
  MlpLoss loss = MlpLoss::kMse;
  double huber_delta = 1.0;  // in target units (after the caller's scaling)
  double lr = 1e-5;          // Adam, default betas (0.9, 0.999), eps 1e-8, no weight decay
  int steps = 5000;
  int batch = 128;           // rows drawn without replacement at each step (all rows if fewer)
  std::uint64_t seed = 1;
};

// PyTorch's nn.Linear initialisation (weights and biases uniform in +-1/sqrt(fan_in)), then
// `steps` Adam steps; the final weights are returned (no early stopping: HAT keeps the last).
// Throws std::invalid_argument on empty or ragged input.
MlpWeights fit_mlp(const std::vector<std::vector<double>>& x, const std::vector<double>& y, const MlpFitOptions& options);

// The rows of step `step`'s batch for `rows` training rows (exposed for tests: `batch` distinct
// indices, a partial Fisher-Yates shuffle drawn from the seed and step).
std::vector<int> mlp_batch_rows(int rows, int batch, std::uint64_t seed, int step);

}  // namespace thanos
