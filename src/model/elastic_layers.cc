#include "thanos/model/elastic_layers.h"

#include <torch/nn/functional.h>
#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <limits>
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
void check_heads(const AttentionDims& d) {
  if (d.heads <= 0 || d.qkv_dim % d.heads != 0) {
    throw std::invalid_argument("attention: qkv dim " + std::to_string(d.qkv_dim) + " not divisible by " +
                                std::to_string(d.heads) + " heads");
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

torch::Tensor ElasticLinearImpl::sliced_weight(int64_t in, int64_t out) {
  require_fits("linear input", in, weight.size(1));
  require_fits("linear output", out, weight.size(0));
  return front(front(weight, 0, out), 1, in);
}

torch::Tensor ElasticLinearImpl::sliced_bias(int64_t out) {
  require_fits("linear output", out, weight.size(0));
  return bias.defined() ? front(bias, 0, out) : torch::Tensor();
}

torch::Tensor ElasticLinearImpl::forward(const torch::Tensor& x, int64_t in, int64_t out) {
  // ATen's linear, not the C++ frontend's F::linear: for a contiguous [B, T, C] input it fuses the
  // bias into the matrix product (addmm); F::linear runs a matmul and a separate bias addition.
  return torch::linear(x, sliced_weight(in, out), sliced_bias(out));
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

namespace {
// fairseq/HAT scale q after the projection (bias included) by head_dim^-0.5.
double query_scaling(const AttentionDims& d) { return std::pow(static_cast<double>(d.head_dim()), -0.5); }
}  // namespace

torch::Tensor ElasticAttentionImpl::project_query(const torch::Tensor& query, const AttentionDims& d) {
  return q_proj->forward(query, d.query_dim, d.qkv_dim) * query_scaling(d);
}

std::vector<torch::Tensor> ElasticAttentionImpl::project_qkv(const torch::Tensor& input, const AttentionDims& d,
                                                             bool with_query) {
  const int64_t in = with_query ? d.query_dim : d.kv_dim;
  const int64_t rows = input.numel() / std::max<int64_t>(input.size(-1), 1);
  std::vector<ElasticLinear*> projections;
  if (with_query) projections.push_back(&q_proj);
  projections.push_back(&k_proj);
  projections.push_back(&v_proj);
  std::vector<torch::Tensor> out;
  // Copying the sliced weights into one costs 1/rows of the product's work: stacked from 32 rows on.
  constexpr int64_t kMinRowsToStack = 32;
  if (rows < kMinRowsToStack) {
    for (ElasticLinear* p : projections) out.push_back((*p)->forward(input, in, d.qkv_dim));
  } else {
    std::vector<torch::Tensor> weights, biases;
    for (ElasticLinear* p : projections) {
      weights.push_back((*p)->sliced_weight(in, d.qkv_dim));
      biases.push_back((*p)->sliced_bias(d.qkv_dim));
    }
    const bool with_bias = std::all_of(biases.begin(), biases.end(), [](const torch::Tensor& b) { return b.defined(); });
    out = torch::linear(input, torch::cat(weights, 0), with_bias ? torch::cat(biases, 0) : torch::Tensor()).split(d.qkv_dim, -1);
  }
  if (with_query) out[0] = out[0] * query_scaling(d);
  return out;
}

torch::Tensor ElasticAttentionImpl::split_heads(const torch::Tensor& t, const AttentionDims& d) {
  return t.reshape({t.size(0), t.size(1), d.heads, d.head_dim()}).transpose(1, 2);
}

torch::Tensor ElasticAttentionImpl::attention_weights(torch::Tensor scores, const torch::Tensor& key_padding_mask,
                                                      const torch::Tensor& attn_mask) {
  const int64_t B = scores.size(0), Tk = scores.size(3);
  // Masks are applied in place: the scores are a fresh tensor whose product's backward needs only
  // its inputs, so this saves two score-sized allocations and passes.
  if (attn_mask.defined()) scores.add_(attn_mask);
  if (key_padding_mask.defined()) {
    scores.masked_fill_(key_padding_mask.view({B, 1, 1, Tk}), -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(scores, -1);
  if (attention_dropout > 0 && is_training()) probs = F::dropout(probs, F::DropoutFuncOptions().p(attention_dropout).training(true));
  return probs;
}

torch::Tensor ElasticAttentionImpl::merge_heads_and_project(const torch::Tensor& heads_out, const AttentionDims& d) {
  const int64_t B = heads_out.size(0), Tq = heads_out.size(2);
  return out_proj->forward(heads_out.transpose(1, 2).reshape({B, Tq, d.qkv_dim}), d.qkv_dim, d.query_dim);
}

torch::Tensor ElasticAttentionImpl::attend_heads(const torch::Tensor& qh, const torch::Tensor& kh,
                                                 const torch::Tensor& vh, const AttentionDims& d,
                                                 const torch::Tensor& key_padding_mask, const torch::Tensor& attn_mask) {
  const auto probs = attention_weights(torch::matmul(qh, kh.transpose(-2, -1)), key_padding_mask, attn_mask);
  return merge_heads_and_project(torch::matmul(probs, vh), d);
}

torch::Tensor ElasticAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                            const AttentionDims& dims, const torch::Tensor& key_padding_mask,
                                            const torch::Tensor& attn_mask) {
  check_heads(dims);
  // Time-major inside, as fairseq: projected from [T, B, C], each head of q, k and v is a view
  // [B*heads, T, head_dim] that bmm reads in place (rows strided, columns contiguous). From
  // batch-major [B, T, C] the heads ([B, heads, T, head_dim]) cannot be flattened into one batch
  // dimension without copying q, k and v, and matmul copied all three (and their gradients back);
  // here one copy of the input replaces them. Measured with bench/thanos_bench_train on 2 cores:
  // the `small` size went from 1.18x to 1.24-1.30x of the PyTorch peer (bench/README.md). The
  // projections stay separate: stacking them would interleave q, k, v per row and need the copies.
  const int64_t B = query.size(0), Tq = query.size(1), Tk = key.size(1);
  const int64_t heads = dims.heads, head_dim = dims.head_dim();
  const bool self_attention = query.is_same(key) && dims.query_dim == dims.kv_dim;
  const torch::Tensor query_tm = query.transpose(0, 1).contiguous();
  const torch::Tensor key_tm = self_attention ? query_tm : key.transpose(0, 1).contiguous();
  auto split = [&](const torch::Tensor& t) { return t.view({t.size(0), B * heads, head_dim}).transpose(0, 1); };
  const auto q = split(project_query(query_tm, dims));
  const auto k = split(k_proj->forward(key_tm, dims.kv_dim, dims.qkv_dim));
  const auto v = split(v_proj->forward(key_tm, dims.kv_dim, dims.qkv_dim));
  const auto probs = attention_weights(torch::bmm(q, k.transpose(1, 2)).view({B, heads, Tq, Tk}), key_padding_mask, attn_mask);
  return merge_heads_and_project(torch::bmm(probs.view({B * heads, Tq, Tk}), v).view({B, heads, Tq, head_dim}), dims);
}

torch::Tensor ElasticAttentionImpl::forward_incremental(const torch::Tensor& query, const AttentionDims& dims,
                                                        AttentionCache& cache) {
  check_heads(dims);
  const auto qkv = project_qkv(query, dims, true);
  auto kh = split_heads(qkv[1], dims), vh = split_heads(qkv[2], dims);
  const int64_t past = cache.positions(), Tq = query.size(1);
  cache.append(kh, vh);
  // One new position sees everything cached; several (a prefix fed at once) see causally.
  torch::Tensor causal;
  if (Tq > 1) {
    causal = torch::triu(torch::full({Tq, past + Tq}, -std::numeric_limits<float>::infinity(), kh.options()), past + 1);
  }
  return attend_heads(split_heads(qkv[0], dims), cache.key, cache.value, dims, {}, causal);
}

AttentionCache ElasticAttentionImpl::project_memory(const torch::Tensor& memory, const AttentionDims& dims,
                                                    const torch::Tensor& key_padding_mask) {
  check_heads(dims);
  AttentionCache cache;
  const auto kv = project_qkv(memory, dims, false);
  cache.key = split_heads(kv[0], dims).contiguous();
  cache.value = split_heads(kv[1], dims).contiguous();
  cache.key_padding_mask = key_padding_mask;
  return cache;
}

torch::Tensor ElasticAttentionImpl::forward_memory(const torch::Tensor& query, const AttentionDims& dims,
                                                   const AttentionCache& memory) {
  check_heads(dims);
  return attend_heads(split_heads(project_query(query, dims), dims), memory.key, memory.value, dims,
                      memory.key_padding_mask, {});
}

// ------------------------------------------------------------------ incremental decoding cache

void AttentionCache::append(const torch::Tensor& new_key, const torch::Tensor& new_value) {
  const int64_t len = positions(), n = new_key.size(2);
  if (!key_storage_.defined() || len + n > key_storage_.size(2)) {
    const int64_t capacity = std::max<int64_t>({16, 2 * len, len + n});
    auto grow = [&](const torch::Tensor& filled, const torch::Tensor& like) {
      auto storage = torch::empty({like.size(0), like.size(1), capacity, like.size(3)}, like.options());
      if (len > 0) storage.narrow(2, 0, len).copy_(filled);
      return storage;
    };
    key_storage_ = grow(key, new_key);
    value_storage_ = grow(value, new_value);
    spare_key_ = spare_value_ = torch::Tensor();
  }
  key_storage_.narrow(2, len, n).copy_(new_key);
  value_storage_.narrow(2, len, n).copy_(new_value);
  key = key_storage_.narrow(2, 0, len + n);
  value = value_storage_.narrow(2, 0, len + n);
}

void AttentionCache::reorder(const torch::Tensor& rows) {
  if (key_padding_mask.defined()) key_padding_mask = key_padding_mask.index_select(0, rows);
  if (!key_storage_.defined()) {  // a fixed memory, or nothing yet
    if (key.defined()) key = key.index_select(0, rows);
    if (value.defined()) value = value.index_select(0, rows);
    return;
  }
  // Gathering into fresh tensors would cost a large allocation per step, and the page faults of
  // fresh memory dominate the copy itself (measured ~10x slower than into a kept buffer).
  const int64_t len = positions();
  auto gather = [&](torch::Tensor& storage, torch::Tensor& spare) {
    if (!spare.defined() || spare.size(0) != rows.size(0) || spare.size(2) != storage.size(2)) {
      spare = torch::empty({rows.size(0), storage.size(1), storage.size(2), storage.size(3)}, storage.options());
    }
    torch::Tensor front = spare.narrow(2, 0, len);  // a view: the gather lands in `spare`
    torch::index_select_out(front, storage.narrow(2, 0, len), 0, rows);
    std::swap(storage, spare);
  };
  gather(key_storage_, spare_key_);
  gather(value_storage_, spare_value_);
  key = key_storage_.narrow(2, 0, len);
  value = value_storage_.narrow(2, 0, len);
}

}  // namespace thanos
