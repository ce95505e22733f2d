// Supervised workers: spawn_child (common/process.h) with three pipes, one poll loop that feeds
// stdin, collects stdout/stderr, watches the resident set (watchdog) and the deadline, and reaps
// the worker.
#include "thanos/hw/worker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "thanos/common/fd.h"
#include "thanos/common/poll_deadline.h"
#include "thanos/common/process.h"
#include "thanos/common/text.h"
#include "thanos/hw/measurement.h"

namespace thanos {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kMiB = 1048576.0;

std::string format_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

std::string errno_text(int err) { return std::strerror(err); }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool has_word(const std::string& list, const std::string& word) {
  std::istringstream in(list);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

bool read_small_file(const std::string& path, std::string* out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  out->clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<std::size_t>(n));
  }
}

// One write() call, as cgroup control files expect. Returns 0 or the errno.
int write_small_file(const std::string& path, const std::string& text) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno;
  const ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return errno;
  return n == static_cast<ssize_t>(text.size()) ? 0 : EIO;
}

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Blocks SIGPIPE in this thread while we write to a worker that may have died: the write then
// fails with EPIPE instead of killing us. A SIGPIPE raised meanwhile is consumed on exit.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false;
};

// ------------------------------------------------------------------------------------ cgroup v2

struct Cgroup2Mount {
  std::string root;   // the mount's root inside the hierarchy (4th mountinfo field)
  std::string point;  // where it is mounted
};

// The cgroup2 mount, preferring /sys/fs/cgroup (pure v2 systems) over /sys/fs/cgroup/unified
// (hybrid systemd layouts, whose memory controller usually sits in a v1 hierarchy).
bool find_cgroup2_mount(Cgroup2Mount* found) {
  std::string text;
  if (!read_small_file("/proc/self/mountinfo", &text)) return false;
  std::istringstream lines(text);
  std::string line;
  bool any = false;
  while (std::getline(lines, line)) {
    const auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream tail(line.substr(sep + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, sep));
    std::string id, parent, devno, root, point;
    head >> id >> parent >> devno >> root >> point;
    if (!any || point == "/sys/fs/cgroup") *found = {root, point};
    any = true;
  }
  return any;
}

// Our cgroup v2 path ("0::/path" in /proc/self/cgroup), relative to our cgroup namespace.
std::string own_cgroup_path() {
  std::string text;
  if (!read_small_file("/proc/self/cgroup", &text)) return "";
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("0::", 0) == 0) return trim(line.substr(3));
  }
  return "";
}

