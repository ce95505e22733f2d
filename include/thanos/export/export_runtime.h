#pragma once
// Where exported graphs run, for `thanos eval --export DIR` and the deployment checks
// (docs/DEPLOY.md). Every runtime is driven by a runner process speaking one protocol (docs/ORT.md)
// and translated with the project's own beam search (OrtStepDecoder):
//   ort       ONNX Runtime (tools/ort_runner/runner.js), any export
//   rknn-sim  rknn-toolkit2's simulator on the conversion host (tools/rknn/runner.py --runtime
//             toolkit): a static float32 .onnx converted at load time, fp16 or int8 (int8 with the
//             export's calibration/ lists from `thanos export --calibration-data`)
//   rknn      RKNN Lite on the board (tools/rknn/runner.py --runtime lite): the .rknn files that
//             tools/rknn/convert.py wrote beside the sidecar
// Neither RKNN runtime exists on this machine; their runners say what to install and exit, and
// the error reaches the user (RuntimeRunnerUnavailable).
#include <string>
#include <vector>

#include "thanos/decode/batch_decoder.h"
#include "thanos/export/runtime_runner.h"
#include "thanos/export/ort_step_decoder.h"

namespace thanos {

struct ExportRuntimeOptions {
  std::string runtime = "ort";    // ort | rknn-sim | rknn
  std::string rknn_dtype = "fp16";  // rknn-sim: fp16 | int8
  std::string core_mask = "auto";   // rknn: auto | 0 | 1 | 2 | 0_1 | 0_1_2
  std::string python = "python3";   // the interpreter that has Rockchip's package
  int threads = 1;                  // ort: intra-op threads
  void validate() const;            // throws std::invalid_argument naming the field and the choices
};

// tools/rknn/runner.py: $THANOS_RKNN_RUNNER, else the source tree this was built from, else next to
// the executable (tools/rknn/, ../tools/rknn/, ../share/thanos/rknn/). Throws naming the places.
std::string find_rknn_runner();

RuntimeRunnerOptions runner_options_for(const ExportRuntimeOptions& options);

// A translator of padded source batches over the export in `export_dir` run in `options.runtime`:
// it owns its runner process and step decoder (both live as long as the returned function).
// `sidecar` (optional) receives the export's sidecar, for vocabulary and length checks.
BatchTranslator make_export_translator(const std::string& export_dir, const ExportRuntimeOptions& options,
                                       const GenerationOptions& generation, ExportSidecar* sidecar = nullptr);
OrtStepDecoderOptions step_decoder_options_for(const ExportRuntimeOptions& options, const std::string& export_dir);

}  // namespace thanos
