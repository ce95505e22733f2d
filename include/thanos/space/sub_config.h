#pragma once
// One SubTransformer architecture: a plain value type (no torch), compared, hashed and
// serialised by everything downstream (model slicing, measurements, search trials). The per-layer
// fields are described once in sub_config_fields.h; a new one goes there too.
#include <cstdint>
#include <string>
#include <vector>

namespace thanos {

struct EncoderLayerConfig {
  int ffn_dim = 0;        // hidden width of the feed-forward block
  int self_heads = 0;     // self-attention heads
  int self_qkv_dim = 0;   // width of self-attention Q, K and V
  int self_head_dim() const { return self_qkv_dim / self_heads; }
  bool operator==(const EncoderLayerConfig& o) const;  // every field of sub_config_fields.h
};

struct DecoderLayerConfig {
  int ffn_dim = 0;
  int self_heads = 0;
  int self_qkv_dim = 0;
  int ende_heads = 0;     // encoder-decoder attention heads
  int ende_qkv_dim = 0;   // encoder-decoder attention Q/K/V width
  // Number of last encoder layers this layer attends to (HAT's "arbitrary encoder-decoder
  // attention"): 1 = last layer only. HAT's files encode it as -1, 1, 2 for 1, 2, 3 layers;
  // see hat_ende_code_to_layers().
  int ende_attn_layers = 1;
  int self_head_dim() const { return self_qkv_dim / self_heads; }
  int ende_head_dim() const { return ende_qkv_dim / ende_heads; }
  bool operator==(const DecoderLayerConfig& o) const;
};

struct SubConfig {
  int encoder_embed_dim = 0;
  int decoder_embed_dim = 0;
  std::vector<EncoderLayerConfig> encoder_layers;  // one entry per active layer
  std::vector<DecoderLayerConfig> decoder_layers;  // one entry per active layer

  int encoder_layer_num() const { return static_cast<int>(encoder_layers.size()); }
  int decoder_layer_num() const { return static_cast<int>(decoder_layers.size()); }

  // Structural checks that need no search space: positive sizes, qkv divisible by heads,
  // attended encoder layers within the encoder depth. Throws std::invalid_argument naming the
  // field and value.
  void check_consistent() const;

  // Canonical one-line text of every field in a fixed order; the hash is taken over it, so it
  // is stable across runs, platforms and file formats.
  std::string canonical() const;
  std::uint64_t hash() const;
  std::string hash_hex() const;  // 16 hex digits
  // Short human summary, e.g. "enc 512x6 ffn[1024..3072] | dec 512x1 ..."
  std::string summary() const;

  bool operator==(const SubConfig& o) const {
    return encoder_embed_dim == o.encoder_embed_dim && decoder_embed_dim == o.decoder_embed_dim &&
           encoder_layers == o.encoder_layers && decoder_layers == o.decoder_layers;
  }
  bool operator!=(const SubConfig& o) const { return !(*this == o); }
};

// HAT's arbitrary encoder-decoder attention code (-1: last layer, 1: last two, 2: last three)
// to the number of attended layers, and back. Throws on codes HAT does not define (0, < -1).
int hat_ende_code_to_layers(int code);
int layers_to_hat_ende_code(int layers);

}  // namespace thanos
