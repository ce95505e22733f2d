// The one rule that says whether a measured model fits its budgets (search/budget_claim.h), used
// by the search's verification, HAT's baseline and the report.
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

#include "thanos/search/budget_claim.h"

namespace thanos {
namespace {

TEST(BudgetClaim, SlowdownOnlyBeyondTheDriftTolerance) {
  EXPECT_DOUBLE_EQ(slowdown_for_drift(0.0), 1.0);
  EXPECT_DOUBLE_EQ(slowdown_for_drift(-0.2), 1.0);  // faster than during the dataset: nothing divided
  EXPECT_DOUBLE_EQ(slowdown_for_drift(0.10), 1.0);  // the tolerance itself is still noise
  EXPECT_DOUBLE_EQ(slowdown_for_drift(0.32), 1.32);
}

TEST(BudgetClaim, LatencyIsJudgedAtTheDatasetsSpeed) {
  // 28.6 ms measured while the reference read 32% slow: 21.67 ms at the dataset's speed.
  const BudgetClaim c = judge_claim(true, 28.6, 10.0, 1.32, 22.0, 12.6);
  EXPECT_NEAR(c.latency_ms_at_dataset_speed, 28.6 / 1.32, 1e-12);
  EXPECT_NEAR(c.latency_miss_ms, 28.6 / 1.32 - 22.0, 1e-12);
  EXPECT_NEAR(c.memory_miss_mib, 10.0 - 12.6, 1e-12);
  EXPECT_TRUE(c.fits());
  // The same measurement at the device's usual speed misses by 6.6 ms.
  const BudgetClaim raw = judge_claim(true, 28.6, 10.0, 1.0, 22.0, 12.6);
  EXPECT_FALSE(raw.fits());
  EXPECT_NEAR(raw.latency_miss_ms, 6.6, 1e-12);
}

TEST(BudgetClaim, EqualToTheBudgetFitsAndAnythingOverDoesNot) {
  EXPECT_TRUE(judge_claim(true, 20.0, 12.0, 1.0, 20.0, 12.0).fits());
  EXPECT_FALSE(judge_claim(true, 20.001, 12.0, 1.0, 20.0, 12.0).fits());
  const BudgetClaim memory_over = judge_claim(true, 10.0, 12.5, 1.0, 20.0, 12.0);
  EXPECT_FALSE(memory_over.fits());
  EXPECT_NEAR(memory_over.memory_miss_mib, 0.5, 1e-12);
  EXPECT_LT(memory_over.latency_miss_ms, 0);
}

TEST(BudgetClaim, AbsentBudgetsAreInfiniteAndAModelThatDidNotRunNeverFits) {
  EXPECT_TRUE(judge_claim(true, 1e6, 1e6, 1.0).fits());
  EXPECT_FALSE(judge_claim(false, 1.0, 1.0, 1.0, 20.0, 12.0).fits());
  EXPECT_FALSE(judge_claim(false, 0, 0, 1.0).fits());
}

TEST(BudgetClaim, RefusesASlowdownThatIsNotPositive) {
  EXPECT_THROW(judge_claim(true, 1.0, 1.0, 0.0, 2.0, 2.0), std::invalid_argument);
  EXPECT_THROW(judge_claim(true, 1.0, 1.0, std::numeric_limits<double>::quiet_NaN(), 2.0, 2.0), std::invalid_argument);
}

}  // namespace
}  // namespace thanos
