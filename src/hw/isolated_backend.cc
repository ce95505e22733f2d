// The isolated backend: one `thanos measure-worker` process per measurement.
#include "thanos/hw/isolated_backend.h"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "thanos/common/json_input.h"
#include "thanos/hw/host_info.h"
#include "thanos/hw/measurement_json.h"

namespace thanos {
namespace {

// What can be checked without the worker: a request that fails here is the caller's mistake,
// so it throws (as measure_in_process does) instead of costing a process.
void check_request(const MeasureRequest& request) {
  request.config.check_consistent();
  request.protocol.validate();
  const RunSettings& run = request.run;
  if (run.device != "cpu" && run.device != "cuda") {
    throw std::invalid_argument("run.device: unknown device \"" + run.device + "\"; expected cpu or cuda");
  }
  if (run.threads < 1 || run.interop_threads < 1) {
    throw std::invalid_argument("run.threads and run.interop_threads must be >= 1");
  }
  if (!(run.memory_cap_mib >= 0) || !(run.timeout_s >= 0)) {
    throw std::invalid_argument("run.memory_cap_mib and run.timeout_s must be >= 0 (0 = none)");
  }
}

// The Measurement JSON is the last non-empty line of the worker's stdout.
std::string last_line(const std::string& text) {
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  const std::size_t newline = text.rfind('\n', end);
  const std::size_t begin = newline == std::string::npos ? 0 : newline + 1;
  return text.substr(begin, end + 1 - begin);
}

// A program other than thanos that embeds the library (a test binary, a user's tool) has no
// `measure-worker` mode: it names the thanos binary in THANOS_WORKER_BINARY.
std::string default_worker_binary() {
  const char* env = std::getenv("THANOS_WORKER_BINARY");
  return env && *env ? std::string(env) : current_executable_path();
}

}  // namespace

IsolatedBackend::IsolatedBackend(std::string thanos_binary, IsolatedOptions options)
    : binary_(thanos_binary.empty() ? default_worker_binary() : std::move(thanos_binary)), options_(options) {
  if (::access(binary_.c_str(), X_OK) != 0) {
    throw std::runtime_error("isolated backend: " + binary_ + " is not an executable file (the thanos binary)");
  }
}

Measurement IsolatedBackend::measure(const MeasureRequest& request) {
  check_request(request);
  WorkerOptions wo;
  wo.memory_cap_mib = request.run.memory_cap_mib;
  wo.timeout_s = request.run.timeout_s;
  wo.cap_mode = options_.cap_mode;
  const std::string source = binary_ + " measure-worker";
  const WorkerResult r = run_worker({binary_, "measure-worker"}, request_to_json(request).dump() + "\n", wo);

  Measurement m;
  if (r.succeeded()) {
    if (r.stdout_truncated) {
      throw std::runtime_error("isolated backend: protocol violation: " + source + " wrote more than " +
                               std::to_string(wo.max_stdout_bytes) + " bytes on stdout");
    }
    const std::string line = last_line(r.stdout_text);
    try {
      m = measurement_from_json(parse_json_input(line, "stdout"), source);
    } catch (const std::exception& e) {
      throw std::runtime_error("isolated backend: protocol violation: " + source +
                               " exited 0 without a Measurement JSON line on stdout (" + e.what() + "); it wrote: \"" +
                               line.substr(0, 200) + "\"");
    }
  } else {
    m.feasible = false;
    m.infeasible_reason = r.failure_reason();
    m.backend = request.run.device;
    m.threads = request.run.threads;
    m.interop_threads = request.run.interop_threads;
    m.dtype = request.protocol.dtype;
    m.host = host_name();
  }
  m.cap_mechanism = r.cap_mechanism;
  m.memory_cap_mib = request.run.memory_cap_mib;
  m.wall_s = r.wall_s;
  return m;
}

std::unique_ptr<Backend> make_isolated_backend(const std::string& thanos_binary) {
  return std::make_unique<IsolatedBackend>(thanos_binary);
}

}  // namespace thanos
