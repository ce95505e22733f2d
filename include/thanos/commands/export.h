#pragma once
// thanos export: a trained SubTransformer -> ONNX encoder + decoder-step graphs + JSON sidecar
// (docs/EXPORT.md). The model is a standalone SubTransformer, or a SuperTransformer with the
// SubConfig to extract (`config_path`).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "thanos/export/calibration.h"
#include "thanos/export/export_files.h"
#include "thanos/space/sub_config.h"

namespace thanos {

struct ExportCommandOptions {
  std::string checkpoint_path;  // model file (standalone, or a SuperTransformer with config_path)
  std::string config_path;      // SubConfig (HAT YAML or JSON); required for a SuperTransformer
  std::string out_dir;          // created if missing; the three files are replaced atomically
  std::string static_lengths;   // "SRC_LEN,TGT_LEN" for static mode; empty = dynamic
  std::string dtype = "float32";  // float32 | float16
  // With data_dir: int8 calibration data for rknn-toolkit2 in <out_dir>/calibration (static
  // float32 exports only; needs the ONNX Runtime runner, docs/DEPLOY.md).
  CalibrationOptions calibration;
};

struct ExportCommandResult {
  std::string encoder_path, decoder_path, sidecar_path;
  SubConfig config;
  bool extracted = false;  // the SubTransformer was extracted from a SuperTransformer
  int encoder_nodes = 0, decoder_nodes = 0;
  std::vector<std::string> warnings;
  std::optional<CalibrationSet> calibration;
};

// "SRC_LEN,TGT_LEN" -> the two lengths (each >= 1). Throws std::invalid_argument naming --static.
std::pair<int64_t, int64_t> parse_static_lengths(const std::string& text);

// Loads, extracts when needed, builds both graphs, checks them (onnx checker + full shape
// inference) and writes them with the sidecar. Throws std::invalid_argument naming the file or
// option at fault.
ExportCommandResult run_export(const ExportCommandOptions& options);

}  // namespace thanos
