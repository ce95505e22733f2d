#include "thanos/pipeline/baseline.h"

#include <algorithm>

namespace thanos {
namespace {

std::vector<int> common(std::vector<int> a, std::vector<int> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<int> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

std::vector<SubConfig> homogeneous_members(const SearchSpace& s) {
  std::vector<SubConfig> out;
  const auto embeds = common(s.encoder_embed_choices, s.decoder_embed_choices);
  const auto ffns = common(s.encoder_ffn_choices, s.decoder_ffn_choices);
  const auto heads = common(common(s.encoder_self_heads_choices, s.decoder_self_heads_choices), s.decoder_ende_heads_choices);
  const auto qkvs = common(common(s.encoder_self_qkv_choices, s.decoder_self_qkv_choices), s.decoder_ende_qkv_choices);
  for (int e : embeds) {
    for (int f : ffns) {
      for (int h : heads) {
        for (int q : qkvs) {
          if (q % h != 0) continue;
          for (int le : s.encoder_layer_num_choices) {
            for (int ld : s.decoder_layer_num_choices) {
              SubConfig c;
              c.encoder_embed_dim = c.decoder_embed_dim = e;
              c.encoder_layers.assign(static_cast<std::size_t>(le), EncoderLayerConfig{f, h, q});
              c.decoder_layers.assign(static_cast<std::size_t>(ld), DecoderLayerConfig{f, h, q, h, q, 1});
              if (s.contains(c)) out.push_back(c);
            }
          }
        }
      }
    }
  }
  return out;
}

}  // namespace thanos
