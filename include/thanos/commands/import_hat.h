#pragma once
// `thanos import-hat`: a HAT (mit-han-lab/hardware-aware-transformers) SuperTransformer
// checkpoint, a fairseq pickle, becomes a THANOS model file. tools/hat_import.py (Python with
// PyTorch, no fairseq) unpickles it and writes a tensor archive with THANOS' names; this side
// reads the archive, checks every tensor against the model and writes the model file with the
// search space embedded, so `thanos info --checkpoint` and `thanos extract` work on it.
// See docs/HAT_IMPORT.md.
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace thanos {

struct ImportHatOptions {
  std::string checkpoint_path;  // HAT/fairseq checkpoint (.pt)
  std::string archive_path;     // instead of checkpoint_path: an archive tools/hat_import.py wrote
  std::string out_path;         // THANOS model file to write
  std::string python = "/usr/bin/python3";  // runs the converter; needs PyTorch (python3-torch)
  std::string converter;        // tools/hat_import.py; empty = default_hat_converter()
  std::string keep_archive;     // where to keep the intermediate archive (default: deleted)
};

struct ImportHatResult {
  std::int64_t parameters = 0;
  std::size_t tensors = 0;
  int src_vocab_size = 0, tgt_vocab_size = 0;
  std::string space_yaml;           // as embedded in the model file
  std::string subtransformer_yaml;  // HAT SubTransformer checkpoints: the config their args record
  std::vector<std::string> warnings;
};

// Throws std::invalid_argument naming the file (and tensor or field) for bad input, including a
// Python without PyTorch (with the package to install).
ImportHatResult run_import_hat(const ImportHatOptions& options);

// The converter run_import_hat uses when none is given: THANOS_TOOLS_DIR/hat_import.py (the
// source tree it was built from), else tools/hat_import.py next to or above the executable.
std::string default_hat_converter();

// Tensor archives (format in include/thanos/model/hat_import.h and docs/HAT_IMPORT.md).
struct TensorArchive {
  std::vector<std::string> names;               // in file order
  std::map<std::string, torch::Tensor> tensors;  // float32
  nlohmann::json metadata;                      // the header's "metadata" object
};
// Throws std::invalid_argument naming the file and the header field or tensor.
TensorArchive read_tensor_archive(const std::string& path);
// Writes atomically (temp file + rename).
void write_tensor_archive(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                          const nlohmann::json& metadata);

}  // namespace thanos
