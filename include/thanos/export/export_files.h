#pragma once
// The file names of a `thanos export` directory (docs/EXPORT.md): written by the exporter, read by
// the runtimes, the calibration set builder and the measurement backends.

namespace thanos {

inline constexpr const char* kExportEncoderFile = "encoder.onnx";
inline constexpr const char* kExportDecoderFile = "decoder_step.onnx";
inline constexpr const char* kExportSidecarFile = "thanos_export.json";

}  // namespace thanos