CgroupSupport probe_cgroup_memory() {
  CgroupSupport s;
  Cgroup2Mount mount;
  if (!find_cgroup2_mount(&mount)) {
    s.why_not = "no cgroup v2 filesystem is mounted (/proc/self/mountinfo lists no cgroup2)";
    return s;
  }
  std::string rel = own_cgroup_path();
  if (rel.empty()) {
    s.why_not = "this process is in no cgroup v2 (/proc/self/cgroup has no \"0::\" line)";
    return s;
  }
  if (mount.root != "/") {
    if (rel.rfind(mount.root, 0) != 0) {
      s.why_not =
          "our cgroup " + rel + " lies outside the cgroup2 mount at " + mount.point + " (root " + mount.root + ")";
      return s;
    }
    rel = rel.substr(mount.root.size());
  }
  const std::string own = mount.point + (rel == "/" ? "" : rel);
  std::string controllers;
  if (!read_small_file(own + "/cgroup.controllers", &controllers)) {
    s.why_not = "cannot read " + own + "/cgroup.controllers: " + errno_text(errno);
    return s;
  }
  if (!has_word(controllers, "memory")) {
    s.why_not = "the memory controller is not available in our cgroup " + own + " (cgroup.controllers: \"" +
                trim(controllers) + "\"): not delegated to us, or bound to a cgroup v1 hierarchy";
    return s;
  }
  if (::access(own.c_str(), W_OK) != 0 || ::access((own + "/cgroup.subtree_control").c_str(), W_OK) != 0) {
    s.why_not = "our cgroup " + own + " is not writable by this user (not delegated)";
    return s;
  }
  std::string subtree;
  read_small_file(own + "/cgroup.subtree_control", &subtree);
  if (!has_word(subtree, "memory")) {
    int err = write_small_file(own + "/cgroup.subtree_control", "+memory");
    if (err == EBUSY) {
      // cgroup v2's no-internal-processes rule: a cgroup that distributes a controller to
      // children holds no processes itself. Move this process into a leaf and try again.
      const std::string leaf = own + "/thanos-main";
      const std::string pid = std::to_string(::getpid());
      if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
        s.why_not = "cannot create " + leaf + ": " + errno_text(errno);
        return s;
      }
      if (int e = write_small_file(leaf + "/cgroup.procs", pid); e != 0) {
        ::rmdir(leaf.c_str());
        s.why_not = "cannot move this process into " + leaf + ": " + errno_text(e);
        return s;
      }
      err = write_small_file(own + "/cgroup.subtree_control", "+memory");
      if (err != 0) {
        write_small_file(own + "/cgroup.procs", pid);
        ::rmdir(leaf.c_str());
        s.why_not = "cannot enable the memory controller in " + own + "/cgroup.subtree_control (" + errno_text(err) +
                    "): other processes share our cgroup, and cgroup v2 allows controllers only in cgroups "
                    "without processes; run thanos in a cgroup of its own, e.g. systemd-run --user --scope -p "
                    "Delegate=yes thanos ...";
        return s;
      }
    } else if (err != 0) {
      s.why_not = "cannot enable the memory controller in " + own + "/cgroup.subtree_control: " + errno_text(err);
      return s;
    }
  }
  const std::string probe = own + "/thanos-probe-" + std::to_string(::getpid());
  if (::mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) {
    s.why_not = "cannot create a cgroup in " + own + ": " + errno_text(errno);
    return s;
  }
  const bool has_max = ::access((probe + "/memory.max").c_str(), W_OK) == 0;
  ::rmdir(probe.c_str());
  if (!has_max) {
    s.why_not = "a child cgroup of " + own + " has no writable memory.max";
    return s;
  }
  s.usable = true;
  s.parent_dir = own;
  return s;
}

// One worker's cgroup: <parent>/thanos-worker-<our pid>-<n>, removed by the destructor.
class WorkerCgroup {
 public:
  WorkerCgroup() = default;
  ~WorkerCgroup() { remove(); }
  WorkerCgroup(const WorkerCgroup&) = delete;
  WorkerCgroup& operator=(const WorkerCgroup&) = delete;

  bool create(const std::string& parent, double cap_mib, std::string* why) {
    static std::atomic<unsigned long> counter{0};
    dir_ = parent + "/thanos-worker-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    if (::mkdir(dir_.c_str(), 0755) != 0) {
      *why = "cannot create " + dir_ + ": " + errno_text(errno);
      dir_.clear();
      return false;
    }
    const auto bytes = static_cast<unsigned long long>(std::floor(cap_mib * kMiB));
    if (int e = write_small_file(dir_ + "/memory.max", std::to_string(bytes)); e != 0) {
      *why = "cannot write " + dir_ + "/memory.max: " + errno_text(e);
      remove();
      return false;
    }
    // No swapping past the cap (a swapping worker is slow, not capped); one kill takes all.
    if (file_exists(dir_ + "/memory.swap.max")) write_small_file(dir_ + "/memory.swap.max", "0");
    if (file_exists(dir_ + "/memory.oom.group")) write_small_file(dir_ + "/memory.oom.group", "1");
    return true;
  }

  bool add(pid_t pid, std::string* why) {
    if (int e = write_small_file(dir_ + "/cgroup.procs", std::to_string(pid)); e != 0) {
      *why = "cannot move the worker into " + dir_ + ": " + errno_text(e);
      return false;
    }
    return true;
  }

  // OOM kills inside the cgroup (memory.events: oom_kill, and oom_group_kill where present).
  long oom_kills() const {
    std::string text;
    if (dir_.empty() || !read_small_file(dir_ + "/memory.events", &text)) return 0;
    std::istringstream in(text);
    std::string key;
    long value = 0, total = 0;
    while (in >> key >> value) {
      if (key == "oom_kill" || key == "oom_group_kill") total += value;
    }
    return total;
  }

  // memory.peak (Linux >= 5.19) in MiB; NaN when absent.
  double peak_mib() const {
    std::string text;
    if (dir_.empty() || !read_small_file(dir_ + "/memory.peak", &text)) return std::nan("");
    try {
      return std::stod(text) / kMiB;
    } catch (const std::exception&) {
      return std::nan("");
    }
  }

  void remove() {
    if (dir_.empty()) return;
    // The reaped worker may take a moment to leave; an empty cgroup left behind is harmless.
    for (int i = 0; i < 200 && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    dir_.clear();
  }

 private:
  std::string dir_;
};

