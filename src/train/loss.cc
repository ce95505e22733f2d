#include "thanos/train/loss.h"

namespace thanos {

LossSums label_smoothed_nll_loss(const torch::Tensor& logits, const torch::Tensor& target, double epsilon,
                                 int64_t padding_idx) {
  auto lprobs = torch::log_softmax(logits.to(torch::kFloat), -1).view({-1, logits.size(-1)});
  auto t = target.reshape({-1, 1});
  auto keep = t.ne(padding_idx).to(lprobs.scalar_type());
  auto nll = -lprobs.gather(1, t) * keep;
  auto smooth = -lprobs.sum(1, true) * keep;
  const double eps_i = epsilon / static_cast<double>(logits.size(-1));
  auto nll_sum = nll.sum();
  return {(1.0 - epsilon) * nll_sum + eps_i * smooth.sum(), nll_sum};
}

}  // namespace thanos
