#pragma once
// Encoder and decoder layers of the elastic Transformer (fairseq/HAT structure: post-norm by
// default, pre-norm as an option; ReLU feed-forward block).
#include "thanos/model/elastic_layers.h"
#include "thanos/space/sub_config.h"

namespace thanos {

struct LayerDropout {
  double dropout = 0;             // after attention and FFN blocks (HAT scales it by embed ratio)
  double activation_dropout = 0;  // after the FFN activation
};

class EncoderLayerImpl : public torch::nn::Module {
 public:
  EncoderLayerImpl(int64_t max_embed, const EncoderLayerConfig& capacity, bool normalize_before,
                   double attention_dropout);
  // x: [B, S, embed]; padding_mask: [B, S] bool or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& padding_mask, int64_t embed,
                        const EncoderLayerConfig& cfg, const LayerDropout& drop);

  ElasticAttention self_attn{nullptr};
  ElasticLayerNorm self_attn_layer_norm{nullptr};
  ElasticLinear fc1{nullptr}, fc2{nullptr};
  ElasticLayerNorm final_layer_norm{nullptr};
  bool normalize_before;
};
TORCH_MODULE(EncoderLayer);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(int64_t max_embed, int64_t max_encoder_embed, const DecoderLayerConfig& capacity,
                   bool normalize_before, double attention_dropout);
  // x: [B, T, embed]; memory: [B, S', encoder_embed] (the attended encoder layers concatenated
  // along time); causal_mask: [T, T] float (-inf above the diagonal).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory, const torch::Tensor& memory_padding_mask,
                        const torch::Tensor& causal_mask, int64_t embed, int64_t encoder_embed,
                        const DecoderLayerConfig& cfg, const LayerDropout& drop);

  // Incremental decoding (docs/DECODING.md). The cache of one sentence batch: encoder-decoder
  // keys/values of `memory` projected once; self-attention empty.
  DecoderLayerCache start_cache(const torch::Tensor& memory, const torch::Tensor& memory_padding_mask,
                                int64_t encoder_embed, const DecoderLayerConfig& cfg);
  // x: [B, Tq, embed], the next Tq positions; equals forward() at those positions of the prefix.
  torch::Tensor forward_step(const torch::Tensor& x, DecoderLayerCache& cache, int64_t embed, int64_t encoder_embed,
                             const DecoderLayerConfig& cfg, const LayerDropout& drop);

  ElasticAttention self_attn{nullptr};
  ElasticLayerNorm self_attn_layer_norm{nullptr};
  ElasticAttention encoder_attn{nullptr};
  ElasticLayerNorm encoder_attn_layer_norm{nullptr};
  ElasticLinear fc1{nullptr}, fc2{nullptr};
  ElasticLayerNorm final_layer_norm{nullptr};
  bool normalize_before;

 private:
  // The three residual blocks around the given attention calls, shared by both modes.
  template <typename SelfAttention, typename EncoderAttention>
  torch::Tensor run_blocks(const torch::Tensor& x, int64_t embed, const DecoderLayerConfig& cfg, const LayerDropout& drop,
                           SelfAttention&& self_attention, EncoderAttention&& encoder_attention);
};
TORCH_MODULE(DecoderLayer);

}  // namespace thanos
