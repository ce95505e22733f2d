#include "thanos/commands/measure.h"

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "thanos/hw/agent.h"
#include "thanos/hw/host_load.h"
#include "thanos/hw/isolated_backend.h"
#include "thanos/hw/target_device.h"
#ifdef THANOS_WITH_ONNX  // set by the folder's CMakeLists.txt when Debian's libonnx-dev was found
#include "thanos/export/ort_backend.h"
#include "thanos/export/rknn_backend.h"
#endif
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

namespace thanos {
namespace {

// --device parsed, its errors naming the flag.
TargetDevice parse_device_flag(const std::string& device) {
  try {
    return TargetDevice::parse(device);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--device: ") + e.what());
  }
}

// The run's device (what the backend measures with) and the protocol's check.
void complete_device(MeasureOptions& o) {
  const TargetDevice target = parse_device_flag(o.device);
  o.job.run.device = target.local_device();
  if (!o.remote_backend.empty()) {
    if (!target.is_remote()) throw std::invalid_argument("--backend " + o.remote_backend + ": only with --device remote://HOST:PORT");
    if (o.remote_backend != "cpu" && o.remote_backend != "cuda" && o.remote_backend != "rknn") {
      throw std::invalid_argument("--backend: expected cpu, cuda or rknn (what the agent measures with), got \"" + o.remote_backend + "\"");
    }
    o.job.run.device = o.remote_backend;
  }
  o.job.protocol.validate();
}

// Space, protocol vocabulary and the run's device, shared by both entry points.
void complete_job(MeasureOptions& o) {
  if (o.space_path.empty() && o.config_path.empty()) throw std::invalid_argument("--space (or --config) is required");
  if (!o.space_path.empty()) o.job.space = load_search_space(o.space_path).space;
  complete_device(o);
  if (!o.reference_path.empty()) {
    o.job.reference = load_config_file(o.reference_path, default_qkv_dim(o.job.space)).config;
  }
}

}  // namespace

std::string local_device_of(const std::string& device) { return parse_device_flag(device).local_device(); }

std::vector<std::unique_ptr<Backend>> make_backends(const std::string& device, const std::string& token_file,
                                                    const std::string& thanos_binary) {
  const TargetDevice target = parse_device_flag(device);
  std::vector<std::unique_ptr<Backend>> backends;
  switch (target.kind) {
    case TargetDevice::Kind::kCpu:
    case TargetDevice::Kind::kCuda:
      backends.push_back(make_isolated_backend(thanos_binary));
      return backends;
    case TargetDevice::Kind::kOrtCpu: {
#ifdef THANOS_WITH_ONNX
      const std::string why = runtime_runner_unavailable_reason();
      if (!why.empty()) throw std::runtime_error("--device ort-cpu: " + why);
      backends.push_back(std::make_unique<OrtBackend>());
      return backends;
#else
      throw std::invalid_argument("--device ort-cpu: this build has no ONNX export (install libonnx-dev and rebuild; scripts/setup.sh does both)");
#endif
    }
    case TargetDevice::Kind::kRknn:
#ifdef THANOS_WITH_ONNX
      backends.push_back(std::make_unique<RknnBackend>());
      return backends;
#else
      throw std::invalid_argument("--device rknn: this build has no ONNX export (install libonnx-dev and rebuild)");
#endif
    case TargetDevice::Kind::kRemote:
      break;
  }
  if (token_file.empty()) throw std::invalid_argument("--device " + device + ": needs --token-file (the agents' shared token)");
  std::vector<std::string> warnings;
  const std::string token = read_token_file(token_file, &warnings);
  for (const auto& w : warnings) std::cerr << "thanos: warning: " << w << "\n";
  for (const auto& address : target.agents) backends.push_back(std::make_unique<RemoteBackend>(address, token));
  return backends;
}

std::string check_measuring_load(const std::string& device, int threads, bool allow_busy, const std::string& what) {
  const TargetDevice d = TargetDevice::parse(device);
  // The NPU and agents measure elsewhere (the NPU's host CPU only feeds it).
  if (d.kind != TargetDevice::Kind::kCpu && d.kind != TargetDevice::Kind::kOrtCpu && d.kind != TargetDevice::Kind::kCuda) return "";
  return check_load_before_measuring(what, std::max(1, threads), allow_busy, "--allow-busy");
}

MeasureSummary run_measure(MeasureOptions o, const std::function<void(const std::string&)>& log, const std::atomic<bool>* stop) {
  if (o.out_path.empty()) throw std::invalid_argument("--out is required to build a dataset");
  complete_job(o);
  if (const std::string warning = check_measuring_load(o.device, o.job.run.threads, o.allow_busy, "thanos measure"); !warning.empty()) {
    log(warning);
  }
  auto owned = make_backends(o.device, o.token_file, o.thanos_binary);
  std::vector<Backend*> backends;
  for (auto& b : owned) backends.push_back(b.get());
  return build_latency_dataset(o.job, backends, o.out_path, log, stop);
}

Measurement run_measure_one(MeasureOptions o) {
  complete_job(o);
  MeasureRequest request;
  request.config = load_config_file(o.config_path, default_qkv_dim(o.job.space)).config;
  if (!o.space_path.empty()) o.job.space.check_config(request.config);
  request.hyper = o.job.space.hyper;
  request.protocol = o.job.protocol;
  request.run = o.job.run;
  auto backends = make_backends(o.device, o.token_file, o.thanos_binary);
  return backends.front()->measure(request);
}

TargetMeasurer::TargetMeasurer(MeasureOptions options, const SearchSpace& space) : o_(std::move(options)) {
  o_.job.space = space;
  complete_device(o_);
  backends_ = make_backends(o_.device, o_.token_file, o_.thanos_binary);
}

Measurement TargetMeasurer::measure(const SubConfig& config) {
  o_.job.space.check_config(config);
  MeasureRequest request;
  request.config = config;
  request.hyper = o_.job.space.hyper;
  request.protocol = o_.job.protocol;
  request.run = o_.job.run;
  return backends_.front()->measure(request);
}

nlohmann::ordered_json measure_summary_json(const MeasureSummary& s, const MeasureOptions& o) {
  nlohmann::ordered_json j;
  j["out"] = o.out_path;
  j["device"] = o.device;
  j["protocol"] = o.job.protocol.canonical();
  j["protocol_hash"] = o.job.protocol.hash_hex();
  j["planned"] = s.planned;
  j["already_in_file"] = s.already_in_file;
  j["measured"] = s.measured;
  j["infeasible"] = s.infeasible;
  j["remeasured"] = s.remeasured;
  j["flagged"] = s.flagged;
  j["interrupted"] = s.interrupted;
  j["seconds"] = s.seconds;
  j["seconds_per_row"] = s.seconds_per_row;
  j["reference_measurements"] = s.reference_measurements;
  j["reference_mean_ms"] = s.reference_mean_ms;
  j["reference_cv"] = s.reference_cv;
  j["memory_estimate_mape_percent"] = s.memory_estimate_mape;
  j["warnings"] = s.warnings;
  return j;
}

}  // namespace thanos
