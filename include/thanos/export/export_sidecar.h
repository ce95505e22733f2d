#pragma once
// The JSON sidecar `thanos export` writes next to its ONNX graphs (docs/EXPORT.md): everything a
// runtime needs to drive them without THANOS — vocabulary, special token ids, the graphs' inputs and
// outputs with dtypes and shapes, the SubConfig and the mode. Torch-free and onnx-free.
#include <cstdint>
#include <string>
#include <vector>

#include "thanos/space/sub_config.h"

namespace thanos {

inline constexpr const char* kExportSidecarFormat = "thanos.onnx-export";
inline constexpr int kExportSidecarVersion = 1;

// One graph input or output. Dims are fixed sizes ("12") or symbols ("batch", "src_len").
struct ExportTensorSpec {
  std::string name;
  std::string dtype;              // "int64" | "float32" | "float16"
  std::vector<std::string> dims;  // each a decimal number or a symbol
  std::string description;
  bool operator==(const ExportTensorSpec& o) const {
    return name == o.name && dtype == o.dtype && dims == o.dims && description == o.description;
  }
};

struct ExportGraphSpec {
  std::string file;  // relative to the sidecar's directory
  std::vector<ExportTensorSpec> inputs, outputs;
  bool operator==(const ExportGraphSpec& o) const { return file == o.file && inputs == o.inputs && outputs == o.outputs; }
};

struct ExportSidecar {
  std::string format = kExportSidecarFormat;
  int version = kExportSidecarVersion;
  std::string mode = "dynamic";  // "dynamic" | "static"
  int64_t static_src_len = 0;    // static mode only: fixed source length (tokens incl. </s>)
  int64_t static_tgt_len = 0;    // static mode only: capacity of the self-attention caches (steps)
  std::string dtype = "float32"; // float32 | float16 (weights and float activations)
  int opset = 17;
  int src_vocab_size = 0, tgt_vocab_size = 0;
  int bos = 0, pad = 1, eos = 2, unk = 3;
  int decoder_start_token = 2;  // fairseq feeds </s> as the decoder's first token
  int max_source_positions = 0, max_target_positions = 0;
  float mask_value = -1e4f;     // what padding/future entries of the additive masks hold
  SubConfig config;
  std::string config_hash;      // SubConfig::hash_hex()
  std::string source_model;     // the model file exported
  ExportGraphSpec encoder, decoder;

  bool operator==(const ExportSidecar& o) const;
};

std::string sidecar_to_json(const ExportSidecar& sidecar);  // pretty-printed, keys in a fixed order
// Throws std::invalid_argument naming `where` and the field on a wrong format, a newer version or a
// missing/ill-typed field.
ExportSidecar sidecar_from_json(const std::string& text, const std::string& where);
void write_sidecar(const std::string& path, const ExportSidecar& sidecar);  // atomically
ExportSidecar read_sidecar(const std::string& path);

}  // namespace thanos
