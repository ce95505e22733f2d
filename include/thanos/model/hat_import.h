#pragma once
// Importing HAT's SuperTransformer checkpoints, engine part (libtorch only).
//
// HAT's checkpoints are Python pickles, so tools/hat_import.py converts one into a tensor archive
// (docs/HAT_IMPORT.md): the 8 bytes "THANOSTA", a little-endian uint64 header length, a UTF-8
// JSON header (tensor names, dtypes, shapes, offsets; metadata), then raw little-endian float32
// data. Here: the archive's framing and data, and a SuperTransformer filled from named tensors.
// The JSON header and the space YAML are interpreted by thanos_tools (src/commands/import_hat.cc).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "thanos/model/super_transformer.h"

namespace thanos {

constexpr char kTensorArchiveMagic[] = "THANOSTA";  // the file's first 8 bytes (no terminator)
constexpr std::uint64_t kTensorArchivePreambleBytes = 16;  // magic + header length
constexpr int kTensorArchiveFormatVersion = 1;

// An archive's framing, read without interpreting the header.
struct TensorArchiveFile {
  std::string path;
  std::string header;              // JSON text
  std::uint64_t data_offset = 0;   // first byte of tensor data; entry offsets count from here
  std::uint64_t data_size = 0;     // bytes from data_offset to the end of the file
};

// One tensor as the header lists it.
struct TensorArchiveEntry {
  std::string name;
  std::string dtype;           // "float32", the only dtype of format version 1
  std::vector<int64_t> shape;
  std::uint64_t offset = 0;    // relative to TensorArchiveFile::data_offset
};

// Throws std::invalid_argument naming the file when it is missing, lacks the magic, or ends
// inside its header.
TensorArchiveFile open_tensor_archive(const std::string& path);

// Reads every entry's data as a float32 tensor of its shape. Throws std::invalid_argument naming
// the file and the tensor for an unknown dtype, a negative dimension, a repeated name, or data
// that runs past the end of the file (a truncated archive).
std::map<std::string, torch::Tensor> read_archive_tensors(const TensorArchiveFile& file,
                                                          const std::vector<TensorArchiveEntry>& entries);

// A SuperTransformer built from `options` whose parameters are copied from `tensors` (THANOS
// parameter names, see docs/ARCHITECTURE.md). Every parameter must be given with exactly its
// shape and every tensor must name a parameter, so a wrong mapping cannot pass silently; errors
// (std::invalid_argument) name `source` and the tensor. Buffers (the sinusoidal position tables)
// are computed by the model, as fairseq computes them, and never read.
SuperTransformer model_from_tensors(const ModelOptions& options, const std::map<std::string, torch::Tensor>& tensors,
                                    const std::string& source);

}  // namespace thanos
