#pragma once
// Running another program. posix_spawn (fork+exec in one step), never a bare fork: Debian's
// libtorch uses GNU OpenMP, whose thread pool can hang a forked child.
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
