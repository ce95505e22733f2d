#pragma once
// Incremental decoding state (docs/DECODING.md): what a decoder keeps between steps so that step t
// costs one position instead of the whole prefix. For inference only (no autograd through it).
//
// Keys and values are stored after their projections, split into heads, [rows, heads, positions,
// head_dim]: the attention products read them in place (a [rows, positions, qkv] layout would be
// copied into heads by every step's matmul).
#include <torch/types.h>

#include <vector>

namespace thanos {

// Projected keys/values of one attention call. Implemented in src/model/elastic_layers.cc, next to
// the attention that fills it.
struct AttentionCache {
  // What attention reads: [rows, heads, positions, head_dim].
  torch::Tensor key, value;
  torch::Tensor key_padding_mask;  // [rows, positions] bool (true = padding) or undefined

  int64_t positions() const { return key.defined() ? key.size(2) : 0; }

  // A growing (self-attention) cache: appends positions [rows, heads, n, head_dim]. The storage
  // has room to spare (doubling), so an append copies only the new positions.
  void append(const torch::Tensor& new_key, const torch::Tensor& new_value);
  // Keeps rows `rows` ([n] long, indices into the current rows, repeats allowed). A growing cache
  // gathers into a spare buffer kept for the purpose, so beam search's reorder at every step
  // allocates nothing; a fixed one (encoder-decoder) is index_select-ed.
  void reorder(const torch::Tensor& rows);

 private:
  // Growing caches only: [rows, heads, capacity, head_dim]; key/value are their front parts.
  // Copies of a cache share these, so a copy is not an independent branch.
  torch::Tensor key_storage_, value_storage_, spare_key_, spare_value_;
};

struct DecoderLayerCache {
  // Self-attention: grows by one position per decoded token.
  AttentionCache self_attn;
  // Encoder-decoder attention: the layer's attended encoder outputs (HAT's arbitrary attention
  // concatenates several) projected once per sentence.
  AttentionCache encoder_attn;
};

struct DecoderCache {
  std::vector<DecoderLayerCache> layers;  // one per active decoder layer
  std::int64_t steps = 0;                 // positions decoded so far (the next one's index)

  // Keeps rows `rows` of every cache: beams that survive, sentences that remain, or one row
  // copied per beam at the start.
  void reorder(const torch::Tensor& rows) {
    for (auto& l : layers) {
      l.self_attn.reorder(rows);
      l.encoder_attn.reorder(rows);
    }
  }
  // The same for the self-attention caches only. Valid when every row stays within its own
  // sentence (beam search's reordering): encoder-decoder entries are equal across a sentence's
  // beams, so they need no copy.
  void reorder_self_attention(const torch::Tensor& rows) {
    for (auto& l : layers) l.self_attn.reorder(rows);
  }
};

}  // namespace thanos
