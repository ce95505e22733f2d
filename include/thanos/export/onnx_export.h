#pragma once
// ONNX graphs of a standalone SubTransformer (docs/EXPORT.md): an encoder graph and a decoder-step
// graph for cached incremental decoding, opset 17, written with the onnx protobuf classes.
//
// Encoder graph: src_tokens [batch, src_len] int64 (padded with <pad>; left or right) ->
//   encoder_padding_mask [batch, src_len] (additive: 0, or mask_value at padding) and, for every
//   decoder layer i, cross_key_i / cross_value_i [batch, ende_heads_i, k_i * src_len, head_dim_i]:
//   the encoder-decoder attention keys/values of that layer over its k_i attended encoder layers
//   (HAT's arbitrary attention: [last, second-to-last, ...] along the time axis), projected once.
//   Why in the encoder graph rather than a graph of their own: one call per sentence and no
//   intermediate encoder-layer outputs to carry between graphs (a layer attending the last three
//   encoder layers would need all three out), one graph less for an NPU runtime to load and
//   schedule; the projections are a small part of the encoder's cost.
// Decoder-step graph: prev_token [batch, 1] int64, step [1] int64 (0-based index of the position
//   decoded now), encoder_padding_mask, cross_key_i / cross_value_i, past_key_i / past_value_i ->
//   logits [batch, tgt_vocab] of the step and present_key_i / present_value_i. Key/value layouts are
//   DecoderCache's: [batch, heads, positions, head_dim].
//   - dynamic: past has `past_len` = step positions (0 at the first step); present has past_len + 1.
//   - static (NPUs): batch 1, src_len = SRC_LEN, and past/present have a fixed capacity of TGT_LEN
//     positions; slot `step` of present holds the new key/value (Where on Equal(slot, step)), slots
//     after it are masked (Greater(slot, step) -> mask_value), so nothing but the step changes size.
//
// Beam search on an NPU (batch-1 graphs): run the encoder once per sentence; at each step run the
// decoder-step graph once per live beam with that beam's own past keys/values and the shared
// cross keys/values and mask (the same buffers for every beam, never copied); the host keeps the
// beams' caches, takes log_softmax of the logits, selects the next tokens (fairseq's rules) and
// reorders the caches by swapping buffer pointers. We do not fold the beam into another axis:
// RKNN runs Softmax/Slice at batch 1 only, and folding beams into the heads axis would change the
// attention's shapes per beam width and need gathers of the caches inside the graph (GatherND/
// ScatterElements are unsupported); one graph call per beam keeps one compiled graph for any beam.
//
// Operators used: Gather, Mul, Add, Sub, Reshape, Transpose, MatMul, Gemm, Softmax, Relu,
// LayerNormalization, Concat, Unsqueeze, Equal, Greater, Less, Cast, Where (static decoder), Shape
// and Slice (dynamic mode only). None of RKNN's unsupported ones (docs/EXPORT.md).
#include <cstdint>
#include <optional>
#include <string>

#include "thanos/export/export_sidecar.h"
#include "thanos/export/onnx_proto.h"
#include "thanos/model/model_options.h"

namespace thanos {

class SuperTransformerImpl;

enum class ExportDtype { kFloat32, kFloat16 };
std::string export_dtype_name(ExportDtype dtype);  // "float32" | "float16"
ExportDtype export_dtype_from_string(const std::string& name);  // throws std::invalid_argument

inline constexpr int kExportOpset = 17;
// Additive mask value for padding and future positions: exp(-1e4) is exactly 0 in float32 and
// float16, so it equals libtorch's -inf whenever a row has an unmasked key, and it stays finite
// (no NaN from 0 * -inf, representable in float16, kinder to int8 calibration).
inline constexpr float kExportMaskValue = -1e4f;

struct OnnxExportOptions {
  ExportDtype dtype = ExportDtype::kFloat32;
  // Static mode: fixed source length and self-attention capacity (both >= 1), batch 1.
  std::optional<int64_t> static_src_len, static_tgt_len;
  bool is_static() const { return static_src_len.has_value(); }
};

struct OnnxExport {
  onnx::ModelProto encoder, decoder;
  ExportGraphSpec encoder_spec, decoder_spec;  // file names "encoder.onnx" / "decoder_step.onnx"
};

// Builds both graphs from `model`, a standalone SubTransformer (its capacity is `config`).
// Throws std::invalid_argument when the model is not standalone for `config`, when static lengths
// are < 1 or exceed the model's position tables.
OnnxExport export_onnx(SuperTransformerImpl& model, const SubConfig& config, const OnnxExportOptions& options);

// The sidecar describing an export of `options`/`config` (graph specs from `graphs`).
ExportSidecar make_export_sidecar(const ModelOptions& model_options, const SubConfig& config,
                                  const OnnxExportOptions& options, const OnnxExport& graphs,
                                  const std::string& source_model);

// Writes a model to `path` (binary protobuf) atomically.
void write_onnx_model(const std::string& path, const onnx::ModelProto& model);
onnx::ModelProto read_onnx_model(const std::string& path);

}  // namespace thanos
