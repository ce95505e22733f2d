#pragma once
// Building blocks whose weights are allocated at their maximum size and used through their
// "front part" (HAT's rule): a layer asked for width w uses rows/columns [0, w) of the stored
// weight, as a view, never a copy. A standalone SubTransformer uses the same blocks at exactly
// its own sizes, so slicing becomes the identity.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <vector>

#include "thanos/model/decoder_cache.h"

namespace thanos {

// y = x W[:out, :in]^T + b[:out]
class ElasticLinearImpl : public torch::nn::Module {
 public:
  ElasticLinearImpl(int64_t max_in, int64_t max_out, bool bias = true);
  torch::Tensor forward(const torch::Tensor& x, int64_t in, int64_t out);
  void reset_parameters();
  // The [out, in] front slice of the weight and the [out] front of the bias (undefined without
  // one) that forward() applies.
  torch::Tensor sliced_weight(int64_t in, int64_t out);
  torch::Tensor sliced_bias(int64_t out);

  torch::Tensor weight;  // [max_out, max_in]
  torch::Tensor bias;    // [max_out] or undefined
};
TORCH_MODULE(ElasticLinear);

// LayerNorm over the first `dim` features with the first `dim` affine weights.
class ElasticLayerNormImpl : public torch::nn::Module {
 public:
  explicit ElasticLayerNormImpl(int64_t max_dim, double eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x, int64_t dim);

  torch::Tensor weight, bias;
  double eps;
};
TORCH_MODULE(ElasticLayerNorm);

// Sizes one attention call uses (all <= the module's maxima).
struct AttentionDims {
  int64_t query_dim;  // width of the query input and of the output
  int64_t kv_dim;     // width of the key/value input
  int64_t qkv_dim;    // width of Q, K, V after projection (elastic in THANOS)
  int64_t heads;
  int64_t head_dim() const { return qkv_dim / heads; }
};

// Multi-head attention with separate Q, K, V projections (HAT stacks them in one in_proj
// matrix; separate matrices make the front-part rule, extraction and ONNX initializers uniform:
// every weight is sliced [:rows, :cols]). Inputs are batch-first [B, T, C].
class ElasticAttentionImpl : public torch::nn::Module {
 public:
  ElasticAttentionImpl(int64_t max_query_dim, int64_t max_kv_dim, int64_t max_qkv_dim, double attention_dropout);
  // key_padding_mask: [B, Tk] bool, true = padding. attn_mask: [Tq, Tk] float added to scores.
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& key, const AttentionDims& dims,
                        const torch::Tensor& key_padding_mask = {}, const torch::Tensor& attn_mask = {});

  // The query's projection, scaled by head_dim^-0.5 after it (bias included), as fairseq does.
  torch::Tensor project_query(const torch::Tensor& query, const AttentionDims& dims);
  // {k, v} of `input`, or {q, k, v} (q scaled) when with_query (self-attention), each [B, T, qkv];
  // the decoding paths' projections (forward() projects time-major, separately: see there).
  // With many rows (batched decoding, the encoder memory) the sliced weights are stacked and applied
  // in one [N, in] x [in, 2-3 qkv] product instead of HAT's two or three [N, in] x [in, qkv] ones,
  // which at small widths run far below the machine's GEMM rate; with few rows (a decoder step at
  // batch 1) stacking would copy more weight than the products read, so they stay separate.
  std::vector<torch::Tensor> project_qkv(const torch::Tensor& input, const AttentionDims& dims, bool with_query);
  // Attention over head-split inputs [B, heads, T, head_dim] (the decoding paths' layout); returns [B,Tq,query_dim].
  torch::Tensor attend_heads(const torch::Tensor& qh, const torch::Tensor& kh, const torch::Tensor& vh,
                             const AttentionDims& dims, const torch::Tensor& key_padding_mask,
                             const torch::Tensor& attn_mask);
  // [B, T, qkv] -> [B, heads, T, head_dim] (a view).
  static torch::Tensor split_heads(const torch::Tensor& t, const AttentionDims& dims);

  // Incremental decoding. Self-attention of the next positions of a sequence (`query` [B, Tq, C]
  // holds them) over the positions in `cache` and themselves, causally; their keys/values are
  // appended to `cache`. Equals forward(x, x, ...) with a causal mask at those positions.
  torch::Tensor forward_incremental(const torch::Tensor& query, const AttentionDims& dims, AttentionCache& cache);
  // A fixed memory (the encoder output) projected once, then attended at every step.
  AttentionCache project_memory(const torch::Tensor& memory, const AttentionDims& dims,
                                const torch::Tensor& key_padding_mask);
  torch::Tensor forward_memory(const torch::Tensor& query, const AttentionDims& dims, const AttentionCache& memory);

  ElasticLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  double attention_dropout;
 private:
  // Fresh scores [B, heads, Tq, Tk] -> masked (in place), softmax, attention dropout.
  torch::Tensor attention_weights(torch::Tensor scores, const torch::Tensor& key_padding_mask,
                                  const torch::Tensor& attn_mask);
  // [B, heads, Tq, head_dim] -> [B, Tq, qkv] -> the output projection.
  torch::Tensor merge_heads_and_project(const torch::Tensor& heads_out, const AttentionDims& dims);
};
TORCH_MODULE(ElasticAttention);

}  // namespace thanos
