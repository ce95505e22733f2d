#include "thanos/space/sampler.h"

#include <stdexcept>
#include <tuple>

#include "thanos/space/sub_config_fields.h"

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

// The choices of an attended depth that an encoder of `encoder_layers` has.
std::vector<int> attendable(const std::vector<int>& choices, int encoder_layers) {
  std::vector<int> out;
  for (int n : choices) {
    if (n <= encoder_layers) out.push_back(n);
  }
  return out;
}

// One layer, its fields drawn in table order (a head count with its QKV width, among the widths
// it divides; an attended depth the encoder has).
template <typename Layer>
Layer sample_layer(const SearchSpace& s, int encoder_layers, Rng& rng) {
  Layer l;
  const auto& fields = layer_fields<Layer>();
  for (const auto& f : fields) {
    switch (f.role) {
      case FieldRole::kWidth: f.of(l) = choose(rng, s.*f.choices); break;
      case FieldRole::kHeads: {
        const auto& qkv = fields[f.partner];
        std::tie(f.of(l), qkv.of(l)) = choose_attention(rng, s.*f.choices, s.*qkv.choices);
        break;
      }
      case FieldRole::kQkv: break;  // drawn with its heads
      case FieldRole::kAttendedLayers: f.of(l) = choose(rng, attendable(s.*f.choices, encoder_layers)); break;
    }
  }
  return l;
}

}  // namespace

SubConfig sample_config(const SearchSpace& s, Rng& rng) {
  SubConfig c;
  c.encoder_embed_dim = choose(rng, s.encoder_embed_choices);
  const int le = choose(rng, s.encoder_depths_with_members());
  for (int i = 0; i < le; ++i) c.encoder_layers.push_back(sample_layer<EncoderLayerConfig>(s, le, rng));
  c.decoder_embed_dim = choose(rng, s.decoder_embed_choices);
  const int ld = choose(rng, s.decoder_layer_num_choices);
  for (int i = 0; i < ld; ++i) c.decoder_layers.push_back(sample_layer<DecoderLayerConfig>(s, le, rng));
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
