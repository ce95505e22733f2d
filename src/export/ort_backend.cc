#include "thanos/export/ort_backend.h"

#include <signal.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "thanos/common/temp_dir.h"
#include "thanos/export/onnx_export.h"
#include "thanos/export/ort_step_decoder.h"
#include "thanos/hw/host_info.h"
#include "thanos/hw/measurement_model.h"

#ifndef THANOS_VERSION_STRING
#define THANOS_VERSION_STRING "unknown"
#endif

namespace thanos {
namespace {

using Clock = std::chrono::steady_clock;

std::string format_mib(double mib) { return std::to_string(static_cast<long long>(std::llround(mib))); }

// Kills the runner when its resident set passes the cap (the isolated worker's rss-watchdog, for
// a process we did not fork through it). Polls every 10 ms until stopped.
class RssWatchdog {
 public:
  RssWatchdog(pid_t pid, double cap_mib) : pid_(pid), cap_mib_(cap_mib) {
    if (cap_mib_ > 0) thread_ = std::thread([this] { watch(); });
  }
  ~RssWatchdog() { stop(); }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() const { return fired_; }
  double seen_mib() const { return seen_mib_; }

 private:
  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      const double rss = proc_status_mib("VmRSS", pid_);
      if (std::isfinite(rss)) seen_mib_ = std::max(seen_mib_.load(), rss);
      if (rss > cap_mib_) {
        fired_ = true;
        ::kill(pid_, SIGKILL);
        return;
      }
      wake_.wait_for(lock, std::chrono::milliseconds(10));
    }
  }

