#pragma once
// SubConfig's per-layer fields described once. Everything that lists a layer's fields (the
// canonical text and hash, equality, the YAML/JSON/model-file/CSV forms, the space's choice keys,
// the checks, the sampler and the search genome) iterates these tables instead of naming them, so
// a new elastic per-layer dimension is a member of EncoderLayerConfig/DecoderLayerConfig, its
// choice list in SearchSpace, one row here, and the model and ONNX emitter that compute with it
// (docs/DEVELOPING.md, "A search-space dimension").
//
// A table's row order is the record order: the canonical text, the model file's integer record,
// the CSV columns and the order of the random draws follow it, so existing rows never move. A new
// row changes the canonical text of every config, hence every hash that caches and datasets key
// on: bump the canonical version ("subconfig.v1") and the file formats' versions with it.
// `hat_rank` is HAT's key order instead (FFN widths, heads, attended layers, then THANOS' QKV
// widths), which the YAML files, the validation order and its messages follow.
#include <array>
#include <string>
#include <vector>

#include "thanos/space/search_space.h"
#include "thanos/space/sub_config.h"

namespace thanos {

enum class FieldRole {
  kWidth,           // an independent choice (the FFN width)
  kHeads,           // an attention's head count; `partner` is its QKV width
  kQkv,             // an attention's Q/K/V width, divisible by its head count (`partner`)
  kAttendedLayers,  // encoder layers a decoder layer attends; HAT's files hold its code (-1, 1, 2)
};

template <typename Layer>
struct LayerField {
  const char* name;           // the member's name: the JSON key
  int Layer::*member;
  FieldRole role;
  int partner;                // row of the heads/QKV partner in the same table, -1 without one
  const char* hat_name;       // HAT's stem: messages; SubConfig YAML key + "-all-subtransformer";
                              // space YAML key + "-choice"
  const char* csv_column;     // the dataset CSV column of the per-layer values
  const char* summary_label;  // SubConfig::summary()
  const char* attention;      // heads rows: the attention, for messages ("decoder self-attention")
  std::vector<int> SearchSpace::*choices;
  int SearchSpace::*super_size;  // the SuperTransformer size a choice must not exceed, or nullptr
  const char* super_key;         // its key, for messages
  int hat_rank;                  // position in HAT's key order over both stacks (0 = first)

  int& of(Layer& l) const { return l.*member; }
  int of(const Layer& l) const { return l.*member; }
  std::string yaml_key() const { return std::string(hat_name) + "-all-subtransformer"; }
  std::string choice_key() const { return std::string(hat_name) + "-choice"; }
};

template <typename Layer>
struct LayerFields;

template <>
struct LayerFields<EncoderLayerConfig> {
  using L = EncoderLayerConfig;
  static constexpr const char* kStack = "encoder";
  static constexpr std::array<LayerField<L>, 3> kAll{{
      {"ffn_dim", &L::ffn_dim, FieldRole::kWidth, -1, "encoder-ffn-embed-dim", "encoder_ffn_dims", "ffn", "",
       &SearchSpace::encoder_ffn_choices, &SearchSpace::encoder_ffn_dim, "encoder-ffn-embed-dim", 0},
      {"self_heads", &L::self_heads, FieldRole::kHeads, 2, "encoder-self-attention-heads", "encoder_self_heads", "heads",
       "encoder self-attention", &SearchSpace::encoder_self_heads_choices, nullptr, "", 2},
      {"self_qkv_dim", &L::self_qkv_dim, FieldRole::kQkv, 1, "encoder-self-attention-qkv-dim", "encoder_self_qkv_dims",
       "qkv", "", &SearchSpace::encoder_self_qkv_choices, &SearchSpace::qkv_dim, "qkv-dim", 6},
  }};
};

template <>
struct LayerFields<DecoderLayerConfig> {
  using L = DecoderLayerConfig;
  static constexpr const char* kStack = "decoder";
  static constexpr std::array<LayerField<L>, 6> kAll{{
      {"ffn_dim", &L::ffn_dim, FieldRole::kWidth, -1, "decoder-ffn-embed-dim", "decoder_ffn_dims", "ffn", "",
       &SearchSpace::decoder_ffn_choices, &SearchSpace::decoder_ffn_dim, "decoder-ffn-embed-dim", 1},
      {"self_heads", &L::self_heads, FieldRole::kHeads, 2, "decoder-self-attention-heads", "decoder_self_heads", "heads",
       "decoder self-attention", &SearchSpace::decoder_self_heads_choices, nullptr, "", 3},
      {"self_qkv_dim", &L::self_qkv_dim, FieldRole::kQkv, 1, "decoder-self-attention-qkv-dim", "decoder_self_qkv_dims",
       "qkv", "", &SearchSpace::decoder_self_qkv_choices, &SearchSpace::qkv_dim, "qkv-dim", 7},
      {"ende_heads", &L::ende_heads, FieldRole::kHeads, 4, "decoder-ende-attention-heads", "decoder_ende_heads",
       "ende heads", "decoder encoder-decoder attention", &SearchSpace::decoder_ende_heads_choices, nullptr, "", 4},
      {"ende_qkv_dim", &L::ende_qkv_dim, FieldRole::kQkv, 3, "decoder-ende-attention-qkv-dim", "decoder_ende_qkv_dims",
       "ende qkv", "", &SearchSpace::decoder_ende_qkv_choices, &SearchSpace::qkv_dim, "qkv-dim", 8},
      {"ende_attn_layers", &L::ende_attn_layers, FieldRole::kAttendedLayers, -1, "decoder-arbitrary-ende-attn",
       "decoder_ende_layers", "attends", "", &SearchSpace::decoder_ende_layers_choices, &SearchSpace::encoder_layers,
       "encoder-layers", 5},
  }};
};

template <typename Layer>
constexpr const auto& layer_fields() {
  return LayerFields<Layer>::kAll;
}

// The table a field belongs to (for its `partner`).
template <typename Layer>
constexpr const auto& layer_fields_of(const LayerField<Layer>&) {
  return LayerFields<Layer>::kAll;
}

// Number of per-layer fields over both stacks (the largest hat_rank + 1).
constexpr int kLayerFieldCount =
    static_cast<int>(LayerFields<EncoderLayerConfig>::kAll.size() + LayerFields<DecoderLayerConfig>::kAll.size());
// HAT's files put the layer counts between the FFN widths and the heads: before this rank.
constexpr int kHatRankOfLayerCounts = 2;
// From this rank on the keys are THANOS' own (QKV widths); HAT's files have none of them.
constexpr int kHatRankOfThanosKeys = 6;

namespace sub_config_fields_detail {

// The ranks are a permutation of 0..kLayerFieldCount-1 and partners point at each other.
template <typename Layer>
constexpr bool well_formed(bool (&seen)[kLayerFieldCount]) {
  const auto& all = LayerFields<Layer>::kAll;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& f = all[i];
    if (f.hat_rank < 0 || f.hat_rank >= kLayerFieldCount || seen[f.hat_rank]) return false;
    seen[f.hat_rank] = true;
    const bool sized = f.role == FieldRole::kWidth || f.role == FieldRole::kQkv;
    if (sized && f.super_size == nullptr) return false;  // the super shape needs it
    const bool paired = f.role == FieldRole::kHeads || f.role == FieldRole::kQkv;
    if (paired != (f.partner >= 0)) return false;
    if (paired) {
      const auto& p = all[static_cast<std::size_t>(f.partner)];
      if (p.partner != static_cast<int>(i) || p.role == f.role) return false;
      if (f.role == FieldRole::kHeads && f.partner < static_cast<int>(i)) return false;  // heads come first
    }
  }
  return true;
}

constexpr bool tables_well_formed() {
  bool seen[kLayerFieldCount] = {};
  return well_formed<EncoderLayerConfig>(seen) && well_formed<DecoderLayerConfig>(seen);
}

}  // namespace sub_config_fields_detail

