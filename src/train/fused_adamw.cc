#include "thanos/train/fused_adamw.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <sstream>
#include <string>
#include <type_traits>

namespace thanos {
namespace {

// The key libtorch's optimizers file a parameter's state under: its TensorImpl's address, printed
// (libtorch 1.x, what c10::guts::to_string gives) or as the pointer itself (later releases).
template <typename Map>
typename Map::key_type state_key(const Map&, const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;
    s << static_cast<const void*>(p.unsafeGetTensorImpl());
    return s.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

bool fusable(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous();
}

}  // namespace

void fused_adamw_step(torch::optim::AdamW& optimizer) {
  // Decide for the whole step, so an update is never half one rule, half the other.
  for (auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    if (o.amsgrad()) return (void)optimizer.step();
    for (auto& p : group.params()) {
      if (p.grad().defined() && !(fusable(p) && fusable(p.grad()))) return (void)optimizer.step();
    }
  }
  torch::NoGradGuard no_grad;
  auto& states = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    const double lr = o.lr(), beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      // The state libtorch's AdamW::step() would create (same key, same zero tensors).
      const auto key = state_key(states, p);
      auto it = states.find(key);
      if (it == states.end()) {
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(0);
        s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = states.emplace(key, std::move(s)).first;
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
      s.step(s.step() + 1);
      const double bias1 = 1 - std::pow(beta1, static_cast<double>(s.step()));
      const double bias2 = 1 - std::pow(beta2, static_cast<double>(s.step()));
      // Scalars in float, as libtorch's kernels use them on float tensors.
      const float decay = static_cast<float>(1 - lr * o.weight_decay());
      const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
      const float c1 = static_cast<float>(1 - beta1), c2 = static_cast<float>(1 - beta2);
      const float inv_sqrt_bias2 = static_cast<float>(1 / std::sqrt(bias2));
      const float eps = static_cast<float>(o.eps());
      const float step_size = static_cast<float>(lr / bias1);
      const bool with_decay = o.weight_decay() != 0;
      float* w = p.data_ptr<float>();
      const float* g = p.grad().data_ptr<float>();
      float* m = s.exp_avg().data_ptr<float>();
      float* v = s.exp_avg_sq().data_ptr<float>();
      // Branch-free body so the compiler vectorises it (this file is built with -fno-math-errno:
      // std::sqrt may then be a vector instruction); no decay = multiply by 1.
      const float keep = with_decay ? decay : 1.0f;
      at::parallel_for(0, p.numel(), 1 << 14, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
          const float gi = g[i];
          const float mi = m[i] * b1 + c1 * gi;
          const float vi = v[i] * b2 + c2 * gi * gi;
          m[i] = mi;
          v[i] = vi;
          w[i] = w[i] * keep - step_size * (mi / (std::sqrt(vi) * inv_sqrt_bias2 + eps));
        }
      });
    }
  }
}

}  // namespace thanos
