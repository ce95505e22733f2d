// The load check before measuring (hw/host_load.h): a machine with more runnable tasks than cores
// is refused unless allowed, and the message says what runs and how to force it.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "busy_machine.h"
#include "thanos/hw/host_load.h"

namespace thanos {
namespace {

TEST(HostLoad, OversubscribedWhenOthersPlusThreadsExceedTheCores) {
  HostLoad l;
  l.known = true;
  l.cores = 2;
  l.runnable_others = 0;
  l.load1 = 1.9;  // the one-minute average of work that has stopped: not what is judged
  EXPECT_FALSE(l.oversubscribed(2));
  l.runnable_others = 1;
  EXPECT_FALSE(l.oversubscribed(1));
  EXPECT_TRUE(l.oversubscribed(2));
  EXPECT_EQ(l.describe(2), "1 other runnable task + 2 threads > 2 cores (1-minute load 1.90)");
  HostLoad unknown;  // no /proc: never refused
  unknown.runnable_others = 100;
  EXPECT_FALSE(unknown.oversubscribed(1));
}

TEST(HostLoad, ReadsThisMachine) {
  const HostLoad l = read_host_load(3, 0.01);
  ASSERT_TRUE(l.known);  // Linux
  EXPECT_GE(l.cores, 1);
  EXPECT_GE(l.runnable_others, 0);
  EXPECT_TRUE(std::isfinite(l.load1));
}

TEST(HostLoad, ABusyMachineIsRefusedUnlessAllowed) {
  const testing::MachineMadeBusy busy;
  try {
    check_load_before_measuring("thanos measure", 1, false, "--allow-busy");
    ADD_FAILURE() << "a busy machine was not refused";
  } catch (const BusyMachine& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("thanos measure: refused, the machine is busy"), std::string::npos) << m;
    EXPECT_NE(m.find("core"), std::string::npos) << m;
    EXPECT_NE(m.find("--allow-busy"), std::string::npos) << m;
  }
  // Allowed: measured anyway, with the warning to log.
  const std::string warning = check_load_before_measuring("thanos measure", 1, true, "--allow-busy");
  EXPECT_EQ(warning.rfind("warning: thanos measure on a busy machine", 0), 0u) << warning;
  setenv("THANOS_ALLOW_BUSY", "1", 1);
  EXPECT_FALSE(check_load_before_measuring("thanos measure", 1, false, "--allow-busy").empty());
  unsetenv("THANOS_ALLOW_BUSY");
}

}  // namespace
}  // namespace thanos
