#include "thanos/model/elastic_layers.h"

#include <torch/nn/functional.h>
#include <torch/nn/init.h>

#include <cmath>
#include <stdexcept>

namespace thanos {
namespace F = torch::nn::functional;

namespace {
// The front part [0, len) of `t` along `dim`, or `t` itself when that is all of it: a full-width
// layer (the largest SubTransformer, every layer of a standalone one) then adds no slice to the
// autograd graph, whose backward allocates a zero tensor of the full size and copies into it.
torch::Tensor front(const torch::Tensor& t, int64_t dim, int64_t len) {
  return t.size(dim) == len ? t : t.narrow(dim, 0, len);
}

void require_fits(const char* what, int64_t asked, int64_t max) {
  if (asked <= 0 || asked > max) {
    throw std::invalid_argument(std::string(what) + ": asked for width " + std::to_string(asked) +
                                " but the layer holds at most " + std::to_string(max));
  }
}
}  // namespace

ElasticLinearImpl::ElasticLinearImpl(int64_t max_in, int64_t max_out, bool with_bias) {
  weight = register_parameter("weight", torch::empty({max_out, max_in}));
  if (with_bias) bias = register_parameter("bias", torch::empty({max_out}));
  reset_parameters();
}

void ElasticLinearImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(weight);
  if (bias.defined()) bias.zero_();
}

torch::Tensor ElasticLinearImpl::forward(const torch::Tensor& x, int64_t in, int64_t out) {
  require_fits("linear input", in, weight.size(1));
  require_fits("linear output", out, weight.size(0));
  // ATen's linear, not the C++ frontend's F::linear: for a contiguous [B, T, C] input it fuses the
  // bias into the matrix product (addmm); F::linear runs a matmul and a separate bias addition.
  return torch::linear(x, front(front(weight, 0, out), 1, in), bias.defined() ? front(bias, 0, out) : torch::Tensor());
}

ElasticLayerNormImpl::ElasticLayerNormImpl(int64_t max_dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({max_dim}));
  bias = register_parameter("bias", torch::zeros({max_dim}));
}

torch::Tensor ElasticLayerNormImpl::forward(const torch::Tensor& x, int64_t dim) {
  require_fits("layer norm", dim, weight.size(0));
  return torch::layer_norm(x, {dim}, front(weight, 0, dim), front(bias, 0, dim), eps);
}

ElasticAttentionImpl::ElasticAttentionImpl(int64_t max_query_dim, int64_t max_kv_dim, int64_t max_qkv_dim,
                                           double attention_dropout_)
    : attention_dropout(attention_dropout_) {
  q_proj = register_module("q_proj", ElasticLinear(max_query_dim, max_qkv_dim));
  k_proj = register_module("k_proj", ElasticLinear(max_kv_dim, max_qkv_dim));
  v_proj = register_module("v_proj", ElasticLinear(max_kv_dim, max_qkv_dim));
  out_proj = register_module("out_proj", ElasticLinear(max_qkv_dim, max_query_dim));
}

torch::Tensor ElasticAttentionImpl::project_query(const torch::Tensor& query, const AttentionDims& d) {
  // fairseq/HAT scale q after the projection (bias included) by head_dim^-0.5.
  const double scaling = std::pow(static_cast<double>(d.qkv_dim / d.heads), -0.5);
  return q_proj->forward(query, d.query_dim, d.qkv_dim) * scaling;
}

torch::Tensor ElasticAttentionImpl::project_key(const torch::Tensor& key, const AttentionDims& d) {
  return k_proj->forward(key, d.kv_dim, d.qkv_dim);
}

torch::Tensor ElasticAttentionImpl::project_value(const torch::Tensor& key, const AttentionDims& d) {
  return v_proj->forward(key, d.kv_dim, d.qkv_dim);
}

torch::Tensor ElasticAttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           const AttentionDims& d, const torch::Tensor& key_padding_mask,
                                           const torch::Tensor& attn_mask) {
  if (d.heads <= 0 || d.qkv_dim % d.heads != 0) {
    throw std::invalid_argument("attention: qkv dim " + std::to_string(d.qkv_dim) + " not divisible by " +
                                std::to_string(d.heads) + " heads");
  }
  const int64_t B = q.size(0), Tq = q.size(1), Tk = k.size(1), hd = d.qkv_dim / d.heads;
  auto split = [&](const torch::Tensor& t, int64_t T) { return t.reshape({B, T, d.heads, hd}).transpose(1, 2); };
  auto qh = split(q, Tq), kh = split(k, Tk), vh = split(v, Tk);
  auto scores = torch::matmul(qh, kh.transpose(-2, -1));  // [B, H, Tq, Tk]
  // Masks are applied in place: the scores are a fresh tensor whose product's backward needs only
  // its inputs, so this saves two score-sized allocations and passes.
  if (attn_mask.defined()) scores.add_(attn_mask);
  if (key_padding_mask.defined()) {
    scores.masked_fill_(key_padding_mask.view({B, 1, 1, Tk}), -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(scores, -1);
  if (attention_dropout > 0 && is_training()) probs = F::dropout(probs, F::DropoutFuncOptions().p(attention_dropout).training(true));
  auto out = torch::matmul(probs, vh).transpose(1, 2).reshape({B, Tq, d.qkv_dim});
  return out_proj->forward(out, d.qkv_dim, d.query_dim);
}

torch::Tensor ElasticAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                            const AttentionDims& dims, const torch::Tensor& key_padding_mask,
                                            const torch::Tensor& attn_mask) {
  return attend(project_query(query, dims), project_key(key, dims), project_value(key, dims), dims, key_padding_mask,
                attn_mask);
}

}  // namespace thanos
