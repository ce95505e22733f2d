#pragma once
// thanos measure: a latency/memory dataset of SubTransformers sampled from a space, measured on
// this machine (cpu, cuda) in isolated workers or on boards through their agents
// (remote://HOST:PORT, several for a pool); or one config's measurement (docs/MEASUREMENT.md).
#include <nlohmann/json.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "thanos/hw/dataset_builder.h"

namespace thanos {

struct MeasureOptions {
  std::string space_path;      // search space YAML
  std::string config_path;     // one SubConfig to measure instead of a dataset
  std::string reference_path;  // drift reference SubConfig (default: the space's smallest)
  std::string device = "cpu";  // cpu | cuda | ort-cpu | rknn | remote://HOST:PORT[,remote://HOST:PORT...]
  std::string token_file;      // the agents' shared token (remote devices)
  std::string remote_backend;  // remote devices: what the agent measures with (cpu | cuda | rknn); empty: cpu
  std::string out_path;        // dataset CSV (appended; re-runs resume)
  std::string thanos_binary;   // started as `thanos measure-worker` (empty: this executable)
  MeasureJob job;              // protocol, run settings, samples, seed, drift guard (space filled in)
  // Measure on a busy machine (other runnable tasks + threads > cores) instead of refusing
  // (hw/host_load.h); only local devices are checked: an agent's board is not this machine.
  bool allow_busy = false;
};

// Before measuring on `device`: refuses on a busy machine (BusyMachine) unless allow_busy, then
// returns the warning to log ("" when idle enough or the device is remote).
std::string check_measuring_load(const std::string& device, int threads, bool allow_busy, const std::string& what);

// The backends a --device string names: one isolated local backend for cpu/cuda, one
// RemoteBackend per agent address. Throws std::invalid_argument naming the bad part.
std::vector<std::unique_ptr<Backend>> make_backends(const std::string& device, const std::string& token_file,
                                                    const std::string& thanos_binary);
// The device measured on the backend's side: the local device, or the agents' cpu.
std::string local_device_of(const std::string& device);

MeasureSummary run_measure(MeasureOptions options, const std::function<void(const std::string&)>& log,
                           const std::atomic<bool>* stop);
Measurement run_measure_one(MeasureOptions options);

// One target's measurements of single SubConfigs, in memory: the backends are opened once (one
// agent connection per board for the whole run, not one per measurement) and each request is
// built from a SubConfig value rather than a file. `options` as for run_measure_one (device,
// token, agent backend, protocol, run settings; no paths); `space`: the models' search space.
class TargetMeasurer {
 public:
  TargetMeasurer(MeasureOptions options, const SearchSpace& space);
  // Throws std::invalid_argument when `config` is not a member of the space.
  Measurement measure(const SubConfig& config);
  Backend& backend() { return *backends_.front(); }

 private:
  MeasureOptions o_;
  std::vector<std::unique_ptr<Backend>> backends_;
};

nlohmann::ordered_json measure_summary_json(const MeasureSummary& s, const MeasureOptions& options);

}  // namespace thanos
