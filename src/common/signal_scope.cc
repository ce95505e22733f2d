#include "thanos/common/signal_scope.h"

#include <csignal>

namespace thanos {
namespace {

// The innermost scope's flag. A lock-free atomic pointer and an atomic store: async-signal-safe.
std::atomic<std::atomic<bool>*> g_stop_flag{nullptr};
static_assert(std::atomic<std::atomic<bool>*>::is_always_lock_free, "the signal handler needs a lock-free pointer");

extern "C" void on_stop_signal(int) {
  if (std::atomic<bool>* flag = g_stop_flag.load()) flag->store(true);
}

}  // namespace

StopSignalScope::StopSignalScope(std::atomic<bool>& stop) {
  stop.store(false);
  previous_ = g_stop_flag.exchange(&stop);
  old_int_ = std::signal(SIGINT, on_stop_signal);
  old_term_ = std::signal(SIGTERM, on_stop_signal);
}

StopSignalScope::~StopSignalScope() {
  std::signal(SIGINT, old_int_);
  std::signal(SIGTERM, old_term_);
  g_stop_flag.store(previous_);
}

}  // namespace thanos
