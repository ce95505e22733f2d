#include "thanos/train/batch.h"

#include <algorithm>

namespace thanos {

Batch collate(const BinarizedSplit& s, const std::vector<std::size_t>& indices) {
  const std::int64_t B = static_cast<std::int64_t>(indices.size());
  std::int64_t S = 0, T = 0;
  for (std::size_t i : indices) {
    S = std::max<std::int64_t>(S, s.src_len(i));
    T = std::max<std::int64_t>(T, s.tgt_len(i));
  }
  Batch b;
  b.src = torch::full({B, S}, kPadId, torch::kLong);
  b.prev = torch::full({B, T}, kPadId, torch::kLong);
  b.target = torch::full({B, T}, kPadId, torch::kLong);
  auto src = b.src.accessor<int64_t, 2>(), prev = b.prev.accessor<int64_t, 2>(), tgt = b.target.accessor<int64_t, 2>();
  for (std::int64_t r = 0; r < B; ++r) {
    const std::size_t i = indices[r];
    for (std::size_t k = 0; k < s.src_len(i); ++k) src[r][k] = s.src(i)[k];
    const std::size_t tl = s.tgt_len(i);
    for (std::size_t k = 0; k < tl; ++k) tgt[r][k] = s.tgt(i)[k];
    // fairseq's move_eos_to_beginning: </s> w1 ... wn (the final </s> dropped).
    prev[r][0] = kEosId;
    for (std::size_t k = 0; k + 1 < tl; ++k) prev[r][k + 1] = s.tgt(i)[k];
    b.ntokens += static_cast<std::int64_t>(tl);
  }
  b.nsentences = B;
  return b;
}

}  // namespace thanos
