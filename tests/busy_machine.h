#pragma once
// Makes this machine busy for the load check's tests (hw/host_load.h): spinning threads, always
// runnable, twice as many as cores plus two, whatever else runs beside the test; and
// THANOS_ALLOW_BUSY unset for the scope (ctest sets it for the parallel suites), restored after.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "thanos/hw/host_load.h"

namespace thanos::testing {

class MachineMadeBusy {
 public:
  MachineMadeBusy() {
    const char* before = std::getenv("THANOS_ALLOW_BUSY");
    had_ = before != nullptr;
    if (had_) saved_ = before;
    unsetenv("THANOS_ALLOW_BUSY");
    const int n = 2 * read_host_load(1, 0).cores + 2;
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        volatile unsigned long x = 0;
        while (!stop_.load(std::memory_order_relaxed)) x = x + 1;
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~MachineMadeBusy() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    if (had_) setenv("THANOS_ALLOW_BUSY", saved_.c_str(), 1);
  }
  MachineMadeBusy(const MachineMadeBusy&) = delete;
  MachineMadeBusy& operator=(const MachineMadeBusy&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  bool had_ = false;
  std::string saved_;
};

}  // namespace thanos::testing
