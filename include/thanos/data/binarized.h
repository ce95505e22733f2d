#pragma once
// A binarized split: every sentence pair as token ids, loaded with one read.
//
// File layout (little-endian): magic "THNSBIN1", uint64 pair count n, uint64 src_offsets[n+1],
// uint64 tgt_offsets[n+1], int32 src_tokens[src_offsets[n]], int32 tgt_tokens[tgt_offsets[n]].
// Sentences are stored with their end-of-sentence id appended (fairseq's convention).
#include <cstdint>
#include <string>
#include <vector>

namespace thanos {

// fairseq's dictionary convention, which our sentencepiece models are trained to follow.
constexpr int kBosId = 0, kPadId = 1, kEosId = 2, kUnkId = 3;

struct BinarizedSplit {
  std::vector<std::uint64_t> src_offsets{0}, tgt_offsets{0};
  std::vector<std::int32_t> src_tokens, tgt_tokens;

  std::size_t size() const { return src_offsets.size() - 1; }
  std::size_t src_len(std::size_t i) const { return src_offsets[i + 1] - src_offsets[i]; }
  std::size_t tgt_len(std::size_t i) const { return tgt_offsets[i + 1] - tgt_offsets[i]; }
  const std::int32_t* src(std::size_t i) const { return src_tokens.data() + src_offsets[i]; }
  const std::int32_t* tgt(std::size_t i) const { return tgt_tokens.data() + tgt_offsets[i]; }
  // Appends a pair; the caller includes the end-of-sentence ids.
  void add(const std::vector<std::int32_t>& src, const std::vector<std::int32_t>& tgt);
  // The pairs at `indices`, in that order.
  BinarizedSplit subset(const std::vector<std::size_t>& indices) const;
};

// Atomic write (temporary file + rename).
void save_binarized(const std::string& path, const BinarizedSplit& split);
// Throws std::invalid_argument naming the file when it is missing, truncated or not binarized data.
BinarizedSplit load_binarized(const std::string& path);

}  // namespace thanos
