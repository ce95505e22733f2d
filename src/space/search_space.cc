#include "thanos/space/search_space.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "thanos/common/text.h"
#include "thanos/space/sub_config_fields.h"

namespace thanos {
namespace {

bool has(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }
int min_of(const std::vector<int>& v) { return *std::min_element(v.begin(), v.end()); }
int max_of(const std::vector<int>& v) { return *std::max_element(v.begin(), v.end()); }

void check_choices(const std::string& source, const std::string& key, const std::vector<int>& choices, int lo,
                   int super_size, const std::string& super_key) {
  if (choices.empty()) throw std::invalid_argument(source + ": " + key + ": expected a non-empty list of choices");
  for (int c : choices) {
    if (c < lo) {
      throw std::invalid_argument(source + ": " + key + ": choice " + std::to_string(c) + " must be >= " +
                                  std::to_string(lo));
    }
    if (super_size > 0 && c > super_size) {
      throw std::invalid_argument(source + ": " + key + ": choice " + std::to_string(c) + " exceeds " + super_key +
                                  " = " + std::to_string(super_size) + " (the SuperTransformer cannot hold it)");
    }
  }
}

std::string field_error(const std::string& field, int value, const std::vector<int>& allowed) {
  return field + " = " + std::to_string(value) + " is not in the search space; allowed: " + format_list(allowed);
}

// Number of (heads, qkv) pairs where heads divides qkv.
std::uint64_t attention_pairs(const std::vector<int>& heads, const std::vector<int>& qkv) {
  std::uint64_t n = 0;
  for (int h : heads) n += SearchSpace::qkv_for_heads(qkv, h).size();
  return n;
}

// Every active layer's fields in HAT's key order; the attended encoder layers last, named by
// HAT's codes.
template <typename Layer>
void check_layers(const SearchSpace& s, const std::vector<Layer>& layers) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    const std::string at = "[" + std::to_string(i) + "]";
    for_each_stack_field_in_hat_order<Layer>([&](const LayerField<Layer>& f) {
      if (f.role != FieldRole::kAttendedLayers && !has(s.*f.choices, f.of(l))) {
        throw std::invalid_argument(field_error(f.hat_name + at, f.of(l), s.*f.choices));
      }
    });
    for (const auto& f : layer_fields<Layer>()) {
      if (f.role == FieldRole::kAttendedLayers && !has(s.*f.choices, f.of(l))) {
        std::vector<int> codes;
        for (int n : s.*f.choices) codes.push_back(layers_to_hat_ende_code(n));
        throw std::invalid_argument(field_error(f.hat_name + at, layers_to_hat_ende_code(f.of(l)), codes));
      }
    }
  }
}

}  // namespace

bool ModelHyperParams::operator==(const ModelHyperParams& o) const {
  return share_all_embeddings == o.share_all_embeddings && share_decoder_input_output == o.share_decoder_input_output &&
         encoder_normalize_before == o.encoder_normalize_before &&
         decoder_normalize_before == o.decoder_normalize_before && dropout == o.dropout &&
         attention_dropout == o.attention_dropout && activation_dropout == o.activation_dropout &&
         max_source_positions == o.max_source_positions && max_target_positions == o.max_target_positions;
}