// --------------------------------------------------------------------------------- supervision

// The worker's resident set in bytes from /proc/PID/statm (its 2nd field, in pages: the figure
// /proc/PID/status shows as VmRSS, cheaper to read). NaN when unreadable.
double resident_bytes(const Fd& statm, long page_size) {
  char buf[256];
  const ssize_t n = ::pread(statm.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nan("");
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return std::nan("");
  return static_cast<double>(resident) * static_cast<double>(page_size);
}

// Reads what is available; returns false at end of file or on an error.
bool read_some(const Fd& fd, std::string* into, std::size_t max_bytes, bool keep_tail, bool* truncated) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0) return false;
    if (keep_tail) {
      into->append(buf, static_cast<std::size_t>(n));
      if (into->size() > 2 * max_bytes) into->erase(0, into->size() - max_bytes);
    } else {
      const std::size_t room = max_bytes > into->size() ? max_bytes - into->size() : 0;
      into->append(buf, std::min(room, static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) > room && truncated) *truncated = true;
    }
    if (static_cast<std::size_t>(n) < sizeof buf) return true;
  }
}


CapMode cap_mode_from_env() {
  const char* v = std::getenv("THANOS_MEMORY_CAP");
  if (!v || !*v) return CapMode::kAuto;
  try {
    return cap_mode_from_string(v);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("THANOS_MEMORY_CAP: ") + e.what());
  }
}

}  // namespace

CapMode cap_mode_from_string(const std::string& text) {
  if (text == "auto") return CapMode::kAuto;
  if (text == "cgroup") return CapMode::kCgroup;
  if (text == "watchdog") return CapMode::kWatchdog;
  throw std::invalid_argument("memory cap mechanism: expected auto, cgroup or watchdog, got \"" + text + "\"");
}

std::string to_string(CapMode mode) {
  switch (mode) {
    case CapMode::kCgroup:
      return "cgroup";
    case CapMode::kWatchdog:
      return "watchdog";
    case CapMode::kAuto:
      break;
  }
  return "auto";
}

const CgroupSupport& cgroup_memory_support() {
  static std::once_flag once;
  static CgroupSupport support;
  std::call_once(once, [] {
    try {
      support = probe_cgroup_memory();
    } catch (const std::exception& e) {
      support = CgroupSupport{};
      support.why_not = std::string("cgroup probe failed: ") + e.what();
    }
  });
  return support;
}

