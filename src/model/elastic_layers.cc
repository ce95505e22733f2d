#include "thanos/model/elastic_layers.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <ATen/core/PhiloxRNGEngine.h>
#include <torch/autograd.h>
#include <torch/nn/functional.h>
#include <torch/nn/init.h>

#include <cmath>
#include <mutex>
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
// a [N, n, k] x b [N, k, m] -> [N, n, m]: torch::bmm on contiguous slices of the batch, one slice
// per thread. Worker threads get the caller's thread-local state (inference mode, profiler); the
// inputs are detached, as autograd records the product in BatchedMatmul, not here.
torch::Tensor threaded_bmm(const torch::Tensor& a, const torch::Tensor& b) {
  auto out = torch::empty({a.size(0), a.size(1), b.size(2)}, a.options().requires_grad(false));
  const auto ad = a.detach(), bd = b.detach();
  const at::ThreadLocalState state;
  at::parallel_for(0, a.size(0), 1, [&](int64_t begin, int64_t end) {
    at::ThreadLocalStateGuard guard(state);
    torch::NoGradGuard no_grad;
    auto o = out.narrow(0, begin, end - begin);
    at::bmm_out(o, ad.narrow(0, begin, end - begin), bd.narrow(0, begin, end - begin));
  });
  return out;
}

class BatchedMatmul : public torch::autograd::Function<BatchedMatmul> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return threaded_bmm(a, b);
  }
  // bmm's derivatives (autograd's derivatives.yaml), computed the same way.
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& g = grads[0];
    torch::Tensor ga, gb;
    if (ctx->needs_input_grad(0)) ga = threaded_bmm(g, saved[1].transpose(1, 2));
    if (ctx->needs_input_grad(1)) gb = threaded_bmm(saved[0].transpose(1, 2), g);
    return {ga, gb};
  }
};

}  // namespace

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (!a.is_cpu() || a.dim() < 3 || a.dim() != b.dim() || at::get_num_threads() < 2 || at::in_parallel_region() ||
      a.sizes().slice(0, a.dim() - 2) != b.sizes().slice(0, b.dim() - 2)) {
    return torch::matmul(a, b);
  }
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end() - 2);
  shape.push_back(a.size(-2));
  shape.push_back(b.size(-1));
  // As torch::matmul: fold the batch dimensions (copying non-contiguous operands), multiply,
  // unfold with _unsafe_view (the result is not a view for autograd, so it may be changed in place).
  auto out = BatchedMatmul::apply(a.reshape({-1, a.size(-2), a.size(-1)}), b.reshape({-1, b.size(-2), b.size(-1)}));
  return at::_unsafe_view(out, shape);
}

torch::Tensor apply_dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (p >= 1 || !x.is_cpu() || x.scalar_type() != torch::kFloat) {
    return F::dropout(x, F::DropoutFuncOptions().p(p).training(true));
  }
  std::uint64_t seed = 0;
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    seed = at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
  }
  auto mask = torch::empty(x.sizes(), x.options().requires_grad(false));
  float* m = mask.data_ptr<float>();
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  // Keep an element when the top 24 bits of its random word are >= p * 2^24.
  const auto threshold = static_cast<std::uint32_t>(std::ceil(p * 16777216.0));
  at::parallel_for(0, mask.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    // Element i takes word i % 4 of Philox block i / 4, whatever the split over threads.
    at::Philox4_32 engine(seed, 0, static_cast<std::uint64_t>(begin / 4));
    for (int64_t k = 0; k < begin % 4; ++k) engine();
    for (int64_t i = begin; i < end; ++i) m[i] = (engine() >> 8) >= threshold ? scale : 0.0f;
  });
  return x * mask;
}

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
  auto scores = batched_matmul(qh, kh.transpose(-2, -1));  // [B, H, Tq, Tk]
  // Masks are applied in place: the scores are a fresh tensor whose product's backward needs only
  // its inputs, so this saves two score-sized allocations and passes.
  if (attn_mask.defined()) scores.add_(attn_mask);
  if (key_padding_mask.defined()) {
    scores.masked_fill_(key_padding_mask.view({B, 1, 1, Tk}), -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(scores, -1);
  probs = apply_dropout(probs, attention_dropout, is_training());
  auto out = batched_matmul(probs, vh).transpose(1, 2).reshape({B, Tq, d.qkv_dim});
  return out_proj->forward(out, d.qkv_dim, d.query_dim);
}

torch::Tensor ElasticAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                            const AttentionDims& dims, const torch::Tensor& key_padding_mask,
                                            const torch::Tensor& attn_mask) {
  return attend(project_query(query, dims), project_key(key, dims), project_value(key, dims), dims, key_padding_mask,
                attn_mask);
}

}  // namespace thanos
