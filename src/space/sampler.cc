#include "thanos/space/sampler.h"

#include <stdexcept>
#include <tuple>

namespace thanos {
namespace {

int choose(Rng& rng, const std::vector<int>& choices) {
  if (choices.empty()) throw std::invalid_argument("sample_config: empty choice list");
  return choices[rng.uniform_index(choices.size())];
}

std::pair<int, int> choose_attention(Rng& rng, const std::vector<int>& heads, const std::vector<int>& qkv) {
  // Head counts that divide no QKV choice cannot be drawn; validate() guarantees some can.
  std::vector<int> usable;
  for (int h : heads) {
    if (!SearchSpace::qkv_for_heads(qkv, h).empty()) usable.push_back(h);
  }
  const int h = choose(rng, usable);
  return {h, choose(rng, SearchSpace::qkv_for_heads(qkv, h))};
}

}  // namespace

SubConfig sample_config(const SearchSpace& s, Rng& rng) {
  SubConfig c;
  c.encoder_embed_dim = choose(rng, s.encoder_embed_choices);
  const int le = choose(rng, s.encoder_layer_num_choices);
  for (int i = 0; i < le; ++i) {
    EncoderLayerConfig l;
    l.ffn_dim = choose(rng, s.encoder_ffn_choices);
    std::tie(l.self_heads, l.self_qkv_dim) = choose_attention(rng, s.encoder_self_heads_choices, s.encoder_self_qkv_choices);
    c.encoder_layers.push_back(l);
  }
  c.decoder_embed_dim = choose(rng, s.decoder_embed_choices);
  const int ld = choose(rng, s.decoder_layer_num_choices);
  std::vector<int> ende;
  for (int n : s.decoder_ende_layers_choices) {
    if (n <= le) ende.push_back(n);
  }
  for (int i = 0; i < ld; ++i) {
    DecoderLayerConfig l;
    l.ffn_dim = choose(rng, s.decoder_ffn_choices);
    std::tie(l.self_heads, l.self_qkv_dim) = choose_attention(rng, s.decoder_self_heads_choices, s.decoder_self_qkv_choices);
    std::tie(l.ende_heads, l.ende_qkv_dim) = choose_attention(rng, s.decoder_ende_heads_choices, s.decoder_ende_qkv_choices);
    l.ende_attn_layers = choose(rng, ende);
    c.decoder_layers.push_back(l);
  }
  return c;
}

std::vector<SubConfig> sample_configs(const SearchSpace& space, std::uint64_t seed, int count) {
  Rng rng(seed);
  std::vector<SubConfig> out;
  out.reserve(count);
  for (int i = 0; i < count; ++i) out.push_back(sample_config(space, rng));
  return out;
}

}  // namespace thanos
