#pragma once
// SIGINT and SIGTERM as a request to stop: while a StopSignalScope lives, either signal sets its
// flag (the caller finishes the step it is in, saves what it has and returns) instead of ending
// the process, and the previous handlers come back when it ends. Scopes nest: an inner one
// (training inside `thanos run`) takes the signals and gives them back.
#include <atomic>

namespace thanos {

class StopSignalScope {
 public:
  // Clears `stop` and points the signals at it; `stop` must outlive the scope.
  explicit StopSignalScope(std::atomic<bool>& stop);
  ~StopSignalScope();
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;

 private:
  std::atomic<bool>* previous_;
  void (*old_int_)(int);
  void (*old_term_)(int);
};

}  // namespace thanos
