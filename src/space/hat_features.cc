#include "thanos/space/hat_features.h"

namespace thanos {

const std::array<std::string, kHatFeatureCount>& hat_feature_names() {
  static const std::array<std::string, kHatFeatureCount> names = {
      "encoder_embed_dim",         "encoder_layer_num",
      "encoder_ffn_embed_dim_avg", "encoder_self_attention_heads_avg",
      "decoder_embed_dim",         "decoder_layer_num",
      "decoder_ffn_embed_dim_avg", "decoder_self_attention_heads_avg",
      "decoder_ende_attention_heads_avg", "decoder_arbitrary_ende_attn_avg"};
  return names;
}

HatFeatures hat_features(const SubConfig& c) {
  double enc_ffn = 0, enc_heads = 0, dec_ffn = 0, dec_heads = 0, ende_heads = 0, ende_layers = 0;
  for (const auto& l : c.encoder_layers) {
    enc_ffn += l.ffn_dim;
    enc_heads += l.self_heads;
  }
  for (const auto& l : c.decoder_layers) {
    dec_ffn += l.ffn_dim;
    dec_heads += l.self_heads;
    ende_heads += l.ende_heads;
    ende_layers += l.ende_attn_layers;
  }
  const double ne = c.encoder_layers.empty() ? 1.0 : static_cast<double>(c.encoder_layers.size());
  const double nd = c.decoder_layers.empty() ? 1.0 : static_cast<double>(c.decoder_layers.size());
  return {static_cast<double>(c.encoder_embed_dim), static_cast<double>(c.encoder_layers.size()), enc_ffn / ne,
          enc_heads / ne, static_cast<double>(c.decoder_embed_dim), static_cast<double>(c.decoder_layers.size()),
          dec_ffn / nd, dec_heads / nd, ende_heads / nd, ende_layers / nd};
}

const HatFeatures& hat_feature_norm() {
  static const HatFeatures norm = {640, 6, 2048, 6, 640, 6, 2048, 6, 6, 2};
  return norm;
}

}  // namespace thanos
