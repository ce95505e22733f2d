#include "thanos/export/ort_step_decoder.h"

#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "thanos/export/export_files.h"
#include "thanos/data/binarized.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;

template <typename T>
std::vector<T> values_of(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

std::string layer_name(const char* what, const char* kv, int layer) {
  return std::string(what) + "_" + kv + "_" + std::to_string(layer);
}

}  // namespace

OrtTensor to_ort_tensor(const std::string& name, const torch::Tensor& t) {
  const auto cpu = t.cpu().contiguous();
  std::vector<int64_t> shape = cpu.sizes().vec();
  switch (cpu.scalar_type()) {
    case torch::kLong: return OrtTensor::from_int64(name, shape, values_of<int64_t>(cpu));
    case torch::kInt: return OrtTensor::from_int32(name, shape, values_of<int32_t>(cpu));
    case torch::kFloat: return OrtTensor::from_float32(name, shape, values_of<float>(cpu));
    case torch::kHalf: {
      std::vector<uint16_t> bits(static_cast<size_t>(cpu.numel()));
      std::memcpy(bits.data(), cpu.data_ptr<at::Half>(), bits.size() * sizeof(uint16_t));
      return OrtTensor::from_float16_bits(name, shape, bits);
    }
    case torch::kBool: {
      const auto bytes = values_of<uint8_t>(cpu.to(torch::kUInt8));
      return OrtTensor::from_bool(name, shape, std::vector<bool>(bytes.begin(), bytes.end()));
    }
    default:
      throw std::invalid_argument("tensor \"" + name + "\": dtype " + std::string(c10::toString(cpu.scalar_type())) +
                                  " has no ONNX Runtime runner counterpart (int64, int32, bool, float32, float16)");
  }
}

torch::Tensor to_torch_tensor(const OrtTensor& o) {
  o.check();
  const auto opts = [](torch::Dtype d) { return torch::TensorOptions().dtype(d); };
  torch::Tensor t;
  switch (o.dtype) {
    case OrtDtype::kInt64: t = torch::empty(o.shape, opts(torch::kLong)); break;
    case OrtDtype::kInt32: t = torch::empty(o.shape, opts(torch::kInt)); break;
    case OrtDtype::kFloat32: t = torch::empty(o.shape, opts(torch::kFloat)); break;
    case OrtDtype::kFloat16: t = torch::empty(o.shape, opts(torch::kHalf)); break;
    case OrtDtype::kBool: t = torch::empty(o.shape, opts(torch::kBool)); break;
  }
  // Same layouts on both sides (row-major, little-endian; bool one byte of 0/1).
  if (!o.bytes.empty()) std::memcpy(t.data_ptr(), o.bytes.data(), o.bytes.size());
  return t;
}

OrtStepDecoder::OrtStepDecoder(RuntimeRunner& runner, const std::string& export_dir, OrtStepDecoderOptions options)
    : runner_(runner), options_(std::move(options)) {
  const fs::path dir(export_dir);
  const fs::path sidecar = dir / kExportSidecarFile;
  if (!fs::exists(sidecar)) {
    throw std::invalid_argument(export_dir + ": not a thanos export directory (no " + kExportSidecarFile +
                                "; make one with `thanos export`)");
  }
  sidecar_ = read_sidecar(sidecar.string());
  static_ = sidecar_.mode == "static";
  float_dtype_ = sidecar_.dtype == "float16" ? torch::kHalf : torch::kFloat;
  auto graph_path = [&](const std::string& file) {
    fs::path p = dir / file;
    if (!options_.graph_extension.empty()) p.replace_extension(options_.graph_extension);
    if (!fs::exists(p)) throw std::invalid_argument(p.string() + ": missing (named by " + sidecar.string() + ")");
    return p.string();
  };
  const std::string encoder_path = graph_path(sidecar_.encoder.file), decoder_path = graph_path(sidecar_.decoder.file);
  encoder_ = runner_.load(encoder_path, options_.session).session;
  try {
    decoder_ = runner_.load(decoder_path, options_.session).session;
  } catch (...) {
    runner_.close(encoder_);
    throw;
  }
}

OrtStepDecoder::~OrtStepDecoder() {
  for (int session : {encoder_, decoder_}) {
    try {
      if (session != 0 && runner_.running()) runner_.close(session);
    } catch (const std::exception&) {
      // The runner is gone or out of sync: nothing left to release.
    }
  }
}

int64_t OrtStepDecoder::max_target_positions() const {
  int64_t positions = sidecar_.max_target_positions;
  // Static: the step at the forced </s> (max length) must still fit the cache, steps < capacity.
  if (static_) positions = std::min<int64_t>(positions, sidecar_.static_tgt_len);
  return positions;
}

