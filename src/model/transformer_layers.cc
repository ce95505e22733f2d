#include "thanos/model/transformer_layers.h"

#include <torch/nn/functional.h>

namespace thanos {
namespace F = torch::nn::functional;

namespace {

torch::Tensor maybe_dropout(const torch::Tensor& x, double p, bool training) {
  return (p > 0 && training) ? F::dropout(x, F::DropoutFuncOptions().p(p).training(true)) : x;
}

// residual block: x + sublayer(norm?(x)), then norm if post-norm.
template <typename Sublayer>
torch::Tensor residual_block(const torch::Tensor& x, ElasticLayerNorm& norm, bool normalize_before, int64_t dim,
                             double dropout, bool training, Sublayer&& sublayer) {
  auto h = normalize_before ? norm->forward(x, dim) : x;
  h = maybe_dropout(sublayer(h), dropout, training);
  auto y = x + h;
  return normalize_before ? y : norm->forward(y, dim);
}

torch::Tensor feed_forward(ElasticLinear& fc1, ElasticLinear& fc2, const torch::Tensor& x, int64_t embed, int64_t ffn,
                           double activation_dropout, bool training) {
  auto h = torch::relu(fc1->forward(x, embed, ffn));
  h = maybe_dropout(h, activation_dropout, training);
  return fc2->forward(h, ffn, embed);
}

}  // namespace

EncoderLayerImpl::EncoderLayerImpl(int64_t max_embed, const EncoderLayerConfig& cap, bool normalize_before_,
                                   double attention_dropout)
    : normalize_before(normalize_before_) {
  self_attn = register_module("self_attn", ElasticAttention(max_embed, max_embed, cap.self_qkv_dim, attention_dropout));
  self_attn_layer_norm = register_module("self_attn_layer_norm", ElasticLayerNorm(max_embed));
  fc1 = register_module("fc1", ElasticLinear(max_embed, cap.ffn_dim));
  fc2 = register_module("fc2", ElasticLinear(cap.ffn_dim, max_embed));
  final_layer_norm = register_module("final_layer_norm", ElasticLayerNorm(max_embed));
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& padding_mask, int64_t embed,
                                        const EncoderLayerConfig& cfg, const LayerDropout& drop) {
  const AttentionDims dims{embed, embed, cfg.self_qkv_dim, cfg.self_heads};
  auto h = residual_block(x, self_attn_layer_norm, normalize_before, embed, drop.dropout, is_training(),
                          [&](const torch::Tensor& in) { return self_attn->forward(in, in, dims, padding_mask); });
  return residual_block(h, final_layer_norm, normalize_before, embed, drop.dropout, is_training(),
                        [&](const torch::Tensor& in) {
                          return feed_forward(fc1, fc2, in, embed, cfg.ffn_dim, drop.activation_dropout, is_training());
                        });
}

DecoderLayerImpl::DecoderLayerImpl(int64_t max_embed, int64_t max_encoder_embed, const DecoderLayerConfig& cap,
                                   bool normalize_before_, double attention_dropout)
    : normalize_before(normalize_before_) {
  self_attn = register_module("self_attn", ElasticAttention(max_embed, max_embed, cap.self_qkv_dim, attention_dropout));
  self_attn_layer_norm = register_module("self_attn_layer_norm", ElasticLayerNorm(max_embed));
  encoder_attn = register_module("encoder_attn",
                                 ElasticAttention(max_embed, max_encoder_embed, cap.ende_qkv_dim, attention_dropout));
  encoder_attn_layer_norm = register_module("encoder_attn_layer_norm", ElasticLayerNorm(max_embed));
  fc1 = register_module("fc1", ElasticLinear(max_embed, cap.ffn_dim));
  fc2 = register_module("fc2", ElasticLinear(cap.ffn_dim, max_embed));
  final_layer_norm = register_module("final_layer_norm", ElasticLayerNorm(max_embed));
}

template <typename SelfAttention, typename EncoderAttention>
torch::Tensor DecoderLayerImpl::run_blocks(const torch::Tensor& x, int64_t embed, const DecoderLayerConfig& cfg,
                                           const LayerDropout& drop, SelfAttention&& self_attention,
                                           EncoderAttention&& encoder_attention) {
  auto h = residual_block(x, self_attn_layer_norm, normalize_before, embed, drop.dropout, is_training(), self_attention);
  h = residual_block(h, encoder_attn_layer_norm, normalize_before, embed, drop.dropout, is_training(),
                     encoder_attention);
  return residual_block(h, final_layer_norm, normalize_before, embed, drop.dropout, is_training(),
                        [&](const torch::Tensor& in) {
                          return feed_forward(fc1, fc2, in, embed, cfg.ffn_dim, drop.activation_dropout, is_training());
                        });
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& memory,
                                        const torch::Tensor& memory_padding_mask, const torch::Tensor& causal_mask,
                                        int64_t embed, int64_t encoder_embed, const DecoderLayerConfig& cfg,
                                        const LayerDropout& drop) {
  const AttentionDims self_dims{embed, embed, cfg.self_qkv_dim, cfg.self_heads};
  const AttentionDims ende_dims{embed, encoder_embed, cfg.ende_qkv_dim, cfg.ende_heads};
  return run_blocks(
      x, embed, cfg, drop,
      [&](const torch::Tensor& in) { return self_attn->forward(in, in, self_dims, {}, causal_mask); },
      [&](const torch::Tensor& in) { return encoder_attn->forward(in, memory, ende_dims, memory_padding_mask); });
}

DecoderLayerCache DecoderLayerImpl::start_cache(const torch::Tensor& memory, const torch::Tensor& memory_padding_mask,
                                                int64_t encoder_embed, const DecoderLayerConfig& cfg) {
  DecoderLayerCache cache;
  // The query width does not enter the key/value projections; only kv_dim, qkv and heads do.
  const AttentionDims ende_dims{0, encoder_embed, cfg.ende_qkv_dim, cfg.ende_heads};
  cache.encoder_attn = encoder_attn->project_memory(memory, ende_dims, memory_padding_mask);
  return cache;
}

torch::Tensor DecoderLayerImpl::forward_step(const torch::Tensor& x, DecoderLayerCache& cache, int64_t embed,
                                             int64_t encoder_embed, const DecoderLayerConfig& cfg,
                                             const LayerDropout& drop) {
  const AttentionDims self_dims{embed, embed, cfg.self_qkv_dim, cfg.self_heads};
  const AttentionDims ende_dims{embed, encoder_embed, cfg.ende_qkv_dim, cfg.ende_heads};
  return run_blocks(
      x, embed, cfg, drop,
      [&](const torch::Tensor& in) { return self_attn->forward_incremental(in, self_dims, cache.self_attn); },
      [&](const torch::Tensor& in) { return encoder_attn->forward_memory(in, ende_dims, cache.encoder_attn); });
}

}  // namespace thanos
