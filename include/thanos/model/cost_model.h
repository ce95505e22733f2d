#pragma once
// Parameters and FLOPs of a SubTransformer, computed from its config alone (no network built).
#include <cstdint>

#include "thanos/space/search_space.h"
#include "thanos/space/sub_config.h"

namespace thanos {

// HAT's profiling lengths.
constexpr int kHatWmtLength = 30;
constexpr int kHatIwsltLength = 23;

struct ParamCount {
  std::int64_t encoder_layers = 0;  // all encoder layers (+ final norm when pre-norm)
  std::int64_t decoder_layers = 0;  // all decoder layers (+ final norm when pre-norm)
  std::int64_t embeddings = 0;      // token tables and an untied output projection
  // HAT's "#Params": encoder and decoder layers only, no embedding tables or output projection.
  std::int64_t no_embed() const { return encoder_layers + decoder_layers; }
  // Every parameter of the standalone model.
  std::int64_t total() const { return no_embed() + embeddings; }
};

// Vocabulary and sharing decide the embedding part; the layers depend only on `config`.
ParamCount count_params(const SubConfig& config, const ModelHyperParams& hyper, int src_vocab_size, int tgt_vocab_size);

// Forward FLOPs in HAT's convention: 2 x multiply-accumulates of one teacher-forced pass at batch
// 1 with the given source/target lengths (HAT: 30 for WMT, 23 for IWSLT), excluding the
// embedding lookups and the output projection.
struct FlopCount {
  // Matrix products only: linear layers, attention scores and attention-weighted values (the
  // encoder-decoder attention's keys/values span every attended encoder layer).
  std::int64_t matmul = 0;
  // What HAT's profiler (torchprofile) also counts: one multiply per element for the embedding
  // scaling (x * sqrt(dim)), each query scaling and each affine layer norm's output. HAT's
  // published FLOPs include it (about 0.05%; it decides the rounding of some published values).
  std::int64_t elementwise = 0;
  std::int64_t encoder = 0;  // part of total() spent in the encoder
  std::int64_t decoder = 0;  // part of total() spent in the decoder
  std::int64_t total() const { return matmul + elementwise; }
};

FlopCount count_flops(const SubConfig& config, const ModelHyperParams& hyper, int src_len, int tgt_len);

// Analytic peak memory of one inference run under the latency protocol (docs/MEASUREMENT.md),
// beside the measured figure: weights (every parameter, embedding tables and output projection
// included, plus the sinusoidal position tables the model stores), the encoder outputs (one row,
// and one copy per beam row for the decoder), the decoder's key/value caches after `tgt_len`
// steps (self-attention storage grows by doubling from 16 positions; encoder-decoder keys/values
// span every attended encoder layer) and the largest per-step temporaries (logits, FFN hidden).
struct MemoryEstimate {
  double weights_mib = 0;
  double encoder_outputs_mib = 0;
  double kv_cache_mib = 0;
  double transient_mib = 0;
  double total_mib() const { return weights_mib + encoder_outputs_mib + kv_cache_mib + transient_mib; }
};

struct InferenceShape {
  int src_len = kHatWmtLength;
  int tgt_len = kHatWmtLength;
  int beam = 5;
  int vocab_size = 32768;
  int bytes_per_value = 4;
};

MemoryEstimate estimate_inference_memory(const SubConfig& config, const ModelHyperParams& hyper, const InferenceShape& shape);

// Size in MiB of `params` values of `bytes_per_value` bytes.
double params_mib(std::int64_t params, int bytes_per_value);

}  // namespace thanos
