#include "thanos/predict/arch_features.h"

#include <algorithm>

namespace thanos {

ArchSums arch_sums(const SubConfig& c) {
  ArchSums a;
  a.enc_embed = c.encoder_embed_dim;
  a.enc_layers = c.encoder_layer_num();
  for (const auto& l : c.encoder_layers) {
    a.enc_ffn += l.ffn_dim;
    a.enc_heads += l.self_heads;
    a.enc_qkv += l.self_qkv_dim;
  }
  a.dec_embed = c.decoder_embed_dim;
  a.dec_layers = c.decoder_layer_num();
  for (const auto& l : c.decoder_layers) {
    a.dec_ffn += l.ffn_dim;
    a.dec_self_heads += l.self_heads;
    a.dec_self_qkv += l.self_qkv_dim;
    a.dec_ende_heads += l.ende_heads;
    a.dec_ende_qkv += l.ende_qkv_dim;
    a.dec_ende_layers += l.ende_attn_layers;
    a.dec_ende_layers_qkv += static_cast<double>(l.ende_attn_layers) * l.ende_qkv_dim;
  }
  a.hat = hat_features(c);
  return a;
}

ArchSums arch_sums_from_hat(const HatFeatures& h, double qkv_dim) {
  ArchSums a;
  a.enc_embed = h[0];
  a.enc_layers = h[1];
  a.enc_ffn = h[1] * h[2];
  a.enc_heads = h[1] * h[3];
  a.enc_qkv = h[1] * qkv_dim;
  a.dec_embed = h[4];
  a.dec_layers = h[5];
  a.dec_ffn = h[5] * h[6];
  a.dec_self_heads = h[5] * h[7];
  a.dec_self_qkv = h[5] * qkv_dim;
  a.dec_ende_heads = h[5] * h[8];
  a.dec_ende_qkv = h[5] * qkv_dim;
  a.dec_ende_layers = h[5] * h[9];
  a.dec_ende_layers_qkv = h[5] * h[9] * qkv_dim;
  a.hat = h;
  return a;
}

// Products are taken per stack: the embed dim is the same in every layer of a stack, so
// embed x sum(width) is the exact sum of the per-layer products.
std::vector<double> latency_features(const ArchSums& a) {
  const double E = a.enc_embed, D = a.dec_embed;
  return {1,
          // encoder: projections (E x qkv, four of them), FFN (E x ffn, two), per-layer and
          // per-head kernel launches, attention over the source (qkv)
          E * a.enc_qkv, E * a.enc_ffn, a.enc_ffn, a.enc_heads, a.enc_qkv, E,
          // decoder, per generated token: layer count (launch-bound GPUs), self and ende
          // projections, FFN, heads, attended encoder layers (ende keys/values: E x qkv per
          // attended layer), the output projection (D x vocab)
          a.dec_layers, D * a.dec_self_qkv, D * a.dec_ende_qkv, D * a.dec_ffn, a.dec_ffn, a.dec_self_heads,
          a.dec_ende_heads, a.dec_ende_layers, E * a.dec_ende_layers_qkv, D};
}

const std::vector<std::string>& latency_feature_names() {
  static const std::vector<std::string> names = {
      "1",           "E*sum(enc_qkv)", "E*sum(enc_ffn)", "sum(enc_ffn)",         "sum(enc_heads)",
      "sum(enc_qkv)", "E",             "dec_layers",     "D*sum(dec_self_qkv)",  "D*sum(dec_ende_qkv)",
      "D*sum(dec_ffn)", "sum(dec_ffn)", "sum(dec_self_heads)", "sum(dec_ende_heads)", "sum(dec_ende_layers)",
      "E*sum(ende_layers*ende_qkv)", "D"};
  return names;
}

std::vector<double> memory_features(const ArchSums& a) {
  const double E = a.enc_embed, D = a.dec_embed;
  return {1,
          // weights: embedding tables and output projection (vocab x E, vocab x D; one shared
          // table is vocab x max(E, D)), layer weights
          E, D, std::max(E, D), E * a.enc_qkv, E * a.enc_ffn, D * a.dec_self_qkv, D * a.dec_ende_qkv, E * a.dec_ende_qkv,
          D * a.dec_ffn,
          // key/value caches: self-attention (per layer, qkv wide) and ende keys/values over every
          // attended encoder layer; every encoder layer's output kept per beam row (E x layers);
          // per-layer biases and norms (E x layers, D x layers)
          a.dec_self_qkv, a.dec_ende_layers_qkv, a.enc_layers, a.dec_layers, E * a.enc_layers, D * a.dec_layers};
}

const std::vector<std::string>& memory_feature_names() {
  static const std::vector<std::string> names = {
      "1", "E", "D", "max(E,D)", "E*sum(enc_qkv)", "E*sum(enc_ffn)", "D*sum(dec_self_qkv)", "D*sum(dec_ende_qkv)",
      "E*sum(dec_ende_qkv)", "D*sum(dec_ffn)", "sum(dec_self_qkv)", "sum(ende_layers*ende_qkv)", "enc_layers",
      "dec_layers", "E*enc_layers", "D*dec_layers"};
  return names;
}

}  // namespace thanos
