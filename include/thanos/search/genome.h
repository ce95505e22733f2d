#pragma once
// The genome HAT's evolutionary search works on (docs/SEARCH.md): every gene of the largest
// network, active or not, so a layer switched off by a depth mutation and back on keeps its genes,
// as in HAT. Variation operators always return a valid member of the space (repair), so the
// search never spends an evaluation on an invalid architecture. Torch-free.
#include <functional>
#include <string>
#include <vector>

#include "thanos/common/random.h"
#include "thanos/space/search_space.h"

namespace thanos {

struct Genome {
  int encoder_embed_dim = 0, decoder_embed_dim = 0;
  int encoder_layer_num = 0, decoder_layer_num = 0;
  std::vector<EncoderLayerConfig> encoder_layers;  // one per layer of the largest encoder
  std::vector<DecoderLayerConfig> decoder_layers;  // one per layer of the largest decoder

  // The SubConfig the active layers describe.
  SubConfig config() const;
};

// A uniformly drawn genome (HAT's sampling rule for every gene).
Genome random_genome(const SearchSpace& space, Rng& rng);
// `config`'s genes, inactive layers drawn at random. `config` must belong to `space`.
Genome genome_of(const SubConfig& config, const SearchSpace& space, Rng& rng);
// HAT's mutation: every gene redrawn from its choices with probability `prob`.
Genome mutate(const Genome& g, const SearchSpace& space, double prob, Rng& rng);
// HAT's crossover: every gene from either parent with equal probability.
Genome crossover(const Genome& a, const Genome& b, const SearchSpace& space, Rng& rng);
// Makes every gene valid: QKV widths divisible by the layer's head count (a new width among those
// that are), attended encoder layers within the encoder depth.
void repair(Genome& g, const SearchSpace& space, Rng& rng);

// The configs of `population` that still need a fitness: distinct, not `scored`, in population
// order; their hashes go to `pending` (what a strategy's tell() will receive values for).
std::vector<SubConfig> unscored_members(const std::vector<Genome>& population,
                                        const std::function<bool(const std::string&)>& scored,
                                        std::vector<std::string>& pending);

}  // namespace thanos
