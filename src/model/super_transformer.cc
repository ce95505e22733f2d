#include "thanos/model/super_transformer.h"

#include <torch/nn/functional.h>
#include <torch/nn/init.h>

#include <cmath>
#include <map>
#include <stdexcept>

namespace thanos {
namespace F = torch::nn::functional;

namespace {

void fail_fit(const std::string& field, int asked, int held) {
  throw std::invalid_argument(field + " = " + std::to_string(asked) + " does not fit the model, which holds at most " +
                              std::to_string(held));
}

torch::Tensor maybe_dropout(const torch::Tensor& x, double p, bool training) {
  return (p > 0 && training) ? F::dropout(x, F::DropoutFuncOptions().p(p).training(true)) : x;
}

int position_dim(int requested, int embed) { return requested > 0 ? requested : embed; }

// The first `len` columns of `t`, or `t` itself when that is all of it (then autograd records no
// slice, whose backward would allocate and fill a full-size gradient).
torch::Tensor front_columns(const torch::Tensor& t, int64_t len) { return t.size(1) == len ? t : t.narrow(1, 0, len); }

// HAT's dropout for a width, and the scaled token embedding plus positions, shared by both stacks.
LayerDropout layer_dropout(const ModelHyperParams& hyper, int64_t dim, int64_t capacity_dim) {
  return {scaled_dropout(hyper.dropout, dim, capacity_dim), scaled_dropout(hyper.activation_dropout, dim, capacity_dim)};
}

torch::Tensor embed_with_positions(TokenEmbedding& tokens_table, const torch::Tensor& tokens,
                                   const torch::Tensor& positions, int64_t dim, double dropout, bool training) {
  auto x = tokens_table->forward(tokens, dim) * std::sqrt(static_cast<double>(dim));
  x = x + positions;
  return maybe_dropout(x, dropout, training);
}

torch::Tensor embed_input(TokenEmbedding& tokens_table, SinusoidalPositions& positions, const torch::Tensor& tokens,
                          int64_t dim, double dropout, bool training) {
  return embed_with_positions(tokens_table, tokens, positions->forward(tokens, dim), dim, dropout, training);
}

}  // namespace

double scaled_dropout(double p, int64_t sampled_dim, int64_t super_dim) {
  return p * static_cast<double>(sampled_dim) / static_cast<double>(super_dim);
}

// ------------------------------------------------------------------ embeddings

TokenEmbeddingImpl::TokenEmbeddingImpl(int64_t vocab_size, int64_t max_dim, int64_t padding_idx) {
  // fairseq: N(0, dim^-0.5), padding row zero.
  weight = register_parameter("weight", torch::empty({vocab_size, max_dim}));
  torch::NoGradGuard no_grad;
  weight.normal_(0, std::pow(static_cast<double>(max_dim), -0.5));
  if (padding_idx >= 0 && padding_idx < vocab_size) weight[padding_idx].zero_();
}

torch::Tensor TokenEmbeddingImpl::forward(const torch::Tensor& tokens, int64_t dim) {
  return F::embedding(tokens, front_columns(weight, dim));
}

torch::Tensor SinusoidalPositionsImpl::table(int64_t num_rows, int64_t dim, int64_t padding_idx) {
  const int64_t half = dim / 2;
  const double step = std::log(10000.0) / static_cast<double>(half - 1);
  auto freq = torch::exp(torch::arange(half, torch::kFloat) * -step);
  auto angles = torch::arange(num_rows, torch::kFloat).unsqueeze(1) * freq.unsqueeze(0);
  auto t = torch::cat({torch::sin(angles), torch::cos(angles)}, 1);
  if (dim % 2 == 1) t = torch::cat({t, torch::zeros({num_rows, 1})}, 1);
  if (padding_idx >= 0 && padding_idx < num_rows) t[padding_idx].zero_();
  return t;
}

SinusoidalPositionsImpl::SinusoidalPositionsImpl(int64_t max_positions, int64_t table_dim, int64_t stored_dim,
                                                 int64_t padding_idx_)
    : padding_idx(padding_idx_) {
  const int64_t rows = max_positions + padding_idx + 1;
  weight = register_buffer("weight", table(rows, table_dim, padding_idx).narrow(1, 0, stored_dim).contiguous());
}

torch::Tensor SinusoidalPositionsImpl::forward(const torch::Tensor& tokens, int64_t dim) {
  // fairseq make_positions: count non-padding tokens; padding maps to padding_idx (zero row).
  auto mask = tokens.ne(padding_idx).to(torch::kLong);
  auto positions = torch::cumsum(mask, 1) * mask + padding_idx;
  const int64_t max_pos = positions.max().item<int64_t>();
  if (max_pos >= weight.size(0)) {
    throw std::invalid_argument("sequence of " + std::to_string(max_pos - padding_idx) +
                                " tokens exceeds max positions " + std::to_string(weight.size(0) - padding_idx - 1));
  }
  return F::embedding(positions, front_columns(weight, dim));
}

torch::Tensor SinusoidalPositionsImpl::range(int64_t first, int64_t count, int64_t dim) {
  // fairseq numbers the positions of an unpadded sequence padding_idx + 1, padding_idx + 2, ...
  const int64_t last_row = padding_idx + first + count;
  if (first < 0 || count < 1 || last_row >= weight.size(0)) {
    throw std::invalid_argument("positions " + std::to_string(first) + ".." + std::to_string(first + count - 1) +
                                " exceed max positions " + std::to_string(weight.size(0) - padding_idx - 1));
  }
  return front_columns(weight, dim).narrow(0, padding_idx + 1 + first, count);
}

// ------------------------------------------------------------------ encoder

TransformerEncoderImpl::TransformerEncoderImpl(const ModelOptions& opts, TokenEmbedding table) : options(opts) {
  const auto& cap = opts.capacity;
  embed_tokens = register_module("embed_tokens", std::move(table));
  embed_positions = register_module(
      "embed_positions", SinusoidalPositions(opts.hyper.max_source_positions,
                                             position_dim(opts.encoder_position_dim, cap.encoder_embed_dim),
                                             cap.encoder_embed_dim, opts.padding_idx));
  for (const auto& l : cap.encoder_layers) {
    layers->push_back(EncoderLayer(cap.encoder_embed_dim, l, opts.hyper.encoder_normalize_before,
                                   opts.hyper.attention_dropout));
  }
  register_module("layers", layers);
  if (opts.hyper.encoder_normalize_before) {
    layer_norm = register_module("layer_norm", ElasticLayerNorm(cap.encoder_embed_dim));
  }
}

EncoderOutput TransformerEncoderImpl::forward(const torch::Tensor& src_tokens, const SubConfig& cfg) {
  const int64_t dim = cfg.encoder_embed_dim;
  const LayerDropout drop = layer_dropout(options.hyper, dim, options.capacity.encoder_embed_dim);
  auto x = embed_input(embed_tokens, embed_positions, src_tokens, dim, drop.dropout, is_training());

  EncoderOutput out;
  out.padding_mask = src_tokens.eq(options.padding_idx);
  if (!out.padding_mask.any().item<bool>()) out.padding_mask = torch::Tensor();
  for (int i = 0; i < cfg.encoder_layer_num(); ++i) {
    x = layers[i]->as<EncoderLayerImpl>()->forward(x, out.padding_mask, dim, cfg.encoder_layers[i], drop);
    out.layer_outputs.push_back(x);
  }
  if (layer_norm) out.layer_outputs.back() = layer_norm->forward(out.layer_outputs.back(), dim);
  return out;
}

// ------------------------------------------------------------------ decoder

TransformerDecoderImpl::TransformerDecoderImpl(const ModelOptions& opts, TokenEmbedding shared) : options(opts) {
  const auto& cap = opts.capacity;
  if (shared) {
    embed_tokens = shared;  // deliberately not registered: it belongs to the encoder
  } else {
    embed_tokens = register_module("embed_tokens", TokenEmbedding(opts.tgt_vocab_size, cap.decoder_embed_dim,
                                                                  opts.padding_idx));
  }
  embed_positions = register_module(
      "embed_positions", SinusoidalPositions(opts.hyper.max_target_positions,
                                             position_dim(opts.decoder_position_dim, cap.decoder_embed_dim),
                                             cap.decoder_embed_dim, opts.padding_idx));
  for (const auto& l : cap.decoder_layers) {
    layers->push_back(DecoderLayer(cap.decoder_embed_dim, cap.encoder_embed_dim, l,
                                   opts.hyper.decoder_normalize_before, opts.hyper.attention_dropout));
  }
  register_module("layers", layers);
  if (opts.hyper.decoder_normalize_before) {
    layer_norm = register_module("layer_norm", ElasticLayerNorm(cap.decoder_embed_dim));
  }
  if (!opts.hyper.share_decoder_input_output) {
    output_projection = register_parameter("output_projection", torch::empty({opts.tgt_vocab_size, cap.decoder_embed_dim}));
    torch::NoGradGuard no_grad;
    output_projection.normal_(0, std::pow(static_cast<double>(cap.decoder_embed_dim), -0.5));
  }
}

std::pair<torch::Tensor, torch::Tensor> TransformerDecoderImpl::attention_memory(const EncoderOutput& enc,
                                                                                 int attended_layers) {
  const int n = static_cast<int>(enc.layer_outputs.size());
  if (attended_layers < 1 || attended_layers > n) {
    throw std::invalid_argument("encoder-decoder attention over " + std::to_string(attended_layers) +
                                " layers, but the encoder ran " + std::to_string(n));
  }
  if (attended_layers == 1) return {enc.layer_outputs.back(), enc.padding_mask};
  std::vector<torch::Tensor> parts, masks;
  for (int k = 0; k < attended_layers; ++k) {
    parts.push_back(enc.layer_outputs[n - 1 - k]);
    if (enc.padding_mask.defined()) masks.push_back(enc.padding_mask);
  }
  return {torch::cat(parts, 1), masks.empty() ? torch::Tensor() : torch::cat(masks, 1)};
}

namespace {
// The attended memory per depth, concatenated once per forward: decoder layers that attend the same
// number of encoder layers (HAT's spaces often give all of them the same) share one tensor instead
// of concatenating [B, k*S, C] again each, and its backward sums their gradients before one split.
struct MemoryByDepth {
  std::map<int, std::pair<torch::Tensor, torch::Tensor>> by_depth;
  const std::pair<torch::Tensor, torch::Tensor>& get(const EncoderOutput& enc, int depth) {
    auto it = by_depth.find(depth);
    if (it == by_depth.end()) it = by_depth.emplace(depth, TransformerDecoderImpl::attention_memory(enc, depth)).first;
    return it->second;
  }
};
}  // namespace

torch::Tensor TransformerDecoderImpl::output_layer(const torch::Tensor& features, int64_t dim) {
  const auto& table = output_projection.defined() ? output_projection : embed_tokens->weight;
  return torch::linear(features, front_columns(table, dim));
}

torch::Tensor TransformerDecoderImpl::forward(const torch::Tensor& prev_tokens, const EncoderOutput& enc,
                                              const SubConfig& cfg) {
  return output_layer(features(prev_tokens, enc, cfg), cfg.decoder_embed_dim);
}

torch::Tensor TransformerDecoderImpl::features(const torch::Tensor& prev_tokens, const EncoderOutput& enc,
                                               const SubConfig& cfg) {
  const int64_t dim = cfg.decoder_embed_dim;
  const LayerDropout drop = layer_dropout(options.hyper, dim, options.capacity.decoder_embed_dim);
  auto x = embed_input(embed_tokens, embed_positions, prev_tokens, dim, drop.dropout, is_training());

  const int64_t T = prev_tokens.size(1);
  auto causal = torch::triu(torch::full({T, T}, -std::numeric_limits<float>::infinity(), x.options()), 1);
  MemoryByDepth memories;
  for (int i = 0; i < cfg.decoder_layer_num(); ++i) {
    const auto& lc = cfg.decoder_layers[i];
    const auto& [memory, memory_mask] = memories.get(enc, lc.ende_attn_layers);
    x = layers[i]->as<DecoderLayerImpl>()->forward(x, memory, memory_mask, causal, dim, cfg.encoder_embed_dim, lc, drop);
  }
  if (layer_norm) x = layer_norm->forward(x, dim);
  return x;
}

DecoderCache TransformerDecoderImpl::start_cache(const EncoderOutput& enc, const SubConfig& cfg) {
  DecoderCache cache;
  MemoryByDepth memories;
  for (int i = 0; i < cfg.decoder_layer_num(); ++i) {
    const auto& lc = cfg.decoder_layers[i];
    const auto& [memory, memory_mask] = memories.get(enc, lc.ende_attn_layers);
    cache.layers.push_back(layers[i]->as<DecoderLayerImpl>()->start_cache(memory, memory_mask, cfg.encoder_embed_dim, lc));
  }
  return cache;
}

torch::Tensor TransformerDecoderImpl::forward_step(const torch::Tensor& tokens, DecoderCache& cache,
                                                   const SubConfig& cfg) {
  if (static_cast<int>(cache.layers.size()) != cfg.decoder_layer_num()) {
    throw std::invalid_argument("decoder cache holds " + std::to_string(cache.layers.size()) +
                                " layers but the config has " + std::to_string(cfg.decoder_layer_num()) +
                                " decoder layers (start the cache with the same config)");
  }
  const int64_t dim = cfg.decoder_embed_dim;
  const LayerDropout drop = layer_dropout(options.hyper, dim, options.capacity.decoder_embed_dim);
  const int64_t Tq = tokens.size(1);
  auto x = embed_with_positions(embed_tokens, tokens, embed_positions->range(cache.steps, Tq, dim), dim, drop.dropout,
                                is_training());
  for (int i = 0; i < cfg.decoder_layer_num(); ++i) {
    x = layers[i]->as<DecoderLayerImpl>()->forward_step(x, cache.layers[i], dim, cfg.encoder_embed_dim,
                                                          cfg.decoder_layers[i], drop);
  }
  cache.steps += Tq;
  if (layer_norm) x = layer_norm->forward(x, dim);
  return output_layer(x, dim);
}

// ------------------------------------------------------------------ whole model

SuperTransformerImpl::SuperTransformerImpl(const ModelOptions& opts) : options_(opts) {
  opts.validate();
  const auto& cap = opts.capacity;
  const int shared_dim = std::max(cap.encoder_embed_dim, cap.decoder_embed_dim);
  const bool share = opts.hyper.share_all_embeddings;
  TokenEmbedding enc_table(opts.src_vocab_size, share ? shared_dim : cap.encoder_embed_dim, opts.padding_idx);
  encoder = register_module("encoder", TransformerEncoder(opts, enc_table));
  decoder = register_module("decoder", TransformerDecoder(opts, share ? enc_table : TokenEmbedding(nullptr)));
}

void SuperTransformerImpl::check_fits(const SubConfig& cfg) const {
  cfg.check_consistent();
  const auto& cap = options_.capacity;
  if (cfg.encoder_embed_dim > cap.encoder_embed_dim) fail_fit("encoder-embed-dim", cfg.encoder_embed_dim, cap.encoder_embed_dim);
  if (cfg.decoder_embed_dim > cap.decoder_embed_dim) fail_fit("decoder-embed-dim", cfg.decoder_embed_dim, cap.decoder_embed_dim);
  if (cfg.encoder_layer_num() > cap.encoder_layer_num()) fail_fit("encoder-layer-num", cfg.encoder_layer_num(), cap.encoder_layer_num());
  if (cfg.decoder_layer_num() > cap.decoder_layer_num()) fail_fit("decoder-layer-num", cfg.decoder_layer_num(), cap.decoder_layer_num());
  for (int i = 0; i < cfg.encoder_layer_num(); ++i) {
    const auto &l = cfg.encoder_layers[i], &c = cap.encoder_layers[i];
    const std::string at = "[" + std::to_string(i) + "]";
    if (l.ffn_dim > c.ffn_dim) fail_fit("encoder-ffn-embed-dim" + at, l.ffn_dim, c.ffn_dim);
    if (l.self_qkv_dim > c.self_qkv_dim) fail_fit("encoder-self-attention-qkv-dim" + at, l.self_qkv_dim, c.self_qkv_dim);
  }
  for (int i = 0; i < cfg.decoder_layer_num(); ++i) {
    const auto &l = cfg.decoder_layers[i], &c = cap.decoder_layers[i];
    const std::string at = "[" + std::to_string(i) + "]";
    if (l.ffn_dim > c.ffn_dim) fail_fit("decoder-ffn-embed-dim" + at, l.ffn_dim, c.ffn_dim);
    if (l.self_qkv_dim > c.self_qkv_dim) fail_fit("decoder-self-attention-qkv-dim" + at, l.self_qkv_dim, c.self_qkv_dim);
    if (l.ende_qkv_dim > c.ende_qkv_dim) fail_fit("decoder-ende-attention-qkv-dim" + at, l.ende_qkv_dim, c.ende_qkv_dim);
  }
}

EncoderOutput SuperTransformerImpl::encode(const torch::Tensor& src_tokens, const SubConfig& cfg) {
  check_fits(cfg);
  return encoder->forward(src_tokens, cfg);
}

torch::Tensor SuperTransformerImpl::decode(const torch::Tensor& prev_output_tokens, const EncoderOutput& encoder_out,
                                           const SubConfig& cfg) {
  check_fits(cfg);
  return decoder->forward(prev_output_tokens, encoder_out, cfg);
}

DecoderCache SuperTransformerImpl::start_decoding(const EncoderOutput& encoder_out, const SubConfig& cfg) {
  check_fits(cfg);
  return decoder->start_cache(encoder_out, cfg);
}

torch::Tensor SuperTransformerImpl::decode_step(const torch::Tensor& tokens, DecoderCache& cache, const SubConfig& cfg) {
  // No check_fits here: it ran in start_decoding, and this is called once per generated token.
  return decoder->forward_step(tokens, cache, cfg);
}

torch::Tensor SuperTransformerImpl::forward(const torch::Tensor& src_tokens, const torch::Tensor& prev_output_tokens,
                                            const SubConfig& cfg) {
  check_fits(cfg);
  return decoder->forward(prev_output_tokens, encoder->forward(src_tokens, cfg), cfg);
}

}  // namespace thanos
