#pragma once
// HAT's baseline (docs/PIPELINE.md): the homogeneous Transformer — the same dimensions in every
// layer, QKV included — with the largest measured latency that still fits both budgets. These are
// the space's homogeneous members: one embedding width for encoder and decoder, one FFN width, one
// head count and one QKV width for every attention, any layer counts, each decoder layer attending
// the last encoder layer (the standard Transformer).
#include <vector>

#include "thanos/space/search_space.h"
#include "thanos/space/sub_config.h"

namespace thanos {

// Every homogeneous member of `space`, in a fixed order (smaller first). Empty when the space has
// none (e.g. no embedding width shared by encoder and decoder).
std::vector<SubConfig> homogeneous_members(const SearchSpace& space);

}  // namespace thanos
