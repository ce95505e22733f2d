#pragma once
// Drawing SubTransformers from a search space.
#include <cstdint>
#include <vector>

#include "thanos/common/random.h"
#include "thanos/space/search_space.h"

namespace thanos {

// HAT's sampling rule: every dimension uniformly and independently; layer counts first, then each
// active layer's choices. Two THANOS additions keep every draw valid: a layer's QKV width is drawn
// uniformly among the choices its (already drawn) head count divides, and the attended encoder
// layers among those the drawn encoder depth has.
SubConfig sample_config(const SearchSpace& space, Rng& rng);

// `count` configs from a fresh generator seeded with `seed` (same seed, same list).
std::vector<SubConfig> sample_configs(const SearchSpace& space, std::uint64_t seed, int count);

}  // namespace thanos
