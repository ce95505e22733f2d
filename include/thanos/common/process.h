#pragma once
// Running other programs: the measurement worker, the runtime runners (Node.js, Python), the HAT
// converter, sentencepiece's tools. Always posix_spawn (fork+exec in one step), never a bare
// fork: Debian's libtorch uses GNU OpenMP, whose thread pool can hang a forked child.
#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "thanos/common/fd.h"

namespace thanos {

// What one of the child's standard descriptors (0, 1, 2) is.
struct ChildStream {
  enum class Kind {
    kInherit,   // ours
    kNull,      // /dev/null
    kFile,      // `path`: read as stdin; created or truncated as stdout/stderr
    kPipe,      // a pipe whose other end is ours (Child::in/out/err)
    kSocket,    // a Unix stream socket pair, the other end ours: send() with MSG_NOSIGNAL works on it
    kAsStdout,  // stderr only: wherever stdout goes
  };
  Kind kind = Kind::kInherit;
  std::string path;

  static ChildStream inherit() { return {}; }
  static ChildStream null() { return {Kind::kNull, ""}; }
  static ChildStream file(std::string path) { return {Kind::kFile, std::move(path)}; }
  static ChildStream pipe() { return {Kind::kPipe, ""}; }
  static ChildStream socket() { return {Kind::kSocket, ""}; }
  static ChildStream as_stdout() { return {Kind::kAsStdout, ""}; }
};

struct SpawnOptions {
  ChildStream in, out, err;
  // The child's working directory ("": ours). Stream paths are opened before the change, so
  // relative ones name files relative to our working directory.
  std::string cwd;
};

// The program could not be started; error() is the errno (ENOENT: not found on PATH).
class SpawnError : public std::runtime_error {
 public:
  SpawnError(const std::string& what, int error) : std::runtime_error(what), error_(error) {}
  int error() const { return error_; }

 private:
  int error_;
};

// A started child. The destructor kills (SIGKILL) and reaps one that has not been reaped, so a
// child never outlives an exception in its parent. Move-only.
class Child {
 public:
  Child() = default;
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // Our ends of the kPipe / kSocket streams (invalid for the other kinds). Close-on-exec, and
  // blocking; closing in() is the child's end of input.
  Fd& in() { return in_; }
  Fd& out() { return out_; }
  Fd& err() { return err_; }

  // Reaps the child if it has ended, without waiting. True once it is reaped. Throws
  // std::runtime_error when waitpid fails (not our child any more).
  bool try_reap();
  // Waits until it ends (EINTR restarts); returns the wait status.
  int wait();
  // SIGKILL and wait, unless it is reaped already.
  void kill_and_reap();
  bool reaped() const { return reaped_; }
  // The wait status (WIFEXITED, WEXITSTATUS, ...); meaningful once reaped().
  int status() const { return status_; }
  // A descriptor that becomes readable when the child ends (pidfd_open, Linux >= 5.3); invalid
  // where the kernel has none, so callers fall back to polling try_reap().
  Fd open_pidfd() const;

 private:
  friend Child spawn_child(const std::vector<std::string>& argv, const SpawnOptions& options);
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  Fd in_, out_, err_;
};

// Starts argv: argv[0] as find_executable() finds it, our environment, an empty signal mask and
// SIGPIPE at its default action whatever this process set (the agent ignores SIGPIPE; threads may
// block signals). Every descriptor of ours that is not one of its streams is close-on-exec.
// Throws SpawnError "cannot start <argv[0]>: <reason>".
Child spawn_child(const std::vector<std::string>& argv, const SpawnOptions& options = {});

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string stderr_text;
};

// Runs argv to its end with stdin from `stdin_path` and stdout to `stdout_path` (empty: /dev/null
// for both), its stderr collected. Throws std::runtime_error "cannot run <argv[0]>: <reason>".
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_path = "",
                          const std::string& stdout_path = "", const std::string& cwd = "");

// Where a program is, as a shell finds it: `name` itself when it contains a '/', else the first
// executable regular file <dir>/<name> for the directories of $PATH (an empty entry is ".";
// without PATH /usr/local/bin:/usr/bin:/bin). "" when there is none.
std::string find_executable(const std::string& name);

// The absolute path of the running executable (/proc/self/exe). Throws std::runtime_error.
std::string current_executable_path();
// Its directory, where installed helpers are looked for; "" when /proc/self/exe is unreadable.
std::string current_executable_dir();

}  // namespace thanos
