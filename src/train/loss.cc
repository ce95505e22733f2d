#include "thanos/train/loss.h"

#include <torch/autograd.h>

namespace thanos {

namespace {

// The loss with its gradient written out: autograd's chain (log_softmax, gather, sum, their
// backwards and the sum of two [N, V] gradients) makes about seven passes over the [N, V]
// log-probabilities and allocates three of them; the closed form below makes three and allocates
// one. The forward values are computed exactly as before. With p = softmax(z), per kept token:
//   d nll / dz = p - onehot(t),   d loss / dz = p - (1 - eps) onehot(t) - eps / V.
// Only first derivatives are supported (no double backward).
class LabelSmoothedNll : public torch::autograd::Function<LabelSmoothedNll> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& logits,
                                                const torch::Tensor& target, double epsilon, int64_t padding_idx) {
    auto lprobs = torch::log_softmax(logits.to(torch::kFloat), -1).view({-1, logits.size(-1)});
    auto t = target.reshape({-1, 1});
    auto keep = t.ne(padding_idx).to(lprobs.scalar_type());
    auto nll = -lprobs.gather(1, t) * keep;
    auto smooth = -lprobs.sum(1, true) * keep;
    const double eps_i = epsilon / static_cast<double>(logits.size(-1));
    auto nll_sum = nll.sum();
    auto loss = (1.0 - epsilon) * nll_sum + eps_i * smooth.sum();
    ctx->save_for_backward({lprobs, t, keep});
    ctx->saved_data["epsilon"] = epsilon;
    ctx->saved_data["shape"] = logits.sizes().vec();
    ctx->saved_data["dtype"] = static_cast<int64_t>(logits.scalar_type());
    return {loss, nll_sum};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &lprobs = saved[0], &t = saved[1], &keep = saved[2];
    const double epsilon = ctx->saved_data["epsilon"].toDouble();
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const auto dtype = static_cast<torch::ScalarType>(ctx->saved_data["dtype"].toInt());
    const auto zero = torch::zeros({}, lprobs.options());
    const torch::Tensor g_loss = grads[0].defined() ? grads[0] : zero, g_nll = grads[1].defined() ? grads[1] : zero;
    const double eps_v = epsilon / static_cast<double>(lprobs.size(1));
    // Per row: a * p - b - c * onehot(t), with a = keep (g_loss + g_nll), b = keep g_loss eps / V,
    // c = keep (g_loss (1 - eps) + g_nll).
    auto a = keep * (g_loss + g_nll);
    auto b = keep * (g_loss * eps_v);
    auto c = keep * (g_loss * (1.0 - epsilon) + g_nll);
    auto grad = lprobs.exp().mul_(a).sub_(b);
    grad.scatter_add_(1, t, -c);
    return {grad.view(shape).to(dtype), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

LossSums label_smoothed_nll_loss(const torch::Tensor& logits, const torch::Tensor& target, double epsilon,
                                 int64_t padding_idx) {
  auto out = LabelSmoothedNll::apply(logits, target, epsilon, padding_idx);
  return {out[0], out[1]};
}

}  // namespace thanos
