#include "thanos/commands/export.h"

#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>

#include "thanos/commands/translate.h"
#include "thanos/export/calibration.h"
#include "thanos/export/onnx_export.h"
#include "thanos/export/onnx_graph_builder.h"
#include "thanos/model/extract.h"

namespace thanos {

std::pair<int64_t, int64_t> parse_static_lengths(const std::string& text) {
  const auto comma = text.find(',');
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("--static '" + text + "': " + why + " (expected SRC_LEN,TGT_LEN, e.g. 64,64)");
  };
  if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) throw bad("not two numbers");
  auto number = [&](const std::string& part, const char* what) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) {
      throw bad(std::string(what) + " '" + part + "' is not a positive integer");
    }
    if (part.size() > 9) throw bad(std::string(what) + " is too large");
    const int64_t v = std::stoll(part);
    if (v < 1) throw bad(std::string(what) + " must be >= 1");
    return v;
  };
  return {number(text.substr(0, comma), "SRC_LEN"), number(text.substr(comma + 1), "TGT_LEN")};
}

ExportCommandResult run_export(const ExportCommandOptions& opt) {
  if (opt.checkpoint_path.empty()) throw std::invalid_argument("thanos export: --checkpoint is required");
  if (opt.out_dir.empty()) throw std::invalid_argument("thanos export: --out is required");
  OnnxExportOptions eo;
  eo.dtype = export_dtype_from_string(opt.dtype);
  if (!opt.static_lengths.empty()) {
    auto [src, tgt] = parse_static_lengths(opt.static_lengths);
    eo.static_src_len = src;
    eo.static_tgt_len = tgt;
  }
  if (!opt.calibration.data_dir.empty()) {
    if (!eo.is_static() || eo.dtype != ExportDtype::kFloat32) {
      throw std::invalid_argument("--calibration-data: int8 calibration data are recorded from a static float32 export "
                                  "(add --static SRC_LEN,TGT_LEN; the toolkit quantizes the float32 graph)");
    }
    if (const std::string why = runtime_runner_unavailable_reason(); !why.empty()) {
      throw std::invalid_argument("--calibration-data: the decoder's inputs are recorded in ONNX Runtime: " + why);
    }
  }
  namespace fs = std::filesystem;
  if (fs::exists(opt.out_dir) && !fs::is_directory(opt.out_dir)) {
    throw std::invalid_argument("--out " + opt.out_dir + ": exists and is not a directory");
  }

  ExportCommandResult result;
  TranslationModel tm = load_translation_model(opt.checkpoint_path, opt.config_path);
  result.warnings = tm.warnings;
  result.config = tm.config;
  SuperTransformer model = tm.loaded.model;
  if (!tm.loaded.info.is_standalone()) {
    model->eval();
    model = extract_subtransformer(*model, tm.config);
    result.extracted = true;
  }
  model->eval();
  OnnxExport graphs;
  try {
    graphs = export_onnx(*model, tm.config, eo);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(opt.checkpoint_path + ": " + e.what());
  }
  check_onnx_model(graphs.encoder, "encoder graph");
  check_onnx_model(graphs.decoder, "decoder-step graph");
  result.encoder_nodes = graphs.encoder.graph().node_size();
  result.decoder_nodes = graphs.decoder.graph().node_size();

  fs::create_directories(opt.out_dir);
  const fs::path dir(opt.out_dir);
  result.encoder_path = (dir / kExportEncoderFile).string();
  result.decoder_path = (dir / kExportDecoderFile).string();
  result.sidecar_path = (dir / kExportSidecarFile).string();
  graphs.encoder_spec.file = kExportEncoderFile;
  graphs.decoder_spec.file = kExportDecoderFile;
  write_onnx_model(result.encoder_path, graphs.encoder);
  write_onnx_model(result.decoder_path, graphs.decoder);
  // The sidecar last: a directory with a sidecar holds the graphs it describes.
  write_sidecar(result.sidecar_path,
                make_export_sidecar(model->options(), tm.config, eo, graphs, opt.checkpoint_path));
  if (!opt.calibration.data_dir.empty()) {
    // Recorded from the float32 graphs just written (the inputs the converted model will see).
    RuntimeRunner runner;
    result.calibration = write_calibration_set(runner, opt.out_dir, opt.calibration);
  }
  return result;
}

}  // namespace thanos
