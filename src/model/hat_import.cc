#include "thanos/model/hat_import.h"

#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

namespace thanos {
namespace {

bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

TensorArchiveFile open_tensor_archive(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::invalid_argument(path + ": tensor archive not found or unreadable");
  TensorArchiveFile f;
  f.path = path;
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  char preamble[kTensorArchivePreambleBytes];
  if (file_size < kTensorArchivePreambleBytes || !in.read(preamble, sizeof(preamble)) ||
      std::memcmp(preamble, kTensorArchiveMagic, 8) != 0) {
    throw std::invalid_argument(path + ": not a THANOS tensor archive (expected the magic bytes \"" +
                                std::string(kTensorArchiveMagic) + "\" written by tools/hat_import.py)");
  }
  // The header length is little-endian on disk whatever the host.
  std::uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | static_cast<unsigned char>(preamble[8 + i]);
  if (header_bytes > file_size - kTensorArchivePreambleBytes) {
    throw std::invalid_argument(path + ": truncated tensor archive: the header needs " + std::to_string(header_bytes) +
                                " bytes but the file has " + std::to_string(file_size - kTensorArchivePreambleBytes) +
                                " after the preamble");
  }
  f.header.resize(header_bytes);
  if (header_bytes > 0 && !in.read(f.header.data(), static_cast<std::streamsize>(header_bytes))) {
    throw std::invalid_argument(path + ": cannot read the tensor archive header");
  }
  f.data_offset = kTensorArchivePreambleBytes + header_bytes;
  f.data_size = file_size - f.data_offset;
  return f;
}

std::map<std::string, torch::Tensor> read_archive_tensors(const TensorArchiveFile& file,
                                                          const std::vector<TensorArchiveEntry>& entries) {
  if (!host_is_little_endian()) {
    throw std::invalid_argument(file.path + ": tensor archives hold little-endian float32; this host is big-endian");
  }
  std::ifstream in(file.path, std::ios::binary);
  if (!in) throw std::invalid_argument(file.path + ": tensor archive not found or unreadable");
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : entries) {
    const std::string what = file.path + ": tensor '" + e.name + "'";
    if (e.dtype != "float32") {
      throw std::invalid_argument(what + ": dtype '" + e.dtype + "' is not supported (expected float32)");
    }
    std::uint64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d < 0) throw std::invalid_argument(what + ": negative dimension in shape " + shape_text(e.shape));
      numel *= static_cast<std::uint64_t>(d);
    }
    const std::uint64_t bytes = numel * sizeof(float);
    if (e.offset > file.data_size || bytes > file.data_size - e.offset) {
      throw std::invalid_argument(what + ": data (" + std::to_string(bytes) + " bytes at offset " +
                                  std::to_string(e.offset) + ") runs past the end of the file, which holds " +
                                  std::to_string(file.data_size) + " data bytes: the archive is truncated");
    }
    if (out.count(e.name)) throw std::invalid_argument(what + ": listed twice in the header");
    auto t = torch::empty(e.shape, torch::kFloat32);
    in.seekg(static_cast<std::streamoff>(file.data_offset + e.offset));
    if (bytes > 0 && !in.read(reinterpret_cast<char*>(t.data_ptr<float>()), static_cast<std::streamsize>(bytes))) {
      throw std::invalid_argument(what + ": cannot read its data (truncated archive?)");
    }
    out.emplace(e.name, std::move(t));
  }
  return out;
}

SuperTransformer model_from_tensors(const ModelOptions& options, const std::map<std::string, torch::Tensor>& tensors,
                                    const std::string& source) {
  SuperTransformer model(options);
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& p : model->named_parameters()) {
    auto it = tensors.find(p.key());
    if (it == tensors.end()) {
      throw std::invalid_argument(source + ": missing tensor '" + p.key() + "' (expected shape " +
                                  shape_text(p.value().sizes().vec()) + ")");
    }
    if (it->second.sizes() != p.value().sizes()) {
      throw std::invalid_argument(source + ": tensor '" + p.key() + "' has shape " +
                                  shape_text(it->second.sizes().vec()) + ", expected " +
                                  shape_text(p.value().sizes().vec()) + " for this SuperTransformer");
    }
    p.value().copy_(it->second);
    used.insert(p.key());
  }
  for (const auto& [name, t] : tensors) {
    if (!used.count(name)) {
      throw std::invalid_argument(source + ": unknown tensor '" + name +
                                  "' (not a parameter of this SuperTransformer; see docs/HAT_IMPORT.md for the names)");
    }
  }
  return model;
}

}  // namespace thanos
