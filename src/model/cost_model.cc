#include "thanos/model/cost_model.h"

#include <algorithm>

namespace thanos {
namespace {

std::int64_t linear(std::int64_t in, std::int64_t out) { return in * out + out; }
std::int64_t layer_norm(std::int64_t d) { return 2 * d; }
// Q from query_dim, K and V from kv_dim, output back to query_dim; all with biases.
std::int64_t attention(std::int64_t query_dim, std::int64_t kv_dim, std::int64_t qkv) {
  return linear(query_dim, qkv) + 2 * linear(kv_dim, qkv) + linear(qkv, query_dim);
}

}  // namespace

ParamCount count_params(const SubConfig& c, const ModelHyperParams& hyper, int src_vocab_size, int tgt_vocab_size) {
  ParamCount p;
  const std::int64_t e = c.encoder_embed_dim, d = c.decoder_embed_dim;
  for (const auto& l : c.encoder_layers) {
    p.encoder_layers += attention(e, e, l.self_qkv_dim) + layer_norm(e) + linear(e, l.ffn_dim) + linear(l.ffn_dim, e) +
                        layer_norm(e);
  }
  if (hyper.encoder_normalize_before) p.encoder_layers += layer_norm(e);
  for (const auto& l : c.decoder_layers) {
    p.decoder_layers += attention(d, d, l.self_qkv_dim) + layer_norm(d) + attention(d, e, l.ende_qkv_dim) +
                        layer_norm(d) + linear(d, l.ffn_dim) + linear(l.ffn_dim, d) + layer_norm(d);
  }
  if (hyper.decoder_normalize_before) p.decoder_layers += layer_norm(d);
  if (hyper.share_all_embeddings) {
    p.embeddings = static_cast<std::int64_t>(src_vocab_size) * std::max(e, d);
  } else {
    p.embeddings = static_cast<std::int64_t>(src_vocab_size) * e + static_cast<std::int64_t>(tgt_vocab_size) * d;
  }
  if (!hyper.share_decoder_input_output) p.embeddings += static_cast<std::int64_t>(tgt_vocab_size) * d;
  return p;
}

FlopCount count_flops(const SubConfig& c, const ModelHyperParams& hyper, int src_len, int tgt_len) {
  // Multiply-accumulates first; FLOPs = 2 x MACs at the end.
  const std::int64_t S = src_len, T = tgt_len, e = c.encoder_embed_dim, d = c.decoder_embed_dim;
  // The token-embedding scaling (x * sqrt(dim)) is one multiply per element on each side; HAT's
  // profiler counts it (the lookups themselves are not arithmetic).
  std::int64_t enc_mm = 0, enc_ew = S * e, dec_mm = 0, dec_ew = T * d;
  for (const auto& l : c.encoder_layers) {
    const std::int64_t q = l.self_qkv_dim;
    enc_mm += S * e * q * 3 + S * q * e   // Q, K, V and output projections
              + 2 * S * S * q             // scores and weighted values, all heads together
              + 2 * S * e * l.ffn_dim;    // fc1, fc2
    enc_ew += S * q + 2 * S * e;          // query scaling, two layer norms
  }
  if (hyper.encoder_normalize_before) enc_ew += S * e;
  for (const auto& l : c.decoder_layers) {
    const std::int64_t qs = l.self_qkv_dim, qe = l.ende_qkv_dim, M = S * l.ende_attn_layers;
    dec_mm += T * d * qs * 3 + T * qs * d + 2 * T * T * qs  // self-attention, teacher-forced (T x T)
              + T * d * qe + 2 * M * e * qe + T * qe * d    // encoder-decoder attention projections
              + 2 * T * M * qe                              // its scores and values over M memory steps
              + 2 * T * d * l.ffn_dim;
    dec_ew += T * qs + T * qe + 3 * T * d;
  }
  if (hyper.decoder_normalize_before) dec_ew += T * d;
  FlopCount f;
  f.matmul = 2 * (enc_mm + dec_mm);
  f.elementwise = 2 * (enc_ew + dec_ew);
  f.encoder = 2 * (enc_mm + enc_ew);
  f.decoder = 2 * (dec_mm + dec_ew);
  return f;
}

MemoryEstimate estimate_inference_memory(const SubConfig& c, const ModelHyperParams& hyper, const InferenceShape& shape) {
  const double b = shape.bytes_per_value, mib = 1024.0 * 1024.0;
  const std::int64_t S = shape.src_len, T = shape.tgt_len, beam = shape.beam, V = shape.vocab_size;
  const std::int64_t e = c.encoder_embed_dim, d = c.decoder_embed_dim;
  MemoryEstimate m;
  // Position tables: rows for max positions + padding_idx (1) + 1, at the model's width.
  const std::int64_t src_rows = std::max<std::int64_t>(hyper.max_source_positions, S + 2) + 2;
  const std::int64_t tgt_rows = std::max<std::int64_t>(hyper.max_target_positions, T + 2) + 2;
  const std::int64_t weights = count_params(c, hyper, shape.vocab_size, shape.vocab_size).total() + src_rows * e + tgt_rows * d;
  m.weights_mib = weights * b / mib;
  // Every encoder layer's output is kept (arbitrary attention reads the last few), once for the
  // sentence and once per beam row.
  m.encoder_outputs_mib = static_cast<double>(c.encoder_layer_num()) * (1 + beam) * S * e * b / mib;
  // Self-attention storage after T steps: capacity 16, doubled whenever full.
  std::int64_t capacity = 16;
  while (capacity < T) capacity *= 2;
  std::int64_t cache = 0, widest_ffn = 0;
  for (const auto& l : c.decoder_layers) {
    cache += 2 * beam * capacity * l.self_qkv_dim;
    cache += 2 * beam * S * l.ende_attn_layers * l.ende_qkv_dim;
    widest_ffn = std::max<std::int64_t>(widest_ffn, l.ffn_dim);
  }
  m.kv_cache_mib = cache * b / mib;
  // One step's largest temporaries live together: logits [beam, V] and the FFN hidden layer.
  m.transient_mib = (beam * V + beam * widest_ffn) * b / mib;
  return m;
}

double params_mib(std::int64_t params, int bytes_per_value) {
  return static_cast<double>(params) * bytes_per_value / (1024.0 * 1024.0);
}

}  // namespace thanos
