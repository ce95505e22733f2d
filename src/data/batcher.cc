#include "thanos/data/batcher.h"

#include <algorithm>
#include <numeric>

#include "thanos/common/random.h"

namespace thanos {

BatchIndices make_batches(const BinarizedSplit& s, const BatchingOptions& o) {
  std::vector<std::size_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  // Bucket by length: target length, then source length, then index (a total order, so the
  // result does not depend on the sort algorithm).
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (s.tgt_len(a) != s.tgt_len(b)) return s.tgt_len(a) < s.tgt_len(b);
    if (s.src_len(a) != s.src_len(b)) return s.src_len(a) < s.src_len(b);
    return a < b;
  });
  BatchIndices batches;
  std::vector<std::size_t> current;
  std::size_t longest = 0;
  for (std::size_t i : order) {
    const std::size_t len = std::max(s.src_len(i), s.tgt_len(i));
    const std::size_t new_longest = std::max(longest, len);
    const bool over_tokens = (current.size() + 1) * new_longest > static_cast<std::size_t>(o.max_tokens);
    const bool over_sentences = o.max_sentences > 0 && current.size() + 1 > static_cast<std::size_t>(o.max_sentences);
    if (!current.empty() && (over_tokens || over_sentences)) {
      batches.push_back(std::move(current));
      current.clear();
      longest = 0;
    }
    current.push_back(i);
    longest = std::max(longest, len);
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

BatchIndices shuffled_batches(const BatchIndices& batches, std::uint64_t seed, std::uint64_t epoch) {
  BatchIndices out = batches;
  Rng rng(seed * 1000003ull + epoch);
  // Fisher-Yates with our portable bounded draw.
  for (std::size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[rng.uniform_index(i)]);
  return out;
}

}  // namespace thanos