std::string WorkerResult::failure_reason() const {
  const std::string tail = last_lines_joined(stderr_text, 400);
  switch (ending) {
    case Ending::kExited:
      if (exit_code == 0) return "";
      return "failed (exit " + std::to_string(exit_code) + ")" + (tail.empty() ? "" : ": " + tail);
    case Ending::kSignaled: {
      const char* name = ::strsignal(signal);
      return "crashed: signal " + std::to_string(signal) + " (" + (name ? name : "unknown") + ")" +
             (tail.empty() ? "" : ": " + tail);
    }
    case Ending::kMemoryCap: {
      std::string how = cap_mechanism;
      if (cap_mechanism == cap_mechanism::kRssWatchdog) {
        if (std::isfinite(peak_rss_mib)) how += "; VmRSS reached " + format_number(std::round(peak_rss_mib)) + " MiB";
      } else {
        how += " memory.max; OOM kill";
        if (std::isfinite(peak_rss_mib)) how += ", peak " + format_number(std::round(peak_rss_mib)) + " MiB";
      }
      return "killed by the memory cap of " + format_number(memory_cap_mib) + " MiB (" + how + ")";
    }
    case Ending::kTimedOut:
      return "timed out after " + format_number(timeout_s) + " s";
  }
  return "failed";
}

