// Binarized splits (thanos prepare's .bin files): load_binarized on any bytes, then the invariants
// every reader relies on (collate, batching, subsets index the token arrays by the offsets), and
// what the trainer does with a split: token-budget batches and a subset.
#include <algorithm>

#include "fuzz_target.h"
#include "thanos/data/batcher.h"
#include "thanos/data/binarized.h"

using namespace thanos;
using namespace thanos::fuzz;

namespace {

void check_offsets(const std::vector<std::uint64_t>& offsets, std::size_t tokens, const char* side) {
  if (offsets.empty() || offsets.front() != 0 || offsets.back() != tokens ||
      !std::is_sorted(offsets.begin(), offsets.end())) {
    finding(std::string("load_binarized accepted inconsistent ") + side + " offsets");
  }
}

}  // namespace

THANOS_FUZZ_TARGET(binarized) {
  const std::string path = write_file("fuzz.bin", as_text(data, size));
  BinarizedSplit split;
  if (!expect_documented([&] { split = load_binarized(path); }, kInvalidArgument, path)) return 0;
  if (split.src_offsets.size() != split.tgt_offsets.size()) finding("source and target pair counts differ");
  check_offsets(split.src_offsets, split.src_tokens.size(), "source");
  check_offsets(split.tgt_offsets, split.tgt_tokens.size(), "target");
  std::int64_t sum = 0;  // every token read through the accessors (ASan checks the bounds)
  std::vector<std::size_t> reversed;
  for (std::size_t i = 0; i < split.size(); ++i) {
    for (std::size_t k = 0; k < split.src_len(i); ++k) sum += split.src(i)[k];
    for (std::size_t k = 0; k < split.tgt_len(i); ++k) sum += split.tgt(i)[k];
    reversed.insert(reversed.begin(), i);
  }
  const BinarizedSplit sub = split.subset(reversed);
  if (sub.size() != split.size() || sub.src_tokens.size() != split.src_tokens.size()) finding("subset lost tokens");
  BatchingOptions options;
  options.max_tokens = 64;
  std::size_t batched = 0;
  for (const auto& batch : make_batches(split, options)) batched += batch.size();
  if (batched != split.size()) finding("make_batches lost pairs");
  return static_cast<int>(sum & 0);
}
