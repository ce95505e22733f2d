#pragma once
// What a predictor sees of a SubTransformer. Latency is close to linear in the work of each
// layer (docs/PREDICTORS.md), so the predictors use per-stack sums over the active layers; HAT's
// averaged features give those sums exactly (sum = layers x average), and a SubConfig gives them
// directly, with its per-layer QKV widths. Torch-free.
#include <string>
#include <vector>

#include "thanos/space/hat_features.h"
#include "thanos/space/search_space.h"
#include "thanos/space/sub_config.h"

namespace thanos {

struct ArchSums {
  double enc_embed = 0, enc_layers = 0;
  double enc_ffn = 0;          // sum of FFN widths
  double enc_heads = 0;        // sum of self-attention heads
  double enc_qkv = 0;          // sum of self-attention QKV widths
  double dec_embed = 0, dec_layers = 0;
  double dec_ffn = 0;
  double dec_self_heads = 0, dec_self_qkv = 0;
  double dec_ende_heads = 0, dec_ende_qkv = 0;
  double dec_ende_layers = 0;      // sum of attended encoder layers
  double dec_ende_layers_qkv = 0;  // sum of attended layers x ende QKV width (keys/values projected)
  HatFeatures hat{};               // HAT's 10 averaged features (hat-mlp's input)
};

ArchSums arch_sums(const SubConfig& config);
// From HAT's averaged features; HAT fixes every QKV width at `qkv_dim`.
ArchSums arch_sums_from_hat(const HatFeatures& hat, double qkv_dim = kHatQkvDim);

// Physically motivated features (multiply-accumulate counts per layer stack, kernel counts),
// fixed order; the first is the constant 1. Latency: encoder and decoder projections, FFNs,
// heads, attended encoder layers, the output projection (decoder embed). Memory adds the weight
// counts and key/value cache widths.
std::vector<double> latency_features(const ArchSums& a);
std::vector<double> memory_features(const ArchSums& a);
const std::vector<std::string>& latency_feature_names();
const std::vector<std::string>& memory_feature_names();

}  // namespace thanos
