#pragma once
// The loss of one teacher-forced batch under one SubConfig, as training and the fitness use it.
#include "thanos/model/super_transformer.h"
#include "thanos/train/batch.h"
#include "thanos/train/loss.h"

namespace thanos {

// label_smoothed_nll_loss(model->forward(src, prev, cfg), target) without computing the logits of
// padding positions: those [positions, vocabulary] rows (the output projection and log-softmax
// are the largest work of a small model's step) would only be masked out of the loss again. The
// decoder features of real target tokens are gathered first, so the sums are the same values
// (up to float summation order) for about 10-15% less work at typical padding. fairseq and HAT
// project every position.
LossSums batch_loss(SuperTransformer& model, const Batch& batch, const SubConfig& cfg, double label_smoothing);

// The two halves of batch_loss: logits [kept tokens, vocab] of the non-padding target positions
// (row order: batch-major, as target.reshape(-1)) and those positions' target ids.
struct TargetLogits {
  torch::Tensor logits;
  torch::Tensor target;
};
TargetLogits target_logits(SuperTransformer& model, const Batch& batch, const SubConfig& cfg);

}  // namespace thanos
