#include "thanos/hw/host_load.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "thanos/common/stats.h"
#include "thanos/common/text.h"

namespace thanos {
namespace {

// /proc/stat's "procs_running N" (runnable tasks, the reader included); negative when unreadable.
double procs_running() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "procs_running") {
      double n = -1;
      in >> n;
      return in ? n : -1;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return -1;
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

}  // namespace

std::string HostLoad::describe(int threads) const {
  if (!known) return "load unknown (no /proc/stat)";
  std::string text = format_fixed(runnable_others, 0) + " other runnable task" + (runnable_others == 1 ? "" : "s") + " + " +
                     std::to_string(threads) + " thread" + (threads == 1 ? "" : "s") + (oversubscribed(threads) ? " > " : " <= ") +
                     std::to_string(cores) + " core" + (cores == 1 ? "" : "s");
  if (std::isfinite(load1)) text += " (1-minute load " + format_fixed(load1, 2) + ")";
  return text;
}

HostLoad read_host_load(int samples, double interval_s) {
  HostLoad load;
  load.cores = usable_cores();
  load.load1 = std::numeric_limits<double>::quiet_NaN();
  {
    std::ifstream in("/proc/loadavg");
    double l = 0;
    if (in >> l) load.load1 = l;
  }
  std::vector<double> readings;
  for (int i = 0; i < std::max(1, samples); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::duration<double>(interval_s));
    const double n = procs_running();
    if (n >= 0) readings.push_back(std::max(0.0, n - 1));  // less the reader itself
  }
  if (readings.empty()) return load;
  load.known = true;
  load.runnable_others = median_of(readings);
  return load;
}

bool busy_allowed_by_environment() {
  const char* v = std::getenv("THANOS_ALLOW_BUSY");
  return v != nullptr && std::string(v) == "1";
}

std::string check_load_before_measuring(const std::string& what, int threads, bool allow_busy, const std::string& force_flag) {
  const HostLoad load = read_host_load();
  if (!load.oversubscribed(threads)) return "";
  const std::string state = "the machine is busy: " + load.describe(threads);
  if (allow_busy || busy_allowed_by_environment()) {
    return "warning: " + what + " on a busy machine (" + state +
           "): latencies read slow and noisy, by up to 100x with GNU OpenMP (docs/MEASUREMENT.md, \"Load\")";
  }
  throw BusyMachine(what + ": refused, " + state +
                    "; its measurements would read slow and noisy (by up to 100x with GNU OpenMP). Stop the other work, "
                    "measure with fewer threads, or pass " +
                    force_flag + " (or THANOS_ALLOW_BUSY=1) to measure anyway");
}

}  // namespace thanos
