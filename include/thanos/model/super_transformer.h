#pragma once
// The elastic encoder-decoder Transformer (HAT's SuperTransformer, plus elastic QKV widths).
// Every forward pass takes the SubConfig to run; the module's weights never change shape, so
// named_parameters() is fixed and an optimiser sees the same tensors whatever is sampled.
//
// The same class is the standalone SubTransformer: built with ModelOptions whose capacity is
// exactly one SubConfig, slicing is the identity (see extract.h).
#include <torch/nn/modules/container/modulelist.h>

#include <vector>

#include "thanos/model/model_options.h"
#include "thanos/model/transformer_layers.h"

namespace thanos {

// Token embedding table [vocab, max_dim]; lookups use its first `dim` columns.
class TokenEmbeddingImpl : public torch::nn::Module {
 public:
  TokenEmbeddingImpl(int64_t vocab_size, int64_t max_dim, int64_t padding_idx);
  torch::Tensor forward(const torch::Tensor& tokens, int64_t dim);
  torch::Tensor weight;
};
TORCH_MODULE(TokenEmbedding);

// fairseq's sinusoidal positions, stored as a buffer so a standalone model carries exactly the
// (sliced) table its SuperTransformer used. Row p is position p (fairseq counts from
// padding_idx + 1); the padding row is zero.
class SinusoidalPositionsImpl : public torch::nn::Module {
 public:
  SinusoidalPositionsImpl(int64_t max_positions, int64_t table_dim, int64_t stored_dim, int64_t padding_idx);
  // [B, T] tokens -> [B, T, dim] positions (padding tokens get the zero row).
  torch::Tensor forward(const torch::Tensor& tokens, int64_t dim);
  // [count, dim]: the rows of positions first, ..., first + count - 1 of an unpadded sequence
  // (what forward() gives those tokens when none before them is padding); incremental decoding.
  torch::Tensor range(int64_t first, int64_t count, int64_t dim);
  // fairseq's SinusoidalPositionalEmbedding.get_embedding: sin half then cos half.
  static torch::Tensor table(int64_t num_rows, int64_t dim, int64_t padding_idx);
  torch::Tensor weight;  // buffer [max_positions + padding_idx + 1, stored_dim]
  int64_t padding_idx;
};
TORCH_MODULE(SinusoidalPositions);

struct EncoderOutput {
  // Outputs of the active encoder layers, first to last, each [B, S, embed]; the last one
  // passed through the final layer norm when pre-norm is on (as HAT).
  std::vector<torch::Tensor> layer_outputs;
  torch::Tensor padding_mask;  // [B, S] bool, true at padding
};

class TransformerEncoderImpl : public torch::nn::Module {
 public:
  TransformerEncoderImpl(const ModelOptions& options, TokenEmbedding embed_tokens);
  EncoderOutput forward(const torch::Tensor& src_tokens, const SubConfig& cfg);

  TokenEmbedding embed_tokens{nullptr};
  SinusoidalPositions embed_positions{nullptr};
  torch::nn::ModuleList layers;
  ElasticLayerNorm layer_norm{nullptr};  // only with encoder_normalize_before
  ModelOptions options;
};
TORCH_MODULE(TransformerEncoder);

class TransformerDecoderImpl : public torch::nn::Module {
 public:
  // `shared_embed_tokens`: the encoder's table when all embeddings are shared (not registered
  // again here, so the parameter appears once, as encoder.embed_tokens.weight).
  TransformerDecoderImpl(const ModelOptions& options, TokenEmbedding shared_embed_tokens);
  // Teacher-forced: prev_tokens [B, T] -> logits [B, T, tgt_vocab].
  torch::Tensor forward(const torch::Tensor& prev_tokens, const EncoderOutput& encoder_out, const SubConfig& cfg);
  // The same before the output projection: [B, T, embed] (forward = output_layer(features)).
  torch::Tensor features(const torch::Tensor& prev_tokens, const EncoderOutput& encoder_out, const SubConfig& cfg);
  // The encoder-decoder attention memory of decoder layer i: HAT's arbitrary attention
  // concatenates the last k encoder outputs along time as [last, second-to-last, ...] and
  // repeats the padding mask to match.
  static std::pair<torch::Tensor, torch::Tensor> attention_memory(const EncoderOutput& encoder_out, int attended_layers);
  torch::Tensor output_layer(const torch::Tensor& features, int64_t dim);

  // Incremental decoding (docs/DECODING.md): start_cache() projects every layer's
  // encoder-decoder keys/values once; forward_step() feeds the next tokens [B, Tq] (usually one:
  // the token chosen at the previous step) and returns their logits [B, Tq, tgt_vocab], equal to
  // forward()'s at those positions of the whole prefix.
  DecoderCache start_cache(const EncoderOutput& encoder_out, const SubConfig& cfg);
  torch::Tensor forward_step(const torch::Tensor& tokens, DecoderCache& cache, const SubConfig& cfg);

  TokenEmbedding embed_tokens{nullptr};
  SinusoidalPositions embed_positions{nullptr};
  torch::nn::ModuleList layers;
  ElasticLayerNorm layer_norm{nullptr};
  torch::Tensor output_projection;  // [tgt_vocab, max_dim]; only when not tied to embed_tokens
  ModelOptions options;
};
TORCH_MODULE(TransformerDecoder);

class SuperTransformerImpl : public torch::nn::Module {
 public:
  explicit SuperTransformerImpl(const ModelOptions& options);
  // src_tokens [B, S], prev_output_tokens [B, T] -> logits [B, T, tgt_vocab].
  torch::Tensor forward(const torch::Tensor& src_tokens, const torch::Tensor& prev_output_tokens, const SubConfig& cfg);
  EncoderOutput encode(const torch::Tensor& src_tokens, const SubConfig& cfg);
  torch::Tensor decode(const torch::Tensor& prev_output_tokens, const EncoderOutput& encoder_out, const SubConfig& cfg);
  // Incremental decoding: a cache for `encoder_out`'s rows, then one call per step with the
  // newest tokens [B, 1] -> logits [B, 1, tgt_vocab] (see TransformerDecoderImpl).
  DecoderCache start_decoding(const EncoderOutput& encoder_out, const SubConfig& cfg);
  torch::Tensor decode_step(const torch::Tensor& tokens, DecoderCache& cache, const SubConfig& cfg);

  // Throws std::invalid_argument when `cfg` does not fit this model's capacity.
  void check_fits(const SubConfig& cfg) const;
  const ModelOptions& options() const { return options_; }

  TransformerEncoder encoder{nullptr};
  TransformerDecoder decoder{nullptr};

 private:
  ModelOptions options_;
};
TORCH_MODULE(SuperTransformer);

// HAT's dropout for a sampled width: p * sampled_dim / super_dim.
double scaled_dropout(double p, int64_t sampled_dim, int64_t super_dim);

}  // namespace thanos
