#include "thanos/train/batch_loss.h"

#include "thanos/data/binarized.h"

namespace thanos {

TargetLogits target_logits(SuperTransformer& model, const Batch& batch, const SubConfig& cfg) {
  const EncoderOutput enc = model->encode(batch.src, cfg);
  const torch::Tensor features = model->decoder->features(batch.prev, enc, cfg);  // [B, T, embed]
  const torch::Tensor target = batch.target.reshape({-1});
  const torch::Tensor kept = target.ne(kPadId).nonzero().squeeze(1);
  const torch::Tensor rows = features.reshape({-1, features.size(-1)}).index_select(0, kept);
  return {model->decoder->output_layer(rows, cfg.decoder_embed_dim), target.index_select(0, kept)};
}

LossSums batch_loss(SuperTransformer& model, const Batch& batch, const SubConfig& cfg, double label_smoothing) {
  const TargetLogits t = target_logits(model, batch, cfg);
  return label_smoothed_nll_loss(t.logits, t.target, label_smoothing, kPadId);
}

}  // namespace thanos
