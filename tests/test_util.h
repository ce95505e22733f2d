#pragma once
// Shared fixtures: small spaces and models that keep the suite fast.
#include <string>

#include "thanos/space/search_space.h"

namespace thanos::testing {

// A tiny space with every elastic dimension, QKV included (heads 4/2, qkv 32/16/24).
inline SearchSpace tiny_space() {
  SearchSpace s;
  s.source = "tiny";
  s.encoder_embed_dim = s.decoder_embed_dim = 32;
  s.encoder_ffn_dim = s.decoder_ffn_dim = 64;
  s.encoder_layers = 3;
  s.decoder_layers = 3;
  s.encoder_heads = s.decoder_heads = 4;
  s.qkv_dim = 32;
  s.encoder_embed_choices = s.decoder_embed_choices = {32, 24, 16};
  s.encoder_ffn_choices = s.decoder_ffn_choices = {64, 48, 32};
  s.encoder_layer_num_choices = {3, 2};
  s.decoder_layer_num_choices = {3, 2, 1};
  s.encoder_self_heads_choices = s.decoder_self_heads_choices = s.decoder_ende_heads_choices = {4, 2};
  s.decoder_ende_layers_choices = {1, 2, 3};
  s.encoder_self_qkv_choices = s.decoder_self_qkv_choices = s.decoder_ende_qkv_choices = {32, 24, 16};
  s.hyper.share_all_embeddings = s.hyper.share_decoder_input_output = true;
  s.hyper.dropout = 0.1;
  s.hyper.attention_dropout = 0.1;
  s.hyper.max_source_positions = s.hyper.max_target_positions = 64;
  return s;
}

inline std::string test_data(const std::string& rel) { return std::string(THANOS_TEST_DATA) + "/" + rel; }

}  // namespace thanos::testing
