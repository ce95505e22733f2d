#pragma once
// fairseq's label-smoothed cross-entropy, a separate object from the model (which returns logits).
#include <torch/types.h>

namespace thanos {

struct LossSums {
  torch::Tensor loss;  // sum over non-padding tokens of the label-smoothed loss (nats), scalar
  torch::Tensor nll;   // sum of the plain negative log-likelihood (nats), scalar
};

// loss = (1 - eps) * nll + eps / V * (-sum_v log p_v), over tokens whose target != padding_idx.
LossSums label_smoothed_nll_loss(const torch::Tensor& logits, const torch::Tensor& target, double epsilon,
                                 int64_t padding_idx);

}  // namespace thanos
