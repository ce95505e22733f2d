#pragma once
// Running another program. posix_spawn (fork+exec in one step), never a bare fork: Debian's
// libtorch uses GNU OpenMP, whose thread pool can hang a forked child.
#include <spawn.h>

#include <string>
#include <vector>

namespace thanos {

struct ProcessResult {
  int exit_code = -1;   // -1 when killed by a signal
  std::string stderr_text;
};

// Runs argv[0] (searched on PATH) with stdin from `stdin_path` and stdout to `stdout_path` (empty:
// /dev/null for both). Throws std::runtime_error when the program cannot be started, naming it.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_path = "",
                          const std::string& stdout_path = "");

// posix_spawn attributes for a long-lived child (a measurement worker, the ONNX Runtime runner):
// it starts with no blocked signals and SIGPIPE at its default action, whatever the parent (which
// may ignore SIGPIPE or block signals in its threads) has set. Destroyed with the object.
class ChildSpawnAttributes {
 public:
  ChildSpawnAttributes();
  ~ChildSpawnAttributes();
  ChildSpawnAttributes(const ChildSpawnAttributes&) = delete;
  ChildSpawnAttributes& operator=(const ChildSpawnAttributes&) = delete;
  const posix_spawnattr_t* get() const { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

// A fresh empty directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace thanos
