#include "thanos/export/rknn_backend.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "thanos/common/process.h"
#include "thanos/common/text.h"
#include "thanos/export/export_runtime.h"
#include "thanos/export/onnx_export.h"
#include "thanos/export/ort_step_decoder.h"
#include "thanos/hw/host_info.h"
#include "thanos/hw/measurement_model.h"
#include "thanos/export/ort_backend.h"

#ifndef THANOS_VERSION_STRING
#define THANOS_VERSION_STRING "unknown"
#endif

namespace thanos {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/thanos/rknn";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/thanos/rknn";
  return (fs::temp_directory_path() / "thanos-rknn-cache").string();
}

std::string trim_copy(const std::string& s) {
  const auto b = s.find_first_not_of(" \n\r\t"), e = s.find_last_not_of(" \n\r\t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string tail(const std::string& text, std::size_t n = 600) { return text.size() > n ? "..." + text.substr(text.size() - n) : text; }

}  // namespace

std::string rknn_cache_key(const MeasureRequest& r) {
  const auto& h = r.hyper;
  const std::string hyper = std::to_string(h.encoder_normalize_before) + std::to_string(h.decoder_normalize_before) +
                            std::to_string(h.share_all_embeddings) + std::to_string(h.share_decoder_input_output);
  return r.config.hash_hex() + "-h" + hyper + "-s" + std::to_string(r.protocol.src_len) + "x" + std::to_string(r.protocol.tgt_len) +
         "-v" + std::to_string(r.protocol.vocab_size) + "-fp16";
}

RknnBackend::RknnBackend(RknnBackendOptions options) : options_(std::move(options)) {
  if (options_.cache_dir.empty()) options_.cache_dir = default_cache_dir();
}

Measurement RknnBackend::measure(const MeasureRequest& req) {
  const auto wall_start = Clock::now();
  req.config.check_consistent();
  req.protocol.validate();
  if (req.run.device != kRknnDevice) throw std::invalid_argument("run.device: the rknn backend measures \"rknn\", got \"" + req.run.device + "\"");
  if (req.protocol.dtype != "float16") {
    throw std::invalid_argument("protocol.dtype: the RK3588 NPU runs float models in fp16; measure with --dtype float16 (got " +
                                req.protocol.dtype + ")");
  }
  ExportRuntimeOptions runtime;
  runtime.runtime = "rknn";
  runtime.python = options_.python;
  runtime.core_mask = options_.core_mask;
  runtime.validate();

  // 1. The static export and its conversion, once per cache key.
  const fs::path entry = fs::path(options_.cache_dir) / rknn_cache_key(req);
  const fs::path converted = entry / "rknn-fp16";
  Measurement m;
  if (!fs::exists(converted / "thanos_export.json")) {
    fs::create_directories(entry);
    OnnxExportOptions eo;
    eo.static_src_len = req.protocol.src_len;
    eo.static_tgt_len = req.protocol.tgt_len;
    {
      torch::NoGradGuard no_grad;
      SuperTransformer model = build_measurement_model(req);
      OnnxExport graphs = export_onnx(*model, req.config, eo);
      write_onnx_model((entry / "encoder.onnx").string(), graphs.encoder);
      write_onnx_model((entry / "decoder_step.onnx").string(), graphs.decoder);
      write_sidecar((entry / "thanos_export.json").string(),
                    make_export_sidecar(model->options(), req.config, eo, graphs, "random weights (measurement)"));
    }
    const std::string script = (fs::path(find_rknn_runner()).parent_path() / "convert.py").string();
    const ProcessResult r = run_process({options_.python, script, entry.string(), "--dtype", "fp16", "--out", converted.string()});
    if (r.exit_code == 3) throw RuntimeRunnerUnavailable("rknn conversion: " + trim_copy(r.stderr_text));
    if (r.exit_code != 0) {
      m.feasible = false;
      m.infeasible_reason = "rknn-toolkit2 could not convert it: " + tail(trim_copy(r.stderr_text));
      return m;
    }
  }

  // 2. The protocol in RKNN Lite, timed inside the runner.
  RuntimeRunner runner(runner_options_for(runtime));
  m.backend = kRknnDevice;
  m.device_name = "RK3588 NPU (core mask " + options_.core_mask + "); host " + cpu_model_name();
  m.threads = 1;
  m.interop_threads = 1;
  m.dtype = req.protocol.dtype;
  m.host = host_name();
  m.library_versions = runner.onnxruntime_version() + "; " + runner.node_version() + "; thanos " + THANOS_VERSION_STRING;
  reset_peak_rss(runner.pid());
  m.baseline_memory_mib = proc_status_mib("VmRSS", runner.pid());
  const ExportSidecar sidecar = read_sidecar((converted / "thanos_export.json").string());
  const int encoder = runner.load((converted / "encoder.rknn").string()).session;
  const int decoder = runner.load((converted / "decoder_step.rknn").string()).session;
  const OrtLoopResult result = runner.time_loop(export_protocol_loop(sidecar, req, encoder, decoder));
  m.encoder_mean_ms = result.encoder.mean_ms;
  m.encoder_std_ms = result.encoder.std_ms;
  m.decoder_mean_ms = result.decoder.mean_ms;
  m.decoder_std_ms = result.decoder.std_ms;
  m.peak_memory_mib = proc_status_mib("VmHWM", runner.pid()) - m.baseline_memory_mib;
  m.memory_kind = memory_kind::kRknnLiteRssPeak;
  m.cpu_freq_mhz = cpu_freq_mhz();
  m.temperature_c = cpu_temperature_c();
  m.wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
  return m;
}

}  // namespace thanos
