#pragma once
// What a network is built from: its capacity (the largest sizes each layer can hold), the
// vocabulary and the fixed hyper-parameters. Torch-free so the cost model can share it.
#include <string>

#include "thanos/space/search_space.h"
#include "thanos/space/sub_config.h"

namespace thanos {

struct ModelOptions {
  // Per-layer maximum sizes. A SuperTransformer's is SearchSpace::super_shape(); a standalone
  // SubTransformer's is its own SubConfig. Head counts here are ignored (they shape no weight).
  SubConfig capacity;
  int src_vocab_size = 0;
  int tgt_vocab_size = 0;  // equal to src_vocab_size when embeddings are shared
  int padding_idx = 1;     // fairseq's dictionary convention: <s>=0, <pad>=1, </s>=2, <unk>=3
  ModelHyperParams hyper;
  // Width the sinusoidal position tables were computed for. HAT computes them for the super
  // embed dim and slices them, so a standalone model keeps its super model's value here.
  int encoder_position_dim = 0;  // 0 = capacity.encoder_embed_dim
  int decoder_position_dim = 0;  // 0 = capacity.decoder_embed_dim

  // Throws std::invalid_argument naming the field.
  void validate() const;
  bool operator==(const ModelOptions& o) const;
};

// Options of the SuperTransformer of `space` for a given vocabulary.
ModelOptions super_model_options(const SearchSpace& space, int src_vocab_size, int tgt_vocab_size);

}  // namespace thanos
