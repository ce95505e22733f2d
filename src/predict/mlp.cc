#include "thanos/predict/mlp.h"

#include <algorithm>
#include <numeric>

#include "thanos/common/random.h"

namespace thanos {

double MlpWeights::forward(const double* in) const {
  // Two buffers of the widest layer, reused: no allocation per layer.
  const int widest = *std::max_element(sizes.begin(), sizes.end());
  std::vector<double> a(in, in + sizes.front()), b(widest);
  a.resize(widest);
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int n_in = sizes[l], n_out = sizes[l + 1];
    const float* w = weight[l].data();
    const bool last = l + 2 == sizes.size();
    for (int o = 0; o < n_out; ++o) {
      double s = bias[l][o];
      const float* row = w + static_cast<std::size_t>(o) * n_in;
      for (int i = 0; i < n_in; ++i) s += row[i] * a[i];
      b[o] = last || s > 0 ? s : 0.0;
    }
    std::swap(a, b);
  }
  return a[0];
}

std::vector<int> mlp_batch_rows(int rows, int batch, std::uint64_t seed, int step) {
  // One stream per (seed, step), so a step's batch does not depend on how earlier steps drew.
  Rng rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(step) + 1);
  std::vector<int> idx(rows);
  std::iota(idx.begin(), idx.end(), 0);
  const int k = std::min(batch, rows);
  for (int i = 0; i < k; ++i) {
    const int j = i + static_cast<int>(rng.uniform_index(static_cast<std::uint64_t>(rows - i)));
    std::swap(idx[i], idx[j]);
  }
  idx.resize(k);
  return idx;
}

}  // namespace thanos
