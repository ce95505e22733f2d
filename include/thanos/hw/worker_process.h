#pragma once
// Running one program as a supervised worker (docs/MEASUREMENT_ISOLATION.md): started with
// posix_spawn (fork+exec in one step, never a bare fork: Debian's libtorch uses GNU OpenMP,
// whose thread pool can hang a forked child), fed `stdin_text` through a pipe, its stdout and
// stderr collected, and stopped at a resident-memory cap or a wall-time limit. Torch-free: the
// isolated measurement backend uses it with `thanos measure-worker`, the tests with any program.
//
// The memory cap is enforced by one of two mechanisms (recorded in WorkerResult::cap_mechanism,
// named as cap_mechanism::* in thanos/hw/measurement.h):
//   - cgroup-v2: a child cgroup per worker with memory.max (and memory.swap.max = 0), when our
//     cgroup v2 subtree is delegated to us. The kernel OOM-kills the worker at the cap exactly.
//   - rss-watchdog: the supervisor polls the worker's resident set (/proc/PID/statm, the same
//     figure as VmRSS) every poll_interval_ms and SIGKILLs it at the cap. It can overshoot by
//     what the worker touches between two polls (a few MiB at 2 ms).
// setrlimit cannot do this job: RLIMIT_RSS is ignored by Linux, and RLIMIT_AS limits reserved
// address space, which libtorch, glibc's per-thread arenas and CUDA reserve far beyond what they
// ever touch, so it fails healthy workers and does not bound resident memory.
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace thanos {

enum class CapMode {
  kAuto,      // THANOS_MEMORY_CAP (auto | cgroup | watchdog) when set, else cgroup when usable, else watchdog
  kCgroup,    // cgroup v2 only; std::runtime_error when it is not usable here
  kWatchdog,  // the resident-set watchdog even where a cgroup would work
};
// "auto" | "cgroup" | "watchdog"; throws std::invalid_argument naming the choices.
CapMode cap_mode_from_string(const std::string& text);
std::string to_string(CapMode mode);

struct WorkerOptions {
  double memory_cap_mib = 0;  // resident memory of the worker, everything included; 0 = no cap
  double timeout_s = 0;       // wall time from the start; 0 = none
  CapMode cap_mode = CapMode::kAuto;
  int poll_interval_ms = 2;                  // the watchdog's period (reading /proc/PID/statm costs microseconds)
  std::size_t max_stdout_bytes = 16u << 20;  // more is dropped and flagged (stdout_truncated)
  std::size_t max_stderr_bytes = 64u << 10;  // the last ones are kept
};

struct WorkerResult {
  enum class Ending {
    kExited,     // exited by itself; exit_code says how
    kSignaled,   // killed by a signal we did not send (a crash, or someone else's kill)
    kMemoryCap,  // killed at the memory cap (the watchdog's SIGKILL or the cgroup's OOM kill)
    kTimedOut,   // killed by us at timeout_s
  };
  Ending ending = Ending::kExited;
  int exit_code = -1;  // kExited only
  int signal = 0;      // the signal that ended it (kSignaled; SIGKILL for kMemoryCap/kTimedOut)
  std::string stdout_text;
  bool stdout_truncated = false;
  std::string stderr_text;             // its last max_stderr_bytes
  std::string cap_mechanism = "none";  // cap_mechanism::kNone | kCgroup | kRssWatchdog
  double memory_cap_mib = 0;
  // Highest resident memory the supervisor saw: the watchdog's polls (VmRSS; at the kill for
  // kMemoryCap), or the cgroup's memory.peak (Linux >= 5.19). NaN when not observed.
  double peak_rss_mib = std::numeric_limits<double>::quiet_NaN();
  double timeout_s = 0;
  double wall_s = 0;  // from just before the spawn until the worker was reaped

  bool succeeded() const { return ending == Ending::kExited && exit_code == 0; }
  // Empty when succeeded(); else one line, e.g.
  //   "killed by the memory cap of 512 MiB (rss-watchdog; VmRSS reached 530 MiB)"
  //   "killed by the memory cap of 512 MiB (cgroup-v2 memory.max; OOM kill)"
  //   "crashed: signal 11 (Segmentation fault)"
  //   "timed out after 60 s"
  //   "failed (exit 3): <the end of its stderr>"
  std::string failure_reason() const;
};

// Runs argv (argv[0] an absolute path, or searched on PATH) with `stdin_text` on its stdin (then
// closed) and waits for it to end. A worker that crashes, exits non-zero, is killed at the cap or
// times out is a normal result. Throws std::runtime_error only when the program cannot be
// started, naming it; std::runtime_error also for CapMode::kCgroup where no cgroup is usable.
// The child starts with an empty signal mask and default SIGPIPE; it inherits the environment.
// With the cgroup, the worker is moved into its cgroup before the first byte of stdin is
// written, so a worker that reads its stdin before allocating is capped from its first
// allocation (memory charged earlier stays with our cgroup: the dynamic loader's, mostly).
// Thread-safe: concurrent calls supervise separate workers.
WorkerResult run_worker(const std::vector<std::string>& argv, const std::string& stdin_text,
                        const WorkerOptions& options = {});

// Whether the cgroup v2 memory cap is usable by this process (probed once, then cached). The
// probe finds the cgroup2 mount (/proc/self/mountinfo) and our cgroup (/proc/self/cgroup), checks
// that "memory" is in its cgroup.controllers, enables it in cgroup.subtree_control and creates a
// test child. cgroup v2 allows controllers only in cgroups without processes, so when our cgroup
// holds just this process, the probe first moves it into a leaf child "thanos-main" (as other
// cgroup-managing programs do); if other processes share the cgroup it moves back and gives up.
struct CgroupSupport {
  bool usable = false;
  std::string parent_dir;  // where per-worker cgroups are created
  std::string why_not;     // when !usable: the first check that failed, with the path
};
const CgroupSupport& cgroup_memory_support();

}  // namespace thanos
