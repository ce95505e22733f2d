#pragma once
// The search space: the SuperTransformer's sizes and the choices each SubTransformer makes.
// A plain value type; reading HAT's YAML files lives in space_yaml.h.
#include <optional>
#include <string>
#include <vector>

#include "thanos/common/big_uint.h"
#include "thanos/space/sub_config.h"

namespace thanos {

// The largest layer count and width a space may declare (validate()).
inline constexpr int kMaxLayerCount = 64;
inline constexpr int kMaxWidth = 65536;
inline constexpr int kMaxPositions = 1 << 20;  // max-source/target-positions: a sentence, not a book

// Model settings that are not searched but fix how the networks compute. HAT keeps them in the
// same YAML file as the space (fairseq option names in comments). Defaults are fairseq's, so a
// HAT file that omits a key means what it meant to HAT.
struct ModelHyperParams {
  bool share_all_embeddings = false;        // share-all-embeddings: one joint vocabulary table
  bool share_decoder_input_output = false;  // share-decoder-input-output-embed (implied by share-all)
  bool encoder_normalize_before = false;   // encoder-normalize-before: pre-norm layers + final norm
  bool decoder_normalize_before = false;   // decoder-normalize-before
  double dropout = 0.1;                    // dropout (scaled by sampled/super embed dim, as HAT)
  double attention_dropout = 0.0;          // attention-dropout
  double activation_dropout = 0.0;         // activation-dropout (relu-dropout)
  int max_source_positions = 1024;         // max-source-positions
  int max_target_positions = 1024;         // max-target-positions
  bool operator==(const ModelHyperParams& o) const;
};

struct SearchSpace {
  // SuperTransformer sizes (HAT: encoder-embed-dim, ..., qkv-dim). Super weights have these
  // shapes; every choice must fit inside them.
  int encoder_embed_dim = 0, decoder_embed_dim = 0;
  int encoder_ffn_dim = 0, decoder_ffn_dim = 0;
  int encoder_layers = 0, decoder_layers = 0;
  int encoder_heads = 0, decoder_heads = 0;
  int qkv_dim = 0;  // super width of every attention's Q/K/V (HAT fixes all sub widths to it)

  // Choices (HAT key names in comments).
  std::vector<int> encoder_embed_choices;        // encoder-embed-choice
  std::vector<int> decoder_embed_choices;        // decoder-embed-choice
  std::vector<int> encoder_ffn_choices;          // encoder-ffn-embed-dim-choice
  std::vector<int> decoder_ffn_choices;          // decoder-ffn-embed-dim-choice
  std::vector<int> encoder_layer_num_choices;    // encoder-layer-num-choice
  std::vector<int> decoder_layer_num_choices;    // decoder-layer-num-choice
  std::vector<int> encoder_self_heads_choices;   // encoder-self-attention-heads-choice
  std::vector<int> decoder_self_heads_choices;   // decoder-self-attention-heads-choice
  std::vector<int> decoder_ende_heads_choices;   // decoder-ende-attention-heads-choice
  std::vector<int> decoder_ende_layers_choices;  // decoder-arbitrary-ende-attn-choice, as layer counts
  // THANOS: elastic QKV width, chosen per layer and attention type.
  std::vector<int> encoder_self_qkv_choices;     // encoder-self-attention-qkv-dim-choice
  std::vector<int> decoder_self_qkv_choices;     // decoder-self-attention-qkv-dim-choice
  std::vector<int> decoder_ende_qkv_choices;     // decoder-ende-attention-qkv-dim-choice

  ModelHyperParams hyper;
  std::string hat_arch;             // HAT's `arch` (e.g. transformersuper_wmt_en_de), informational
  std::string source = "<memory>";  // where it was read from, for messages

  // Throws std::invalid_argument naming the key when a choice is empty, non-positive, larger
  // than the super size, or when no valid SubTransformer exists.
  void validate() const;

  // Throws std::invalid_argument naming the field, the value and the allowed choices.
  void check_config(const SubConfig& config) const;
  bool contains(const SubConfig& config) const;

  // Exact number of distinct SubTransformers (layer counts, then every active layer's choices;
  // only (heads, qkv) pairs where heads divide qkv, and attended encoder layers <= depth).
  BigUInt size() const;

  // The encoder depth choices that have members: those some attended-depth choice fits (a space
  // may offer depths 1..3 but attend only 2 or 3 layers). Draws, mutations and extremes use these.
  std::vector<int> encoder_depths_with_members() const;

  SubConfig smallest() const;  // minimum of every choice
  SubConfig largest() const;   // maximum of every choice
  // The SuperTransformer's own shape (super sizes in every layer): what its weights can hold.
  SubConfig super_shape() const;

  // HAT's profiling sentence length for this space: 23 for IWSLT architectures, else 30.
  int hat_profile_length() const;

  // QKV choices compatible with a head count, in ascending order.
  static std::vector<int> qkv_for_heads(const std::vector<int>& qkv_choices, int heads);
};

// HAT's fixed QKV width: every attention of every HAT model has it.
constexpr int kHatQkvDim = 512;

// The QKV width of the attentions a SubConfig file leaves out (HAT's files have no QKV keys): the
// space's qkv-dim, since HAT fixes every attention at its space's width; without a space, or with
// one whose qkv-dim is unset, `fallback` (HAT's 512 unless the caller knows the model's own width).
int default_qkv_dim(const SearchSpace& space, int fallback = kHatQkvDim);
int default_qkv_dim(const std::optional<SearchSpace>& space, int fallback = kHatQkvDim);

// HAT's published spaces, built in code (also shipped as configs/spaces/*.yml).
SearchSpace hat_wmt14ende_space0();
SearchSpace hat_iwslt14deen_space1();

}  // namespace thanos
