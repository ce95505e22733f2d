#include "thanos/common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"

extern char** environ;

namespace thanos {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// A descriptor numbered 3 or above, close-on-exec, so that the child's dup2 onto 0..2 always
// makes a fresh, inheritable descriptor (dup2 onto itself would keep close-on-exec).
int above_stdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int err = errno;
  ::close(fd);
  errno = err;
  return moved;
}

// {ours, the child's} ends of a pipe (the child reads when `child_reads`) or a socket pair.
void make_channel(ChildStream::Kind kind, bool child_reads, Fd* ours, Fd* theirs) {
  int fds[2];
  const bool socket = kind == ChildStream::Kind::kSocket;
  const int rc = socket ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) : ::pipe2(fds, O_CLOEXEC);
  if (rc != 0) {
    throw std::runtime_error(std::string("cannot create a ") + (socket ? "socket pair" : "pipe") + ": " +
                             errno_text(errno));
  }
  Fd a(above_stdio(fds[0])), b(above_stdio(fds[1]));
  if (!a.valid() || !b.valid()) {
    throw std::runtime_error(std::string("cannot create a ") + (socket ? "socket pair" : "pipe") + ": " +
                             errno_text(errno));
  }
  // A pipe's fds[0] is its read end; a socket pair's ends are alike.
  *ours = child_reads ? std::move(b) : std::move(a);
  *theirs = child_reads ? std::move(a) : std::move(b);
}

// posix_spawn attributes for a clean child: no blocked signals, SIGPIPE at its default action.
class SpawnAttributes {
 public:
  SpawnAttributes() {
    posix_spawnattr_init(&attr_);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr_, &none);
    posix_spawnattr_setsigdefault(&attr_, &defaults);
    posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attr_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  const posix_spawnattr_t* get() const { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

// ------------------------------------------------------------------------------------ Child

Child::~Child() { kill_and_reap(); }

Child::Child(Child&& other) noexcept
    : pid_(other.pid_), reaped_(other.reaped_), status_(other.status_), in_(std::move(other.in_)),
      out_(std::move(other.out_)), err_(std::move(other.err_)) {
  other.pid_ = -1;
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = other.pid_;
    reaped_ = other.reaped_;
    status_ = other.status_;
    in_ = std::move(other.in_);
    out_ = std::move(other.out_);
    err_ = std::move(other.err_);
    other.pid_ = -1;
  }
  return *this;
}

bool Child::try_reap() {
  if (pid_ <= 0 || reaped_) return true;
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid_, &status, WNOHANG);
  } while (w < 0 && errno == EINTR);
  if (w < 0) throw std::runtime_error("cannot wait for process " + std::to_string(pid_) + ": " + errno_text(errno));
  if (w == pid_) {
    reaped_ = true;
    status_ = status;
  }
  return reaped_;
}

int Child::wait() {
  if (pid_ <= 0 || reaped_) return status_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("cannot wait for process " + std::to_string(pid_) + ": " + errno_text(errno));
  }
  reaped_ = true;
  status_ = status;
  return status_;
}

void Child::kill_and_reap() {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = status;
}

Fd Child::open_pidfd() const {
#ifdef SYS_pidfd_open
  if (pid_ > 0 && !reaped_) return Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
#endif
  return Fd();
}

// ------------------------------------------------------------------------------------ spawning

Child spawn_child(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) throw std::invalid_argument("spawn_child: empty command");
  // A path is tried as given, so that posix_spawn names the real problem (EACCES, ENOEXEC).
  const std::string program = argv[0].find('/') != std::string::npos ? argv[0] : find_executable(argv[0]);
  if (program.empty()) throw SpawnError("cannot start " + argv[0] + ": " + errno_text(ENOENT), ENOENT);

  Child child;
  FileActions actions;
  Fd theirs[3];  // the child's ends, closed here once it has its copies
  const ChildStream* streams[3] = {&options.in, &options.out, &options.err};
  Fd* ours[3] = {&child.in_, &child.out_, &child.err_};
  for (int target = 0; target < 3; ++target) {
    const ChildStream& s = *streams[target];
    switch (s.kind) {
      case ChildStream::Kind::kInherit:
        break;
      case ChildStream::Kind::kNull:
        posix_spawn_file_actions_addopen(actions.get(), target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0);
        break;
      case ChildStream::Kind::kFile:
        if (target == 0) {
          posix_spawn_file_actions_addopen(actions.get(), 0, s.path.c_str(), O_RDONLY, 0);
        } else {
          posix_spawn_file_actions_addopen(actions.get(), target, s.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        }
        break;
      case ChildStream::Kind::kPipe:
      case ChildStream::Kind::kSocket:
        make_channel(s.kind, target == 0, ours[target], &theirs[target]);
        posix_spawn_file_actions_adddup2(actions.get(), theirs[target].get(), target);
        break;
      case ChildStream::Kind::kAsStdout:
        if (target != 2) throw std::invalid_argument("spawn_child: only stderr can go where stdout goes");
        posix_spawn_file_actions_adddup2(actions.get(), 1, 2);
        break;
    }
  }
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(actions.get(), options.cwd.c_str());
  const SpawnAttributes attr;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = ::posix_spawn(&child.pid_, program.c_str(), actions.get(), attr.get(), args.data(), environ);
  if (rc != 0) {
    child.pid_ = -1;
    throw SpawnError("cannot start " + argv[0] + ": " + errno_text(rc), rc);
  }
  return child;
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_path,
                          const std::string& stdout_path, const std::string& cwd) {
  if (argv.empty()) throw std::invalid_argument("run_process: empty command");
  TempDir tmp("proc");
  const std::string err_path = tmp.path() + "/stderr";
  SpawnOptions o;
  o.in = stdin_path.empty() ? ChildStream::null() : ChildStream::file(stdin_path);
  o.out = stdout_path.empty() ? ChildStream::null() : ChildStream::file(stdout_path);
  o.err = ChildStream::file(err_path);
  o.cwd = cwd;
  Child child;
  try {
    child = spawn_child(argv, o);
  } catch (const SpawnError& e) {
    throw std::runtime_error("cannot run " + argv[0] + ": " + errno_text(e.error()));
  }
  const int status = child.wait();
  ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  try {
    r.stderr_text = read_text_file(err_path);
  } catch (const std::exception&) {
  }
  return r;
}

// ------------------------------------------------------------------------------------ finding

std::string find_executable(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return is_executable_file(name) ? name : "";
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
  }
  return "";
}

std::string current_executable_path() {
  std::vector<char> buf(4096);
  for (;;) {
    const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size());
    if (n < 0) throw std::runtime_error("cannot read /proc/self/exe: " + errno_text(errno));
    if (static_cast<std::size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<std::size_t>(n));
    buf.resize(buf.size() * 2);
  }
}

std::string current_executable_dir() {
  try {
    const std::string exe = current_executable_path();
    const auto slash = exe.rfind('/');
    return slash == std::string::npos ? std::string() : exe.substr(0, slash == 0 ? 1 : slash);
  } catch (const std::runtime_error&) {
    return "";
  }
}

}  // namespace thanos
