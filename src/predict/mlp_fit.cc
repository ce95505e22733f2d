// Fitting an MLP with libtorch (autograd + Adam). Prediction does not come here: MlpWeights
// runs in plain C++.
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "thanos/common/random.h"
#include "thanos/predict/mlp.h"

namespace thanos {

MlpWeights fit_mlp(const std::vector<std::vector<double>>& x, const std::vector<double>& y, const MlpFitOptions& o) {
  if (x.empty() || x.size() != y.size()) {
    throw std::invalid_argument("fit_mlp: " + std::to_string(x.size()) + " rows and " + std::to_string(y.size()) +
                                " targets (need equal, non-zero)");
  }
  if (o.sizes.size() < 2 || o.sizes.back() != 1) throw std::invalid_argument("fit_mlp: sizes must end with 1 output");
  const int n = static_cast<int>(x.size()), in = o.sizes.front();
  for (const auto& r : x) {
    if (static_cast<int>(r.size()) != in) {
      throw std::invalid_argument("fit_mlp: a row has " + std::to_string(r.size()) + " features, expected " +
                                  std::to_string(in));
    }
  }
  torch::NoGradGuard no_grad_setup;
  auto xs = torch::empty({n, in}, torch::kFloat32);
  auto ys = torch::empty({n, 1}, torch::kFloat32);
  {
    auto xa = xs.accessor<float, 2>();
    auto ya = ys.accessor<float, 2>();
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < in; ++j) xa[i][j] = static_cast<float>(x[i][j]);
      ya[i][0] = static_cast<float>(y[i]);
    }
  }
  // nn.Linear's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
  Rng rng(o.seed);
  std::vector<torch::Tensor> params;
  for (std::size_t l = 0; l + 1 < o.sizes.size(); ++l) {
    const int fan_in = o.sizes[l], fan_out = o.sizes[l + 1];
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    auto w = torch::empty({fan_out, fan_in}, torch::kFloat32);
    auto b = torch::empty({fan_out}, torch::kFloat32);
    float* wp = w.data_ptr<float>();
    for (int i = 0; i < fan_out * fan_in; ++i) wp[i] = static_cast<float>((2 * rng.uniform01() - 1) * bound);
    float* bp = b.data_ptr<float>();
    for (int i = 0; i < fan_out; ++i) bp[i] = static_cast<float>((2 * rng.uniform01() - 1) * bound);
    params.push_back(w.set_requires_grad(true));
    params.push_back(b.set_requires_grad(true));
  }
  torch::optim::Adam adam(params, torch::optim::AdamOptions(o.lr));
  const int layers = static_cast<int>(o.sizes.size()) - 1;
  for (int step = 0; step < o.steps; ++step) {
    const std::vector<int> rows = mlp_batch_rows(n, o.batch, o.seed, step);
    auto idx = torch::tensor(std::vector<int64_t>(rows.begin(), rows.end()), torch::kInt64);
    torch::Tensor bx, by;
    {
      torch::NoGradGuard g;
      bx = xs.index_select(0, idx);
      by = ys.index_select(0, idx);
    }
    torch::AutoGradMode enable(true);
    auto h = bx;
    for (int l = 0; l < layers; ++l) {
      h = torch::addmm(params[2 * l + 1], h, params[2 * l].t());
      if (l + 1 < layers) h = torch::relu(h);
    }
    torch::Tensor loss;
    if (o.loss == MlpLoss::kMse) {
      loss = torch::mse_loss(h, by);
    } else {
      // Huber: quadratic within delta, linear beyond (a drifted row cannot pull quadratically).
      auto a = (h - by).abs();
      auto quad = torch::clamp(a, 0, o.huber_delta);
      loss = (0.5 * quad * quad + o.huber_delta * (a - quad)).mean();
    }
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  MlpWeights out;
  out.sizes = o.sizes;
  for (int l = 0; l < layers; ++l) {
    auto w = params[2 * l].detach().contiguous();
    auto b = params[2 * l + 1].detach().contiguous();
    out.weight.emplace_back(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    out.bias.emplace_back(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
  }
  return out;
}

}  // namespace thanos
