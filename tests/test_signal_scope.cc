// SIGINT/SIGTERM as a stop request (common/signal_scope.h): the innermost scope's flag is set,
// scopes nest, and the previous handlers come back.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>

#include "thanos/common/signal_scope.h"

namespace thanos {
namespace {

std::atomic<int> g_counted{0};
extern "C" void count_signal(int) { g_counted.fetch_add(1); }

TEST(StopSignalScope, TheInnermostScopeTakesTheSignalAndGivesItBack) {
  const auto before = std::signal(SIGINT, count_signal);
  std::signal(SIGTERM, count_signal);
  std::atomic<bool> outer{true}, inner{true};  // a scope clears its flag first
  {
    const StopSignalScope a(outer);
    EXPECT_FALSE(outer.load());
    {
      const StopSignalScope b(inner);
      EXPECT_FALSE(inner.load());
      std::raise(SIGTERM);
      EXPECT_TRUE(inner.load());
      EXPECT_FALSE(outer.load());
    }
    std::raise(SIGINT);
    EXPECT_TRUE(outer.load());
  }
  // The handlers from before the scopes are back: the signal reaches them, not the flags.
  outer = false;
  std::raise(SIGINT);
  std::raise(SIGTERM);
  EXPECT_EQ(g_counted.load(), 2);
  EXPECT_FALSE(outer.load());
  std::signal(SIGINT, before);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace
}  // namespace thanos
