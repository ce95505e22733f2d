#pragma once
// Measuring in ONNX Runtime (`--device ort-cpu`, docs/MEASUREMENT.md, docs/ORT.md): what a user
// who deploys the exported graphs on a CPU would see. Each measurement builds the same random-weight
// SubTransformer as the libtorch backends (hw/measurement_model.h), exports it (dynamic graphs,
// the protocol's dtype), starts a fresh ONNX Runtime runner process and has it run HAT's protocol
// inside itself (RuntimeRunner::time_loop): the encoder graph, then `tgt_len` decoder-step calls for
// `beam` rows, warm-ups, repeats and trimming as configured.
//
// Where the figures differ from libtorch's by construction: the encoder-decoder keys/values are
// projected by the encoder graph (libtorch's decoder computes them at its first step), so the
// encoder/decoder split moves by that projection while their sum describes the same work.
// Memory: the runner process's resident peak minus its resident set once ONNX Runtime was loaded
// and before the graphs were (memory kind rss-peak-minus-baseline), so it includes ONNX
// Runtime's session state and arenas for the model, not Node's own start-up.
// A memory cap is enforced by polling the runner's resident set (rss-watchdog), a timeout by the
// runner's request deadline; either makes the candidate infeasible with the reason.
#include <string>

#include "thanos/export/runtime_runner.h"
#include "thanos/hw/backend.h"

namespace thanos {

inline constexpr const char* kOrtCpuDevice = "ort-cpu";

struct ExportSidecar;

// HAT's protocol for exported graphs as a runner's timing loop (RuntimeRunner::time_loop), shared by the
// ONNX Runtime and RKNN backends: the measurement tokens (hw/measurement_model.h) as the source and
// the beam's dummy prefix, encoder outputs fed to every step, present keys/values fed back as past
// (empty caches for dynamic exports, TGT_LEN-slot ones for static exports).
OrtLoopRequest export_protocol_loop(const ExportSidecar& sidecar, const MeasureRequest& request, int encoder_session,
                                    int decoder_session);

class OrtBackend : public Backend {
 public:
  explicit OrtBackend(RuntimeRunnerOptions runner_options = {});
  // Throws RuntimeRunnerUnavailable (with the fix) when Node or onnxruntime-node is missing, and
  // std::invalid_argument for a request ONNX Runtime cannot run (device other than cpu, dtype
  // other than float32/float16).
  Measurement measure(const MeasureRequest& request) override;
  std::string name() const override { return kOrtCpuDevice; }

 private:
  RuntimeRunnerOptions runner_options_;
};

}  // namespace thanos
