#pragma once
// A private scratch directory for one operation (a child's stderr, an intermediate file).
#include <string>

namespace thanos {

// A fresh empty directory $TMPDIR/thanos-<tag>-XXXXXX (/tmp without TMPDIR), removed with all it
// holds by the destructor. Throws std::runtime_error when it cannot be created.
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
