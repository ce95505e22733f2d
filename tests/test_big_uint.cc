#include <gtest/gtest.h>

#include "thanos/common/big_uint.h"

using thanos::BigUInt;

TEST(BigUInt, SmallArithmeticMatchesBuiltinIntegers) {
  for (std::uint64_t a : {0ull, 1ull, 7ull, 4294967295ull, 4294967296ull, 123456789012ull}) {
    for (std::uint64_t b : {0ull, 3ull, 65535ull, 4294967297ull}) {
      EXPECT_EQ((BigUInt(a) + BigUInt(b)).to_string(), std::to_string(a + b));
      if (a < (1ull << 31) || b < (1ull << 31)) {
        unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
        if (p <= UINT64_MAX) {
          EXPECT_EQ((BigUInt(a) * BigUInt(b)).to_string(), std::to_string(static_cast<std::uint64_t>(p)));
        }
      }
    }
  }
}

TEST(BigUInt, PastTwoToThe64) {
  const BigUInt two64 = BigUInt::pow(BigUInt(2), 64);
  EXPECT_EQ(two64.to_string(), "18446744073709551616");
  EXPECT_EQ((two64 * two64).to_string(), "340282366920938463463374607431768211456");
  EXPECT_EQ(BigUInt::pow(BigUInt(10), 30).to_string(), "1" + std::string(30, '0'));
  EXPECT_EQ((BigUInt::pow(BigUInt(10), 20) + BigUInt(1)).to_string(), "100000000000000000001");
  EXPECT_TRUE(BigUInt(UINT64_MAX) < two64);
  EXPECT_FALSE(two64 < BigUInt(UINT64_MAX));
}

TEST(BigUInt, ScientificForm) {
  EXPECT_EQ(BigUInt(417846678672384ull).to_scientific(), "4.178e14");
  EXPECT_EQ(BigUInt(99995ull * 10000).to_scientific(), "1.000e9");
  EXPECT_EQ(BigUInt(12345).to_scientific(), "12345");
  EXPECT_NEAR(BigUInt(417846678672384ull).to_double(), 417846678672384.0, 1.0);
}
