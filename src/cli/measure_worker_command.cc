// `thanos measure-worker`: the isolated backend's worker (docs/MEASUREMENT_ISOLATION.md). Hidden
// from `thanos --help`. Protocol: one MeasureRequest JSON on stdin (request_to_json's form, read
// to end of file), one Measurement JSON line on stdout, exit 0. A bad request: a message on
// stderr, exit 2. An exception while measuring (out of memory included): exit 3.
#include <c10/util/Exception.h>

#include <iterator>
#include <new>
#include <nlohmann/json.hpp>

#include "command.h"
#include "thanos/hw/in_process_backend.h"
#include "thanos/hw/measurement_json.h"

namespace thanos::cli {
namespace {

constexpr int kBadRequest = 2;
constexpr int kMeasureFailed = 3;

int run_measure_worker() {
  // Read the whole request before anything heavy: the parent moves this process into its
  // memory cgroup first, then writes the request.
  const std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  MeasureRequest request;
  try {
    request = request_from_text(text, "stdin");
  } catch (const std::invalid_argument& e) {
    std::cerr << "thanos measure-worker: bad request: " << e.what() << "\n";
    return kBadRequest;
  }
  Measurement m;
  try {
    m = measure_in_process(request);
  } catch (const std::invalid_argument& e) {
    std::cerr << "thanos measure-worker: bad request: " << e.what() << "\n";
    return kBadRequest;
  } catch (const c10::Error& e) {
    std::cerr << "thanos measure-worker: failed: " << e.what_without_backtrace() << "\n";
    return kMeasureFailed;
  } catch (const std::bad_alloc&) {
    std::cerr << "thanos measure-worker: failed: out of memory (std::bad_alloc)\n";
    return kMeasureFailed;
  } catch (const std::exception& e) {
    std::cerr << "thanos measure-worker: failed: " << e.what() << "\n";
    return kMeasureFailed;
  }
  std::cout << measurement_to_json(m).dump() << "\n" << std::flush;
  return std::cout ? 0 : kMeasureFailed;
}

}  // namespace

Command add_measure_worker_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("measure-worker",
                                    "Internal: measure one SubTransformer for the isolated "
                                    "backend (MeasureRequest JSON on stdin, Measurement JSON on "
                                    "stdout)");
  app->group("");  // not listed by `thanos --help`
  return {app, [] { return run_measure_worker(); }};
}

}  // namespace thanos::cli
