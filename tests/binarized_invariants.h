#pragma once
// What every reader of a binarized split relies on, whatever a file held: each pair's tokens lie
// inside the token arrays and every id is a valid index (test_binarized, test_properties).
#include <gtest/gtest.h>

#include <algorithm>

#include "thanos/data/binarized.h"

namespace thanos::testing {

inline void expect_binarized_invariants(const BinarizedSplit& s) {
  ASSERT_EQ(s.src_offsets.size(), s.tgt_offsets.size());
  ASSERT_EQ(s.src_offsets.front(), 0u);
  ASSERT_EQ(s.tgt_offsets.front(), 0u);
  ASSERT_TRUE(std::is_sorted(s.src_offsets.begin(), s.src_offsets.end()));
  ASSERT_TRUE(std::is_sorted(s.tgt_offsets.begin(), s.tgt_offsets.end()));
  ASSERT_EQ(s.src_offsets.back(), s.src_tokens.size());
  ASSERT_EQ(s.tgt_offsets.back(), s.tgt_tokens.size());
  for (auto t : s.src_tokens) ASSERT_GE(t, 0);
  for (auto t : s.tgt_tokens) ASSERT_GE(t, 0);
}

}  // namespace thanos::testing