std::vector<int> SearchSpace::qkv_for_heads(const std::vector<int>& qkv_choices, int heads) {
  std::vector<int> out;
  for (int q : qkv_choices) {
    if (heads > 0 && q % heads == 0) out.push_back(q);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void SearchSpace::validate() const {
  const std::pair<const char*, int> supers[] = {
      {"encoder-embed-dim", encoder_embed_dim}, {"decoder-embed-dim", decoder_embed_dim},
      {"encoder-ffn-embed-dim", encoder_ffn_dim}, {"decoder-ffn-embed-dim", decoder_ffn_dim},
      {"encoder-layers", encoder_layers},       {"decoder-layers", decoder_layers},
      {"encoder-attention-heads", encoder_heads}, {"decoder-attention-heads", decoder_heads},
      {"qkv-dim", qkv_dim}};
  // Beyond these no Transformer is meant (HAT's spaces have at most 6 layers and widths of 3072), and
  // 2^31 - 1 layers made the space's size() spin in a power of that size.
  for (const auto& [key, v] : supers) {
    const bool layers = std::string(key) == "encoder-layers" || std::string(key) == "decoder-layers";
    const int most = layers ? kMaxLayerCount : kMaxWidth;
    if (v <= 0 || v > most) {
      throw std::invalid_argument(source + ": " + key + ": expected a positive integer up to " + std::to_string(most) + ", got " +
                                  std::to_string(v));
    }
  }
  // A dropout outside [0, 1) (or NaN) is not a probability; positions bound the embedding tables.
  const std::pair<const char*, double> probabilities[] = {{"dropout", hyper.dropout},
                                                          {"attention-dropout", hyper.attention_dropout},
                                                          {"activation-dropout", hyper.activation_dropout}};
  for (const auto& [key, p] : probabilities) {
    if (!(p >= 0 && p < 1)) {
      std::ostringstream got;
      got << p;
      throw std::invalid_argument(source + ": " + key + ": expected a probability in [0, 1), got " + got.str());
    }
  }
  const std::pair<const char*, int> positions[] = {{"max-source-positions", hyper.max_source_positions},
                                                   {"max-target-positions", hyper.max_target_positions}};
  for (const auto& [key, n] : positions) {
    if (n < 1 || n > kMaxPositions) {
      throw std::invalid_argument(source + ": " + key + ": expected a positive integer up to " + std::to_string(kMaxPositions) +
                                  ", got " + std::to_string(n));
    }
  }
  check_choices(source, "encoder-embed-choice", encoder_embed_choices, 1, encoder_embed_dim, "encoder-embed-dim");
  check_choices(source, "decoder-embed-choice", decoder_embed_choices, 1, decoder_embed_dim, "decoder-embed-dim");
  for_each_field_in_hat_order([&](const auto& f) {
    if (f.hat_rank == kHatRankOfLayerCounts) {
      check_choices(source, "encoder-layer-num-choice", encoder_layer_num_choices, 1, encoder_layers, "encoder-layers");
      check_choices(source, "decoder-layer-num-choice", decoder_layer_num_choices, 1, decoder_layers, "decoder-layers");
    }
    check_choices(source, f.choice_key(), this->*f.choices, 1, f.super_size ? this->*f.super_size : 0, f.super_key);
  });
  if (hyper.share_all_embeddings && encoder_embed_dim != decoder_embed_dim) {
    throw std::invalid_argument(source + ": share-all-embeddings requires encoder-embed-dim (" +
                                std::to_string(encoder_embed_dim) + ") == decoder-embed-dim (" +
                                std::to_string(decoder_embed_dim) + ")");
  }
  auto require_pairs = [&](const auto& heads_field) {
    if (heads_field.role != FieldRole::kHeads) return;
    const auto& heads = this->*heads_field.choices;
    const auto& qkv = this->*layer_fields_of(heads_field)[heads_field.partner].choices;
    if (attention_pairs(heads, qkv) == 0) {
      throw std::invalid_argument(source + ": no " + heads_field.attention + " qkv choice " + format_list(qkv) +
                                  " is divisible by any head choice " + format_list(heads));
    }
  };
  for (const auto& f : layer_fields<EncoderLayerConfig>()) require_pairs(f);
  for (const auto& f : layer_fields<DecoderLayerConfig>()) require_pairs(f);
  if (size().is_zero()) throw std::invalid_argument(source + ": the search space contains no valid SubTransformer");
}

void SearchSpace::check_config(const SubConfig& c) const {
  c.check_consistent();
  auto in = [](const std::string& field, int v, const std::vector<int>& allowed) {
    if (!has(allowed, v)) throw std::invalid_argument(field_error(field, v, allowed));
  };
  in("encoder-embed-dim", c.encoder_embed_dim, encoder_embed_choices);
  in("decoder-embed-dim", c.decoder_embed_dim, decoder_embed_choices);
  in("encoder-layer-num", c.encoder_layer_num(), encoder_layer_num_choices);
  in("decoder-layer-num", c.decoder_layer_num(), decoder_layer_num_choices);
  check_layers(*this, c.encoder_layers);
  check_layers(*this, c.decoder_layers);
}

bool SearchSpace::contains(const SubConfig& config) const {
  try {
    check_config(config);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

namespace {

// Distinct choices of one layer: independent widths times the valid (heads, qkv) pairs of each
// attention, times the attendable depths for an encoder of `encoder_layers`.
template <typename Layer>
std::uint64_t layer_choices(const SearchSpace& s, int encoder_layers) {
  std::uint64_t n = 1;
  for (const auto& f : layer_fields<Layer>()) {
    const auto& choices = s.*f.choices;
    switch (f.role) {
      case FieldRole::kWidth: n *= choices.size(); break;
      case FieldRole::kHeads: n *= attention_pairs(choices, s.*layer_fields<Layer>()[f.partner].choices); break;
      case FieldRole::kQkv: break;  // counted with its heads
      case FieldRole::kAttendedLayers: {
        std::uint64_t depths = 0;
        for (int d : choices) depths += (d <= encoder_layers) ? 1 : 0;
        n *= depths;
        break;
      }
    }
  }
  return n;
}

}  // namespace

BigUInt SearchSpace::size() const {
  // Per-layer choice counts; the decoder's depends on the encoder depth through the attended
  // layers, so sum over encoder depths first.
  BigUInt total(0);
  for (int le : encoder_layer_num_choices) {
    const BigUInt enc_layer(layer_choices<EncoderLayerConfig>(*this, le));
    const BigUInt dec_layer(layer_choices<DecoderLayerConfig>(*this, le));
    BigUInt dec_sum(0);
    for (int ld : decoder_layer_num_choices) dec_sum += BigUInt::pow(dec_layer, static_cast<unsigned>(ld));
    total += BigUInt::pow(enc_layer, static_cast<unsigned>(le)) * dec_sum;
  }
  return total * BigUInt(encoder_embed_choices.size()) * BigUInt(decoder_embed_choices.size());
}

namespace {

// Pick (heads, qkv) at one extreme among the valid pairs: smallest qkv, then fewest heads (or
// the reverse for the largest).
std::pair<int, int> extreme_pair(const std::vector<int>& heads, const std::vector<int>& qkv, bool largest) {
  std::pair<int, int> best{0, 0};
  bool found = false;
  for (int h : heads) {
    for (int q : SearchSpace::qkv_for_heads(qkv, h)) {
      std::pair<int, int> cand{q, h};
      if (!found || (largest ? cand > best : cand < best)) best = cand, found = true;
    }
  }
  return {best.second, best.first};
}

template <typename Layer>
Layer extreme_layer(const SearchSpace& s, int encoder_layers, bool largest) {
  auto pick = [largest](const std::vector<int>& v) { return largest ? max_of(v) : min_of(v); };
  Layer l;
  const auto& fields = layer_fields<Layer>();
  for (const auto& f : fields) {
    const auto& choices = s.*f.choices;
    switch (f.role) {
      case FieldRole::kWidth: f.of(l) = pick(choices); break;
      case FieldRole::kHeads: {
        const auto& qkv = fields[f.partner];
        std::tie(f.of(l), qkv.of(l)) = extreme_pair(choices, s.*qkv.choices, largest);
        break;
      }
      case FieldRole::kQkv: break;  // chosen with its heads
      case FieldRole::kAttendedLayers: {
        std::vector<int> attendable;
        for (int n : choices) if (n <= encoder_layers) attendable.push_back(n);
        f.of(l) = pick(attendable);
        break;
      }
    }
  }
  return l;
}

SubConfig extreme(const SearchSpace& s, bool largest) {
  auto pick = [largest](const std::vector<int>& v) { return largest ? max_of(v) : min_of(v); };
  SubConfig c;
  c.encoder_embed_dim = pick(s.encoder_embed_choices);
  c.decoder_embed_dim = pick(s.decoder_embed_choices);
  const int le = pick(s.encoder_depths_with_members());
  const int ld = pick(s.decoder_layer_num_choices);
  c.encoder_layers.assign(le, extreme_layer<EncoderLayerConfig>(s, le, largest));
  c.decoder_layers.assign(ld, extreme_layer<DecoderLayerConfig>(s, le, largest));
  return c;
}

// The super sizes in every field; heads and attended layers do not shape weights, so 1 (any
// qkv divides it).
template <typename Layer>
Layer super_layer(const SearchSpace& s) {
  Layer l;
  for (const auto& f : layer_fields<Layer>()) {
    f.of(l) = (f.role == FieldRole::kHeads || f.role == FieldRole::kAttendedLayers) ? 1 : s.*f.super_size;
  }
  return l;
}

}  // namespace

int default_qkv_dim(const SearchSpace& space, int fallback) { return space.qkv_dim > 0 ? space.qkv_dim : fallback; }

int default_qkv_dim(const std::optional<SearchSpace>& space, int fallback) {
  return space ? default_qkv_dim(*space, fallback) : fallback;
}

int SearchSpace::hat_profile_length() const {
  return hat_arch.find("iwslt") != std::string::npos ? 23 : 30;
}

std::vector<int> SearchSpace::encoder_depths_with_members() const {
  std::vector<int> out;
  for (int n : encoder_layer_num_choices) {
    const bool fits = decoder_ende_layers_choices.empty() ||
                      std::any_of(decoder_ende_layers_choices.begin(), decoder_ende_layers_choices.end(),
                                  [n](int attended) { return attended <= n; });
    if (fits) out.push_back(n);
  }
  return out;
}

SubConfig SearchSpace::smallest() const { return extreme(*this, false); }
SubConfig SearchSpace::largest() const { return extreme(*this, true); }

SubConfig SearchSpace::super_shape() const {
  SubConfig c;
  c.encoder_embed_dim = encoder_embed_dim;
  c.decoder_embed_dim = decoder_embed_dim;
  c.encoder_layers.assign(encoder_layers, super_layer<EncoderLayerConfig>(*this));
  c.decoder_layers.assign(decoder_layers, super_layer<DecoderLayerConfig>(*this));
  return c;
}

SearchSpace hat_wmt14ende_space0() {
  SearchSpace s;
  s.source = "HAT wmt14.en-de space0";
  s.encoder_embed_dim = s.decoder_embed_dim = 640;
  s.encoder_ffn_dim = s.decoder_ffn_dim = 3072;
  s.encoder_layers = s.decoder_layers = 6;
  s.encoder_heads = s.decoder_heads = 8;
  s.qkv_dim = kHatQkvDim;
  s.encoder_embed_choices = s.decoder_embed_choices = {640, 512};
  s.encoder_ffn_choices = s.decoder_ffn_choices = {3072, 2048, 1024};
  s.encoder_layer_num_choices = {6};
  s.decoder_layer_num_choices = {6, 5, 4, 3, 2, 1};
  s.encoder_self_heads_choices = s.decoder_self_heads_choices = s.decoder_ende_heads_choices = {8, 4};
  s.decoder_ende_layers_choices = {1, 2, 3};
  s.encoder_self_qkv_choices = s.decoder_self_qkv_choices = s.decoder_ende_qkv_choices = {kHatQkvDim};
  s.hyper.dropout = 0.3;
  s.hyper.attention_dropout = 0.1;
  s.hyper.share_all_embeddings = s.hyper.share_decoder_input_output = true;
  s.hat_arch = "transformersuper_wmt_en_de";
  return s;
}

SearchSpace hat_iwslt14deen_space1() {
  SearchSpace s = hat_wmt14ende_space0();
  s.source = "HAT iwslt14.de-en space1";
  s.hat_arch = "transformersuper_iwslt_de_en";
  s.hyper.share_all_embeddings = s.hyper.share_decoder_input_output = false;
  s.hyper.dropout = 0.375;
  s.hyper.attention_dropout = 0.0;
  s.encoder_ffn_dim = s.decoder_ffn_dim = 2048;
  s.encoder_heads = s.decoder_heads = 4;
  s.encoder_ffn_choices = s.decoder_ffn_choices = {2048, 1024, 512};
  s.encoder_self_heads_choices = s.decoder_self_heads_choices = s.decoder_ende_heads_choices = {4, 2};
  return s;
}

}  // namespace thanos
