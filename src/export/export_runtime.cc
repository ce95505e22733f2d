#include "thanos/export/export_runtime.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "thanos/common/process.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;

bool one_of(const std::string& v, std::initializer_list<const char*> choices) {
  for (const char* c : choices) {
    if (v == c) return true;
  }
  return false;
}

}  // namespace

void ExportRuntimeOptions::validate() const {
  if (!one_of(runtime, {"ort", "rknn-sim", "rknn"})) {
    throw std::invalid_argument("--runtime: expected ort, rknn-sim or rknn, got \"" + runtime + "\"");
  }
  if (!one_of(rknn_dtype, {"fp16", "int8"})) throw std::invalid_argument("--rknn-dtype: expected fp16 or int8, got \"" + rknn_dtype + "\"");
  if (!one_of(core_mask, {"auto", "0", "1", "2", "0_1", "0_1_2"})) {
    throw std::invalid_argument("--core-mask: expected auto, 0, 1, 2, 0_1 or 0_1_2, got \"" + core_mask + "\"");
  }
  if (threads < 1) throw std::invalid_argument("--threads must be >= 1");
}

std::string find_rknn_runner() {
  std::vector<fs::path> places;
  if (const char* env = std::getenv("THANOS_RKNN_RUNNER"); env && *env) places.emplace_back(env);
#ifdef THANOS_RKNN_RUNNER_PATH
  places.emplace_back(THANOS_RKNN_RUNNER_PATH);
#endif
  if (const std::string exe_dir_text = current_executable_dir(); !exe_dir_text.empty()) {
    const fs::path exe_dir(exe_dir_text);
    for (const char* rel : {"tools/rknn/runner.py", "../tools/rknn/runner.py", "../share/thanos/rknn/runner.py"}) {
      places.push_back(exe_dir / rel);
    }
  }
  std::string looked;
  for (const auto& p : places) {
    if (fs::is_regular_file(p)) return fs::absolute(p).string();
    looked += (looked.empty() ? "" : ", ") + p.string();
  }
  throw RuntimeRunnerUnavailable("rknn runner: tools/rknn/runner.py not found (looked at " + looked + "; set THANOS_RKNN_RUNNER)");
}

RuntimeRunnerOptions runner_options_for(const ExportRuntimeOptions& o) {
  o.validate();
  RuntimeRunnerOptions r;
  if (o.runtime == "rknn-sim") r.command = {o.python, find_rknn_runner(), "--runtime", "toolkit"};
  if (o.runtime == "rknn") r.command = {o.python, find_rknn_runner(), "--runtime", "lite", "--core-mask", o.core_mask};
  // Converting a graph in the toolkit takes minutes; one NPU call is quick but a beam is many.
  if (o.runtime != "ort") r.request_timeout_s = 3600;
  return r;
}

OrtStepDecoderOptions step_decoder_options_for(const ExportRuntimeOptions& o, const std::string& export_dir) {
  o.validate();
  OrtStepDecoderOptions d;
  d.session.intra_op_threads = o.threads;
  if (o.runtime == "rknn") d.graph_extension = ".rknn";
  if (o.runtime == "rknn-sim") {
    d.session.runtime_options.emplace_back("rknn_dtype", o.rknn_dtype);
    if (o.rknn_dtype == "int8") {
      const fs::path calibration = fs::path(export_dir) / "calibration";
      if (!fs::is_directory(calibration)) {
        throw std::invalid_argument(export_dir + ": int8 needs calibration data; export with --calibration-data DIR");
      }
      d.session.runtime_options.emplace_back("calibration_dir", fs::absolute(calibration).string());
    }
  }
  return d;
}

BatchTranslator make_export_translator(const std::string& export_dir, const ExportRuntimeOptions& options,
                                       const GenerationOptions& generation, ExportSidecar* sidecar) {
  // Members are destroyed in reverse order: the decoder closes its sessions before the runner stops.
  struct Engine {
    std::unique_ptr<RuntimeRunner> runner;
    std::unique_ptr<OrtStepDecoder> decoder;
  };
  auto engine = std::make_shared<Engine>();
  engine->runner = std::make_unique<RuntimeRunner>(runner_options_for(options));
  engine->decoder = std::make_unique<OrtStepDecoder>(*engine->runner, export_dir, step_decoder_options_for(options, export_dir));
  if (sidecar) *sidecar = engine->decoder->sidecar();
  const int64_t vocab = engine->decoder->sidecar().tgt_vocab_size;
  return [engine, generation, vocab](const torch::Tensor& src) {
    return beam_search(*engine->decoder, src, vocab, generation, engine->decoder->max_target_positions());
  };
}

}  // namespace thanos
