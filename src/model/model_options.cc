#include "thanos/model/model_options.h"

#include <stdexcept>

namespace thanos {

void ModelOptions::validate() const {
  capacity.check_consistent();
  if (src_vocab_size <= 0) throw std::invalid_argument("src_vocab_size: expected a positive integer, got " + std::to_string(src_vocab_size));
  if (tgt_vocab_size <= 0) throw std::invalid_argument("tgt_vocab_size: expected a positive integer, got " + std::to_string(tgt_vocab_size));
  if (hyper.share_all_embeddings && src_vocab_size != tgt_vocab_size) {
    throw std::invalid_argument("share-all-embeddings needs one joint vocabulary, but src_vocab_size = " +
                                std::to_string(src_vocab_size) + " and tgt_vocab_size = " + std::to_string(tgt_vocab_size));
  }
  if (padding_idx < 0 || padding_idx >= std::min(src_vocab_size, tgt_vocab_size)) {
    throw std::invalid_argument("padding_idx " + std::to_string(padding_idx) + " is outside the vocabulary");
  }
  if (encoder_position_dim != 0 && encoder_position_dim < capacity.encoder_embed_dim) {
    throw std::invalid_argument("encoder position table width " + std::to_string(encoder_position_dim) +
                                " is narrower than encoder-embed-dim " + std::to_string(capacity.encoder_embed_dim));
  }
  if (decoder_position_dim != 0 && decoder_position_dim < capacity.decoder_embed_dim) {
    throw std::invalid_argument("decoder position table width " + std::to_string(decoder_position_dim) +
                                " is narrower than decoder-embed-dim " + std::to_string(capacity.decoder_embed_dim));
  }
  if (hyper.max_source_positions <= 0 || hyper.max_target_positions <= 0) {
    throw std::invalid_argument("max-source-positions and max-target-positions must be positive");
  }
}

bool ModelOptions::operator==(const ModelOptions& o) const {
  return capacity == o.capacity && src_vocab_size == o.src_vocab_size && tgt_vocab_size == o.tgt_vocab_size &&
         padding_idx == o.padding_idx && hyper == o.hyper && encoder_position_dim == o.encoder_position_dim &&
         decoder_position_dim == o.decoder_position_dim;
}

ModelOptions super_model_options(const SearchSpace& space, int src_vocab_size, int tgt_vocab_size) {
  ModelOptions o;
  o.capacity = space.super_shape();
  o.src_vocab_size = src_vocab_size;
  o.tgt_vocab_size = tgt_vocab_size;
  o.hyper = space.hyper;
  o.encoder_position_dim = space.encoder_embed_dim;
  o.decoder_position_dim = space.decoder_embed_dim;
  return o;
}

}  // namespace thanos
