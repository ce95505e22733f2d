#pragma once
// How busy this machine is right now, read before measuring (and training): a busy machine ruins
// measurements silently. Beside two spinning processes on 2 cores a 2-thread measurement read a
// model 21x slower than idle, GNU OpenMP's threads spinning for cores that other processes held
// (bench/README.md, Table 13; docs/MEASUREMENT.md, "Load").
//
// The load is the number of runnable tasks other than the reader (Linux /proc/stat
// `procs_running`, sampled a few times and the median taken), not /proc/loadavg: the one-minute
// average lags, still counting the pipeline's own training for a while after it stopped, which
// would refuse the measurements that follow it. The 1-minute average is reported beside it. Torch-free.
#include <stdexcept>
#include <string>

namespace thanos {

struct HostLoad {
  double runnable_others = 0;  // runnable tasks besides the reader (median of the samples)
  double load1 = 0;            // /proc/loadavg's 1-minute average (NaN when unreadable)
  int cores = 1;               // CPUs this process may run on (sched_getaffinity)
  bool known = false;          // /proc/stat was readable

  // Whether `threads` more busy threads would share cores with the tasks already running.
  bool oversubscribed(int threads) const { return known && runnable_others + threads > cores; }
  // "2 other runnable tasks + 2 threads > 2 cores (1-minute load 3.4)"
  std::string describe(int threads) const;
};

// Samples /proc/stat `samples` times, `interval_s` apart (the median counts). Never throws: where
// /proc is missing (not Linux), known = false and nothing is ever oversubscribed.
HostLoad read_host_load(int samples = 5, double interval_s = 0.05);

// THANOS_ALLOW_BUSY=1 in the environment: measure on a busy machine without --allow-busy (test
// suites that run in parallel, scripted runs that accept the noise).
bool busy_allowed_by_environment();

// Measuring refused on a busy machine; the message says what is running and how to force it.
struct BusyMachine : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Before measurements that are recorded (a dataset, a budget claim): reads the load and, when
// `threads` would oversubscribe the cores, throws BusyMachine naming `what`, the load and the
// flag `force_flag` — unless `allow_busy` (or the environment allows it), when it returns the
// warning to log instead. Returns "" on an idle enough machine.
std::string check_load_before_measuring(const std::string& what, int threads, bool allow_busy, const std::string& force_flag);

}  // namespace thanos
