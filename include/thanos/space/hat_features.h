#pragma once
// HAT's 10 latency-predictor features of a SubTransformer (HAT's latency_dataset.py and
// latency_predictor.py): per-stack dims, layer counts and per-layer averages. They head every
// latency dataset row, so HAT's published datasets and THANOS' own share their first columns.
#include <array>
#include <string>

#include "thanos/space/sub_config.h"

namespace thanos {

inline constexpr int kHatFeatureCount = 10;
using HatFeatures = std::array<double, kHatFeatureCount>;

// encoder_embed_dim, encoder_layer_num, encoder_ffn_embed_dim_avg,
// encoder_self_attention_heads_avg, decoder_embed_dim, decoder_layer_num,
// decoder_ffn_embed_dim_avg, decoder_self_attention_heads_avg, decoder_ende_attention_heads_avg,
// decoder_arbitrary_ende_attn_avg (the number of encoder layers attended, averaged: HAT encodes
// its -1/1/2 choices as 1/2/3 here).
const std::array<std::string, kHatFeatureCount>& hat_feature_names();
HatFeatures hat_features(const SubConfig& config);
// HAT's feature-norm: [640, 6, 2048, 6, 640, 6, 2048, 6, 6, 2].
const HatFeatures& hat_feature_norm();

}  // namespace thanos