  pid_t pid_;
  double cap_mib_;
  std::atomic<bool> fired_{false};
  std::atomic<double> seen_mib_{0};
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace

OrtLoopRequest export_protocol_loop(const ExportSidecar& sidecar, const MeasureRequest& req, int encoder, int decoder) {
  const auto& p = req.protocol;
  OrtLoopRequest q;
  q.encoder_session = encoder;
  q.decoder_session = decoder;
  q.encoder_inputs.push_back(to_ort_tensor("src_tokens", measurement_tokens(1, p.src_len, p.vocab_size)));
  // step t's prev_token is column t of the beam's dummy prefix: [steps, beam, 1].
  const auto tgt = measurement_tokens(p.beam, p.tgt_len, p.vocab_size).t().contiguous().unsqueeze(2);
  q.step_inputs.push_back(to_ort_tensor("prev_token", tgt));
  q.step_inputs.push_back(to_ort_tensor("step", torch::arange(p.tgt_len, torch::kLong).unsqueeze(1)));
  q.steps = p.tgt_len;
  // Dynamic graphs: the encoder's outputs tiled per beam row, one call for all rows. Static
  // (batch-1) graphs: the runner calls the step graph once per row (tools/rknn/runner.py).
  q.replicate = p.beam;
  const bool is_static = sidecar.mode == "static";
  const auto float_dtype = sidecar.dtype == "float16" ? torch::kHalf : torch::kFloat;
  for (const auto& input : sidecar.decoder.inputs) {
    if (input.name == "encoder_padding_mask" || input.name.rfind("cross_", 0) == 0) q.from_encoder.emplace_back(input.name, input.name);
  }
  for (int l = 0; l < req.config.decoder_layer_num(); ++l) {
    const auto& d = req.config.decoder_layers[l];
    for (const std::string kv : {"key", "value"}) {
      const std::string past = "past_" + kv + "_" + std::to_string(l);
      // Empty caches that grow (dynamic), or TGT_LEN slots per row (static).
      const int64_t positions = is_static ? p.tgt_len : 0;
      q.decoder_inputs.push_back(to_ort_tensor(past, torch::zeros({p.beam, d.self_heads, positions, d.self_head_dim()}, float_dtype)));
      q.feedback.emplace_back("present_" + kv + "_" + std::to_string(l), past);
    }
  }
  q.protocol = ort_timing_protocol(p);
  return q;
}

OrtBackend::OrtBackend(RuntimeRunnerOptions runner_options) : runner_options_(std::move(runner_options)) {}

Measurement OrtBackend::measure(const MeasureRequest& req) {
  const auto wall_start = Clock::now();
  req.config.check_consistent();
  req.protocol.validate();
  if (req.run.device != "cpu") {
    throw std::invalid_argument("run.device: ONNX Runtime measures on the cpu here (ort-cpu), got \"" + req.run.device + "\"");
  }
  if (req.protocol.dtype != "float32" && req.protocol.dtype != "float16") {
    throw std::invalid_argument("protocol.dtype: ort-cpu exports float32 or float16 graphs, got \"" + req.protocol.dtype + "\"");
  }
  if (req.run.threads < 1) throw std::invalid_argument("run.threads must be >= 1");

  Measurement m;
  m.backend = kOrtCpuDevice;
  m.threads = req.run.threads;
  m.interop_threads = 1;  // sequential execution: no inter-op pool
  m.dtype = req.protocol.dtype;
  m.host = host_name();
  m.device_name = cpu_model_name();
  m.memory_cap_mib = req.run.memory_cap_mib;
  m.cap_mechanism = req.run.memory_cap_mib > 0 ? cap_mechanism::kRssWatchdog : cap_mechanism::kNone;

  // The graphs of the same network the libtorch backends measure.
  TempDir dir("ort-measure");
  OnnxExportOptions export_options;
  export_options.dtype = export_dtype_from_string(req.protocol.dtype);
  {
    torch::NoGradGuard no_grad;
    SuperTransformer model = build_measurement_model(req);
    const OnnxExport graphs = export_onnx(*model, req.config, export_options);
    write_onnx_model(dir.path() + "/encoder.onnx", graphs.encoder);
    write_onnx_model(dir.path() + "/decoder_step.onnx", graphs.decoder);
    write_sidecar(dir.path() + "/thanos_export.json",
                  make_export_sidecar(model->options(), req.config, export_options, graphs, "random weights (measurement)"));
  }

  RuntimeRunnerOptions runner_options = runner_options_;
  if (req.run.timeout_s > 0) runner_options.request_timeout_s = req.run.timeout_s;
  RuntimeRunner runner(runner_options);  // a fresh process per measurement: its peak is this model's
  m.library_versions = "onnxruntime " + runner.onnxruntime_version() + "; node " + runner.node_version() + "; thanos " +
                       THANOS_VERSION_STRING;
  reset_peak_rss(runner.pid());
  m.baseline_memory_mib = proc_status_mib("VmRSS", runner.pid());

  RssWatchdog watchdog(runner.pid(), req.run.memory_cap_mib);
  try {
    OrtSessionOptions session;
    session.intra_op_threads = req.run.threads;
    session.execution_mode = "sequential";
    const ExportSidecar sidecar = read_sidecar(dir.path() + "/thanos_export.json");
    const int encoder = runner.load(dir.path() + "/encoder.onnx", session).session;
    const int decoder = runner.load(dir.path() + "/decoder_step.onnx", session).session;
    const OrtLoopResult r = runner.time_loop(export_protocol_loop(sidecar, req, encoder, decoder));
    m.peak_memory_mib = proc_status_mib("VmHWM", runner.pid()) - m.baseline_memory_mib;
    m.memory_kind = memory_kind::kRssPeak;
    m.encoder_mean_ms = r.encoder.mean_ms;
    m.encoder_std_ms = r.encoder.std_ms;
    m.decoder_mean_ms = r.decoder.mean_ms;
    m.decoder_std_ms = r.decoder.std_ms;
  } catch (const std::exception& e) {
    watchdog.stop();
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
    if (!watchdog.fired() && req.run.timeout_s > 0 && !runner.running() && elapsed_s >= req.run.timeout_s) {
      m.feasible = false;
      m.infeasible_reason = "timed out after " + format_mib(req.run.timeout_s) + " s (the runner was stopped)";
      return m;
    }
    if (!watchdog.fired()) throw;
    m.feasible = false;
    m.infeasible_reason = "killed by the memory cap of " + format_mib(req.run.memory_cap_mib) + " MiB (rss-watchdog; VmRSS reached " +
                          format_mib(watchdog.seen_mib()) + " MiB)";
  }
  watchdog.stop();
  m.cpu_freq_mhz = cpu_freq_mhz();
  m.temperature_c = cpu_temperature_c();
  m.wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
  return m;
}

}  // namespace thanos