static_assert(sub_config_fields_detail::tables_well_formed(),
              "sub_config_fields.h: hat_rank must number the fields 0..n-1 once; heads and QKV rows pair up, heads "
              "first; widths and QKV widths have a super size");

// A member without a row would be left out of every hash and file: each int member has one.
static_assert(sizeof(EncoderLayerConfig) == LayerFields<EncoderLayerConfig>::kAll.size() * sizeof(int),
              "EncoderLayerConfig has a member that sub_config_fields.h does not describe");
static_assert(sizeof(DecoderLayerConfig) == LayerFields<DecoderLayerConfig>::kAll.size() * sizeof(int),
              "DecoderLayerConfig has a member that sub_config_fields.h does not describe");

// Calls f(field) for every field of both stacks in HAT's key order (hat_rank); `f` is generic
// (it receives a LayerField<EncoderLayerConfig> or a LayerField<DecoderLayerConfig>).
template <typename F>
void for_each_field_in_hat_order(F&& f) {
  for (int rank = 0; rank < kLayerFieldCount; ++rank) {
    for (const auto& x : layer_fields<EncoderLayerConfig>()) {
      if (x.hat_rank == rank) f(x);
    }
    for (const auto& x : layer_fields<DecoderLayerConfig>()) {
      if (x.hat_rank == rank) f(x);
    }
  }
}

// Calls f(field) for every field of one stack in HAT's key order.
template <typename Layer, typename F>
void for_each_stack_field_in_hat_order(F&& f) {
  for (int rank = 0; rank < kLayerFieldCount; ++rank) {
    for (const auto& x : layer_fields<Layer>()) {
      if (x.hat_rank == rank) f(x);
    }
  }
}

// A field's layers in a SubConfig: the stack the field's table describes.
inline const std::vector<EncoderLayerConfig>& stack_layers(const SubConfig& c, const LayerField<EncoderLayerConfig>&) {
  return c.encoder_layers;
}
inline const std::vector<DecoderLayerConfig>& stack_layers(const SubConfig& c, const LayerField<DecoderLayerConfig>&) {
  return c.decoder_layers;
}
inline std::vector<EncoderLayerConfig>& stack_layers(SubConfig& c, const LayerField<EncoderLayerConfig>&) {
  return c.encoder_layers;
}
inline std::vector<DecoderLayerConfig>& stack_layers(SubConfig& c, const LayerField<DecoderLayerConfig>&) {
  return c.decoder_layers;
}

// One field's values over a stack's layers, in layer order.
template <typename Layer>
std::vector<int> field_values(const std::vector<Layer>& layers, const LayerField<Layer>& field) {
  std::vector<int> v;
  v.reserve(layers.size());
  for (const auto& l : layers) v.push_back(field.of(l));
  return v;
}

// Field-wise equality of two layers.
template <typename Layer>
bool same_fields(const Layer& a, const Layer& b) {
  for (const auto& f : layer_fields<Layer>()) {
    if (f.of(a) != f.of(b)) return false;
  }
  return true;
}

}  // namespace thanos
