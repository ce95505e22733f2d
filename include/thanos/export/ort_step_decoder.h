#pragma once
// Exported graphs (a `thanos export` directory: encoder.onnx, decoder_step.onnx, thanos_export.json)
// driven step by step in ONNX Runtime as a StepDecoder, so that the project's beam search
// (decode/beam_search.h) translates with them exactly as it does with libtorch. This is also the
// host side of beam search on an NPU (docs/EXPORT.md, docs/DEPLOY.md): the graphs only compute
// logits and caches; the search, the reordering of caches and the length rules stay on the host.
//
// Dynamic graphs run all live rows in one call. Static (batch-1) graphs run the encoder once per
// sentence (its source padded to the fixed length) and the decoder-step graph once per row with that
// row's own past keys/values; encoder outputs are shared by a sentence's rows, never copied.
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "thanos/decode/beam_search.h"
#include "thanos/export/export_sidecar.h"
#include "thanos/export/runtime_runner.h"

namespace thanos {

// Tensor conversions between libtorch and the runner's byte tensors: int64, int32, bool, float32
// and float16 (at::Half <-> IEEE half words). Throws std::invalid_argument for other dtypes.
OrtTensor to_ort_tensor(const std::string& name, const torch::Tensor& tensor);
torch::Tensor to_torch_tensor(const OrtTensor& tensor);

struct OrtStepDecoderOptions {
  OrtSessionOptions session;
  // Load the graphs with this extension instead of the sidecar's ".onnx" (".rknn": converted
  // models beside the sidecar, tools/rknn/convert.py).
  std::string graph_extension;
  // Called with every feed before it is run ("encoder" or "decoder", the named inputs): how
  // `thanos export --calibration-data` records real inputs of each graph for int8 calibration.
  std::function<void(const std::string& graph, const std::vector<OrtTensor>& feed)> on_feed;
};

class OrtStepDecoder : public StepDecoder {
 public:
  // Reads the sidecar of `export_dir` and loads both graphs into `runner` (which must outlive this
  // object). Throws std::invalid_argument naming the file when the directory is not an export.
  OrtStepDecoder(RuntimeRunner& runner, const std::string& export_dir, OrtStepDecoderOptions options = {});
  ~OrtStepDecoder() override;  // closes both sessions (errors ignored: the runner may be gone)
  OrtStepDecoder(const OrtStepDecoder&) = delete;
  OrtStepDecoder& operator=(const OrtStepDecoder&) = delete;

  const ExportSidecar& sidecar() const { return sidecar_; }
  // The largest max_target_positions for beam_search: the model's, and in static mode at most the
  // self-attention capacity (steps 0..static_tgt_len - 1).
  int64_t max_target_positions() const;

  // Static graphs: every source (without padding) must fit static_src_len, else
  // std::invalid_argument naming the sentence, its length and the export's.
  void start(const torch::Tensor& src_tokens, int64_t beam) override;
  torch::Tensor next_logits(const torch::Tensor& prefix, int64_t step) override;  // float32 [rows, V]
  void reorder(const torch::Tensor& rows, bool sentences_left) override;

 private:
  std::vector<OrtTensor> decoder_feed(int64_t row_begin, int64_t rows, int64_t shared_index, const torch::Tensor& prev,
                                      int64_t step) const;

  std::vector<OrtTensor> observed(const std::string& graph, std::vector<OrtTensor> feed) const;

  RuntimeRunner& runner_;
  OrtStepDecoderOptions options_;
  ExportSidecar sidecar_;
  int encoder_ = 0, decoder_ = 0;
  bool static_ = false;
  torch::Dtype float_dtype_ = torch::kFloat;
  // Encoder outputs by name: dynamic, one row per decoder row; static, one [1, ...] entry per
  // sentence in `shared_static_`, rows pointing at theirs through `row_sentence_`.
  std::vector<std::pair<std::string, torch::Tensor>> shared_;
  std::vector<std::vector<std::pair<std::string, torch::Tensor>>> shared_static_;
  torch::Tensor row_sentence_;  // int64 [rows] (static)
  std::vector<std::pair<std::string, torch::Tensor>> pasts_;  // past_key_i/past_value_i, [rows, ...]
};

}  // namespace thanos
