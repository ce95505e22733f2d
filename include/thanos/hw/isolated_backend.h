#pragma once
// Measuring each SubTransformer in a fresh worker process (docs/MEASUREMENT_ISOLATION.md): the
// `thanos` binary started as `thanos measure-worker` (posix_spawn, never a bare fork), the
// request on its stdin, the Measurement JSON on its stdout. A fresh process per candidate makes
// the resident-memory peak its own, and a candidate that runs out of memory, crashes or hangs
// costs one worker, not the search: it comes back infeasible with the reason.
#include <memory>
#include <string>

#include "thanos/common/process.h"
#include "thanos/hw/backend.h"
#include "thanos/hw/worker_process.h"

namespace thanos {

struct IsolatedOptions {
  // How request.run.memory_cap_mib is enforced (kAuto: THANOS_MEMORY_CAP, else cgroup v2 where
  // delegated, else the resident-set watchdog). request.run.timeout_s bounds each worker.
  CapMode cap_mode = CapMode::kAuto;
};

class IsolatedBackend : public Backend {
 public:
  // `thanos_binary`: the thanos executable to start in worker mode (empty: $THANOS_WORKER_BINARY,
  // else this executable, which must then be thanos).
  // Throws std::runtime_error when it is not an executable file.
  explicit IsolatedBackend(std::string thanos_binary, IsolatedOptions options = {});

  // A feasible measurement is the worker's, with cap_mechanism, memory_cap_mib and wall_s (the
  // whole measurement, process start included) filled in here. A worker that exceeds the cap,
  // crashes, times out or fails (exit 2: bad request seen by the worker, 3: exception while
  // measuring) gives feasible = false and infeasible_reason (WorkerResult::failure_reason),
  // with backend, threads, dtype and host from the request. Throws std::invalid_argument for a
  // request that is invalid on its face (config, protocol, run settings; checked before any
  // worker starts), std::runtime_error when the worker cannot be started or breaks the
  // protocol (exits 0 without a Measurement JSON line on stdout).
  Measurement measure(const MeasureRequest& request) override;

  // "isolated": the backend runs request.run.device (cpu or cuda) in a worker; each
  // Measurement's `backend` field names that device, as the in-process backend's does.
  std::string name() const override { return "isolated"; }

  const std::string& binary() const { return binary_; }

 private:
  std::string binary_;
  IsolatedOptions options_;
};

// An IsolatedBackend with the default options (the agent command's entry point).
std::unique_ptr<Backend> make_isolated_backend(const std::string& thanos_binary);

// The running thanos executable, for callers inside it: current_executable_path() (/proc/self/exe).
inline std::string this_thanos_binary() { return current_executable_path(); }

}  // namespace thanos