WorkerResult run_worker(const std::vector<std::string>& argv, const std::string& stdin_text,
                        const WorkerOptions& options) {
  if (argv.empty()) throw std::invalid_argument("run_worker: empty command");
  if (!(options.memory_cap_mib >= 0) || !(options.timeout_s >= 0)) {
    throw std::invalid_argument("run_worker: memory_cap_mib and timeout_s must be >= 0 (0 = none)");
  }
  WorkerResult r;
  r.memory_cap_mib = options.memory_cap_mib;
  r.timeout_s = options.timeout_s;

  // Choose how the cap is enforced.
  const bool capped = options.memory_cap_mib > 0;
  std::unique_ptr<WorkerCgroup> cgroup;
  CapMode mode = options.cap_mode == CapMode::kAuto ? cap_mode_from_env() : options.cap_mode;
  if (capped && mode != CapMode::kWatchdog) {
    const CgroupSupport& support = cgroup_memory_support();
    std::string why = support.why_not;
    if (support.usable) {
      cgroup = std::make_unique<WorkerCgroup>();
      if (!cgroup->create(support.parent_dir, options.memory_cap_mib, &why)) cgroup.reset();
    }
    if (!cgroup && mode == CapMode::kCgroup)
      throw std::runtime_error("memory cap: the cgroup v2 cap is not usable: " + why);
  }
  bool watchdog = capped && !cgroup;
  r.cap_mechanism = !capped ? cap_mechanism::kNone : cgroup ? cap_mechanism::kCgroup : cap_mechanism::kRssWatchdog;

  SigpipeBlock sigpipe_block;
  SpawnOptions streams;
  streams.in = streams.out = streams.err = ChildStream::pipe();
  const auto start = Clock::now();
  Child child = spawn_child(argv, streams);
  const pid_t pid = child.pid();

  // Into its cgroup before it sees its request.
  if (cgroup) {
    std::string why;
    if (!cgroup->add(pid, &why)) {
      if (mode == CapMode::kCgroup) throw std::runtime_error("memory cap: " + why);
      cgroup.reset();
      watchdog = true;
      r.cap_mechanism = cap_mechanism::kRssWatchdog;
    }
  }

  Fd pidfd = child.open_pidfd();
  Fd statm;
  if (watchdog) statm = Fd(::open(("/proc/" + std::to_string(pid) + "/statm").c_str(), O_RDONLY | O_CLOEXEC));
  Fd& in = child.in();
  Fd& out = child.out();
  Fd& err = child.err();
  set_nonblocking(in.get());
  set_nonblocking(out.get());
  set_nonblocking(err.get());
  if (stdin_text.empty()) in.reset();

  const long page_size = ::sysconf(_SC_PAGESIZE);
  const double cap_bytes = options.memory_cap_mib * kMiB;
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.timeout_s));
  enum class Kill { kNone, kCap, kTimeout } killed = Kill::kNone;
  double seen_peak = std::nan("");
  std::size_t written = 0;

  while (!child.try_reap()) {
    if (killed == Kill::kNone && watchdog && statm.valid()) {
      const double rss = resident_bytes(statm, page_size);
      if (std::isfinite(rss)) {
        seen_peak = std::isfinite(seen_peak) ? std::max(seen_peak, rss) : rss;
        if (rss >= cap_bytes) {
          ::kill(pid, SIGKILL);
          killed = Kill::kCap;
          seen_peak = rss;
        }
      }
    }
    if (killed == Kill::kNone && options.timeout_s > 0 && Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      killed = Kill::kTimeout;
    }

    // Wait for I/O, the worker's exit, the watchdog's next poll or the deadline.
    pollfd fds[4];
    nfds_t n = 0;
    int in_i = -1, out_i = -1, err_i = -1;
    if (in.valid()) {
      in_i = static_cast<int>(n);
      fds[n++] = {in.get(), POLLOUT, 0};
    }
    if (out.valid()) {
      out_i = static_cast<int>(n);
      fds[n++] = {out.get(), POLLIN, 0};
    }
    if (err.valid()) {
      err_i = static_cast<int>(n);
      fds[n++] = {err.get(), POLLIN, 0};
    }
    if (pidfd.valid()) fds[n++] = {pidfd.get(), POLLIN, 0};
    int wait_ms = -1;
    if (killed == Kill::kNone) {
      if (watchdog) wait_ms = std::max(1, options.poll_interval_ms);
      if (options.timeout_s > 0) {
        const int left_ms = poll_timeout_ms(deadline, 1000000);
        wait_ms = wait_ms < 0 ? left_ms : std::min(wait_ms, left_ms);
      }
    }
    if (!pidfd.valid()) wait_ms = wait_ms < 0 ? 5 : std::min(wait_ms, 5);  // no pidfd: poll for the exit
    const int pr = ::poll(fds, n, wait_ms);
    if (pr < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("poll failed while supervising " + argv[0] + ": " + errno_text(errno));
    }
    if (in_i >= 0 && fds[in_i].revents != 0) {
      const std::size_t chunk = std::min<std::size_t>(stdin_text.size() - written, 65536);
      const ssize_t k = ::write(in.get(), stdin_text.data() + written, chunk);
      if (k > 0) written += static_cast<std::size_t>(k);
      if (written == stdin_text.size() || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        in.reset();  // all sent, or the worker stopped reading (EPIPE)
      }
    }
    if (out_i >= 0 && fds[out_i].revents != 0 &&
        !read_some(out, &r.stdout_text, options.max_stdout_bytes, false, &r.stdout_truncated)) {
      out.reset();
    }
    if (err_i >= 0 && fds[err_i].revents != 0 &&
        !read_some(err, &r.stderr_text, options.max_stderr_bytes, true, nullptr)) {
      err.reset();
    }
  }
  const int status = child.status();
  r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  // What it wrote last is still in the pipes (unless a process it started holds them open).
  if (out.valid()) read_some(out, &r.stdout_text, options.max_stdout_bytes, false, &r.stdout_truncated);
  if (err.valid()) read_some(err, &r.stderr_text, options.max_stderr_bytes, true, nullptr);
  if (r.stderr_text.size() > options.max_stderr_bytes) {
    r.stderr_text.erase(0, r.stderr_text.size() - options.max_stderr_bytes);
  }

  long oom_kills = 0;
  if (cgroup) {
    oom_kills = cgroup->oom_kills();
    r.peak_rss_mib = cgroup->peak_mib();
    cgroup->remove();
  } else if (std::isfinite(seen_peak)) {
    r.peak_rss_mib = seen_peak / kMiB;
  }
  if (WIFEXITED(status)) {
    r.ending = WorkerResult::Ending::kExited;
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
    if (killed == Kill::kCap || oom_kills > 0) {
      r.ending = WorkerResult::Ending::kMemoryCap;
    } else if (killed == Kill::kTimeout) {
      r.ending = WorkerResult::Ending::kTimedOut;
    } else {
      r.ending = WorkerResult::Ending::kSignaled;
    }
  }
  return r;
}

}  // namespace thanos
