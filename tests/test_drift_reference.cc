// The drift reference before claims: slowness is waited out, never divided away.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <vector>

#include "thanos/hw/drift_reference.h"

namespace thanos {
namespace {

// settle_reference: slowness beyond the tolerance is waited out, up to the cap; a faster reading
// is accepted at once.
struct ScriptedReference {
  std::vector<double> readings;
  std::size_t calls = 0;
  std::vector<double> slept;
  double read() { return readings.at(std::min(calls++, readings.size() - 1)); }
};

ReferenceCheck settle(ScriptedReference& r, int max_cooldowns) {
  return settle_reference([&] { return r.read(); }, 10.0, 0.10, 30, max_cooldowns, [&](double s) { r.slept.push_back(s); }, nullptr);
}

TEST(SettleReference, SlownessIsWaitedOutUntilTheReferenceIsBack) {
  ScriptedReference r{{14.5, 12.0, 10.5}};
  const ReferenceCheck c = settle(r, 3);
  EXPECT_EQ(c.cooldowns, 2);
  EXPECT_EQ(r.slept, (std::vector<double>{30, 30}));
  EXPECT_DOUBLE_EQ(c.reference_ms, 10.5);
  EXPECT_NEAR(c.drift, 0.05, 1e-12);
}

TEST(SettleReference, FasterOrWithinToleranceIsAcceptedAtOnceAndTheCapHolds) {
  ScriptedReference fast{{7.0}};
  EXPECT_EQ(settle(fast, 3).cooldowns, 0);
  EXPECT_TRUE(fast.slept.empty());
  EXPECT_NEAR(settle(fast, 3).drift, -0.3, 1e-12);
  ScriptedReference within{{10.9}};
  EXPECT_EQ(settle(within, 3).cooldowns, 0);
  ScriptedReference slow{{15.0, 14.0, 13.0}};  // recovering, but not within the cap
  const ReferenceCheck c = settle(slow, 2);
  EXPECT_EQ(c.cooldowns, 2);
  EXPECT_EQ(slow.calls, 3u);  // the first reading and one after each cool-down
  EXPECT_NEAR(c.drift, 0.3, 1e-12);
  ScriptedReference none{{15.0}};
  EXPECT_EQ(settle(none, 0).cooldowns, 0);  // the cap spent: measured as it is, the drift reported
  EXPECT_THROW(settle_reference([] { return 1.0; }, 0.0, 0.1, 30, 1, [](double) {}, nullptr), std::invalid_argument);
}

// A cool-down that left the reading where it was (within 5%) ends the waiting: a lasting slowdown
// (the demo's VM read 13.81, 13.80, 13.96 ms through three cool-downs); one that moved it goes on.
TEST(SettleReference, ACooldownThatChangedNothingEndsTheWaiting) {
  ScriptedReference lasting{{13.81, 13.80, 13.96, 10.0}};
  const ReferenceCheck c = settle(lasting, 3);
  EXPECT_EQ(c.cooldowns, 1);
  EXPECT_EQ(lasting.calls, 2u);
  EXPECT_DOUBLE_EQ(c.reference_ms, 13.80);
  EXPECT_NEAR(c.drift, 0.38, 1e-12);
  EXPECT_TRUE(cooldown_changed_nothing(13.81, 13.80));
  EXPECT_TRUE(cooldown_changed_nothing(10.0, 10.5));   // 5%: still
  EXPECT_FALSE(cooldown_changed_nothing(10.0, 10.6));  // 6%: moved (either way)
  EXPECT_FALSE(cooldown_changed_nothing(10.0, 9.4));
  EXPECT_FALSE(cooldown_changed_nothing(0.0, 0.0));
}

}  // namespace
}  // namespace thanos
