#pragma once
// Token-budget batches with length bucketing and a deterministic shuffle per epoch (fairseq's
// scheme): pairs are ordered by length, packed greedily so that batch size x longest sentence
// <= max_tokens, and the order of the batches is shuffled with (seed, epoch).
#include <cstdint>
#include <vector>

#include "thanos/data/binarized.h"

namespace thanos {

struct BatchingOptions {
  int max_tokens = 4096;     // per batch: sentences x max(longest source, longest target)
  int max_sentences = 0;     // 0 = no limit
  std::uint64_t seed = 1;
};

using BatchIndices = std::vector<std::vector<std::size_t>>;

// Batches in a fixed (length-sorted) order; a pair longer than max_tokens gets a batch alone.
BatchIndices make_batches(const BinarizedSplit& split, const BatchingOptions& options);
// The same batches in the order of epoch `epoch` (>= 1): a permutation drawn from (seed, epoch).
BatchIndices shuffled_batches(const BatchIndices& batches, std::uint64_t seed, std::uint64_t epoch);

}  // namespace thanos