void OrtStepDecoder::start(const torch::Tensor& src_tokens, int64_t beam) {
  const torch::Tensor src = src_tokens.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t B = src.size(0), rows = B * beam;
  const auto first_rows = torch::arange(B, torch::kLong).repeat_interleave(beam);
  shared_.clear();
  shared_static_.clear();
  if (!static_) {
    for (auto& out : runner_.run(encoder_, observed("encoder", {to_ort_tensor("src_tokens", src)}))) {
      shared_.emplace_back(out.name, to_torch_tensor(out).index_select(0, first_rows));
    }
  } else {
    const int64_t capacity = sidecar_.static_src_len;
    for (int64_t b = 0; b < B; ++b) {
      const torch::Tensor row = src[b];
      const torch::Tensor sentence = row.masked_select(row.ne(kPadId));
      if (sentence.size(0) > capacity) {
        throw std::invalid_argument("sentence " + std::to_string(b) + " has " + std::to_string(sentence.size(0)) +
                                    " tokens (with </s>), more than the static export's source length " +
                                    std::to_string(capacity) + " (thanos export --static SRC_LEN,TGT_LEN)");
      }
      // Right padding, as the static graphs were verified with (tests/test_export_ort.cc).
      auto padded = torch::full({1, capacity}, kPadId, torch::kLong);
      padded.narrow(1, 0, sentence.size(0)).copy_(sentence);
      std::vector<std::pair<std::string, torch::Tensor>> outs;
      for (auto& out : runner_.run(encoder_, observed("encoder", {to_ort_tensor("src_tokens", padded)}))) {
        outs.emplace_back(out.name, to_torch_tensor(out));
      }
      shared_static_.push_back(std::move(outs));
    }
    row_sentence_ = first_rows;
  }
  pasts_.clear();
  const int64_t positions = static_ ? sidecar_.static_tgt_len : 0;
  for (int l = 0; l < sidecar_.config.decoder_layer_num(); ++l) {
    const auto& d = sidecar_.config.decoder_layers[l];
    for (const char* kv : {"key", "value"}) {
      pasts_.emplace_back(layer_name("past", kv, l),
                          torch::zeros({rows, d.self_heads, positions, d.self_head_dim()}, float_dtype_));
    }
  }
}

std::vector<OrtTensor> OrtStepDecoder::decoder_feed(int64_t row_begin, int64_t rows, int64_t shared_index,
                                                    const torch::Tensor& prev, int64_t step) const {
  std::vector<OrtTensor> feed;
  const auto& shared = static_ ? shared_static_.at(static_cast<size_t>(shared_index)) : shared_;
  for (const auto& [name, t] : shared) feed.push_back(to_ort_tensor(name, t));
  for (const auto& [name, t] : pasts_) feed.push_back(to_ort_tensor(name, t.narrow(0, row_begin, rows)));
  feed.push_back(to_ort_tensor("prev_token", prev));
  feed.push_back(OrtTensor::from_int64("step", {1}, {step}));
  return observed("decoder", std::move(feed));
}

std::vector<OrtTensor> OrtStepDecoder::observed(const std::string& graph, std::vector<OrtTensor> feed) const {
  if (options_.on_feed) options_.on_feed(graph, feed);
  return feed;
}

torch::Tensor OrtStepDecoder::next_logits(const torch::Tensor& prefix, int64_t step) {
  const torch::Tensor prev = prefix.narrow(1, step, 1).to(torch::kCPU).contiguous();
  const int64_t rows = prev.size(0);
  if (static_ && step >= sidecar_.static_tgt_len) {
    throw std::invalid_argument("step " + std::to_string(step) + " is past the static export's capacity of " +
                                std::to_string(sidecar_.static_tgt_len) + " decoder steps");
  }
  // The present_* outputs of a call in the order of pasts_, and the logits.
  auto collect = [&](std::vector<OrtTensor> outs, std::vector<torch::Tensor>& logits,
                     std::vector<std::vector<torch::Tensor>>& presents) {
    for (auto& o : outs) {
      if (o.name == "logits") {
        logits.push_back(to_torch_tensor(o).to(torch::kFloat));
        continue;
      }
      for (size_t i = 0; i < pasts_.size(); ++i) {
        if (o.name == "present" + pasts_[i].first.substr(4)) presents[i].push_back(to_torch_tensor(o));
      }
    }
  };
  std::vector<torch::Tensor> logits;
  std::vector<std::vector<torch::Tensor>> presents(pasts_.size());
  if (!static_) {
    collect(runner_.run(decoder_, decoder_feed(0, rows, 0, prev, step)), logits, presents);
  } else {
    // One call per row (batch-1 graphs): the row's own caches, its sentence's encoder outputs.
    const auto* sentence = row_sentence_.data_ptr<int64_t>();
    for (int64_t r = 0; r < rows; ++r) {
      collect(runner_.run(decoder_, decoder_feed(r, 1, sentence[r], prev.narrow(0, r, 1), step)), logits, presents);
    }
  }
  for (size_t i = 0; i < pasts_.size(); ++i) {
    if (presents[i].size() != logits.size()) throw std::runtime_error("decoder_step: no output present" + pasts_[i].first.substr(4));
    pasts_[i].second = presents[i].size() == 1 ? presents[i][0] : torch::cat(presents[i], 0);
  }
  return logits.size() == 1 ? logits[0] : torch::cat(logits, 0);
}

void OrtStepDecoder::reorder(const torch::Tensor& rows_in, bool sentences_left) {
  const torch::Tensor rows = rows_in.to(torch::kCPU, torch::kLong);
  for (auto& [name, t] : pasts_) t = t.index_select(0, rows);
  if (static_) {
    row_sentence_ = row_sentence_.index_select(0, rows);
  } else if (sentences_left) {
    // Beams move within their sentence, whose rows hold equal encoder outputs: only a change of
    // sentences needs the copies.
    for (auto& [name, t] : shared_) t = t.index_select(0, rows);
  }
}

}  // namespace thanos
