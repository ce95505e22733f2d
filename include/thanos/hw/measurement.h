#pragma once
// What one measurement of one SubTransformer asks for and returns: plain value types shared by
// every backend (in-process, isolated worker, remote agent) and the dataset writer. Torch-free.
#include <cstdint>
#include <limits>
#include <string>

#include "thanos/hw/latency_protocol.h"
#include "thanos/space/search_space.h"
#include "thanos/space/sub_config.h"

namespace thanos {

// Where and how the measuring process runs.
struct RunSettings {
  std::string device = "cpu";  // cpu | cuda (a backend's local device)
  int threads = 1;             // intra-op threads (torch::set_num_threads)
  int interop_threads = 1;     // inter-op threads (torch::set_num_interop_threads)
  double memory_cap_mib = 0;   // kill the worker above this resident memory; 0 = no cap
  double timeout_s = 0;        // kill the worker after this wall time; 0 = none
};

struct MeasureRequest {
  SubConfig config;
  ModelHyperParams hyper;  // pre/post-norm and embedding sharing change the network measured
  LatencyProtocol protocol;
  RunSettings run;
};

// The project's single definition of memory (docs/MEASUREMENT.md) comes in three kinds; every
// measurement says which one it holds.
namespace memory_kind {
// Peak resident set of the worker minus its resident set after the runtime was initialised and
// before the model was built (Linux VmHWM, reset through /proc/self/clear_refs).
inline constexpr const char* kRssPeak = "rss-peak-minus-baseline";
// libtorch's CUDA caching allocator: peak bytes allocated during the run.
inline constexpr const char* kCudaAllocatorPeak = "cuda-allocator-peak";
// RKNN's total DMA allocation plus the host process's resident peak (the C API's
// RKNN_QUERY_MEM_SIZE; needs Rockchip's rknn_api.h: not built here).
inline constexpr const char* kRknnDmaPlusHost = "rknn-dma-plus-host";
// The RKNN Lite runner process's resident peak minus its baseline (export/rknn_backend.h): the Python
// runtime has no memory query.
inline constexpr const char* kRknnLiteRssPeak = "rknn-lite-rss-peak";
}  // namespace memory_kind

// How the worker's memory cap was enforced.
namespace cap_mechanism {
inline constexpr const char* kNone = "none";
inline constexpr const char* kCgroup = "cgroup-v2";        // memory.max of a child cgroup
inline constexpr const char* kRssWatchdog = "rss-watchdog";  // VmRSS polled, SIGKILL above the cap
}  // namespace cap_mechanism

struct Measurement {
  bool feasible = true;
  std::string infeasible_reason;  // e.g. "killed by the memory cap (2048 MiB, rss-watchdog)"

  double encoder_mean_ms = std::numeric_limits<double>::quiet_NaN();
  double encoder_std_ms = std::numeric_limits<double>::quiet_NaN();
  double decoder_mean_ms = std::numeric_limits<double>::quiet_NaN();
  double decoder_std_ms = std::numeric_limits<double>::quiet_NaN();
  double peak_memory_mib = std::numeric_limits<double>::quiet_NaN();
  std::string memory_kind;  // one of memory_kind::*
  double baseline_memory_mib = std::numeric_limits<double>::quiet_NaN();  // what was subtracted

  // What it ran on.
  std::string backend;  // cpu | cuda | remote://host:port/cpu ...
  std::string device_name;  // e.g. CPU model or GPU name
  int threads = 0;
  int interop_threads = 0;
  std::string dtype;
  std::string host;
  std::string library_versions;  // e.g. "libtorch 1.13.1; thanos 0.1.0"
  std::string cap_mechanism = cap_mechanism::kNone;
  double memory_cap_mib = 0;
  // Conditions, where the OS exposes them (NaN otherwise): at the end of the measurement.
  double cpu_freq_mhz = std::numeric_limits<double>::quiet_NaN();
  double temperature_c = std::numeric_limits<double>::quiet_NaN();
  double wall_s = 0;  // whole measurement including process start and model build

  double latency_ms() const { return encoder_mean_ms + decoder_mean_ms; }
};

}  // namespace thanos
