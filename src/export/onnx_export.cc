#include "thanos/export/onnx_export.h"

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include "thanos/common/text.h"
#include "thanos/export/onnx_graph_builder.h"
#include "thanos/model/super_transformer.h"

namespace thanos {

namespace {

constexpr int32_t kI64 = onnx::TensorProto_DataType_INT64;
constexpr int32_t kF32 = onnx::TensorProto_DataType_FLOAT;
constexpr int32_t kF16 = onnx::TensorProto_DataType_FLOAT16;
constexpr float kLayerNormEps = 1e-5f;  // ElasticLayerNorm's default

using Attrs = std::map<std::string, OnnxAttribute>;
int64_t I(int64_t v) { return v; }

std::string dtype_text(int32_t elem_type) {
  return elem_type == kI64 ? "int64" : elem_type == kF16 ? "float16" : "float32";
}

// Emits the Transformer's pieces into one graph: weights as initializers named after the model's
// tensors, the layers as opset-17 nodes.
class Emitter {
 public:
  Emitter(onnx::GraphProto* graph, SuperTransformerImpl& model, ExportDtype dtype, bool is_static)
      : b(graph), ft(dtype == ExportDtype::kFloat16 ? kF16 : kF32), is_static_(is_static) {
    for (const auto& p : model.named_parameters(true)) tensors_[p.key()] = p.value();
    for (const auto& p : model.named_buffers(true)) tensors_[p.key()] = p.value();
  }

  OnnxGraphBuilder b;
  const int32_t ft;  // the float type of weights and activations
  ExportGraphSpec spec;

  bool has(const std::string& name) const { return tensors_.count(name) > 0; }

  // The model tensor `name` as an initializer (once per graph); with `columns`, only its first
  // `columns` columns (a table shared by embeddings of different widths).
  std::string weight(const std::string& name, int64_t columns = -1) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::logic_error("export: the model has no tensor '" + name + "'");
    torch::Tensor t = it->second.detach().to(torch::kCPU);
    std::string onnx_name = name;
    if (columns >= 0 && columns != t.size(1)) {
      t = t.narrow(1, 0, columns);
      onnx_name = name + ".front" + std::to_string(columns);
    }
    if (emitted_.count(onnx_name)) return onnx_name;
    emitted_.insert(onnx_name);
    t = t.to(ft == kF16 ? torch::kHalf : torch::kFloat).contiguous();
    return b.initializer(onnx_name, ft, t.sizes().vec(), t.data_ptr(), t.nbytes());
  }

  std::string scalar(const std::string& hint, float v) { return b.scalar_float(hint, ft, v); }
  std::string ints(const std::string& hint, const std::vector<int64_t>& v) {
    auto key = hint + "|" + std::to_string(v.size());
    for (auto x : v) key += "," + std::to_string(x);
    auto it = int_consts_.find(key);
    if (it != int_consts_.end()) return it->second;
    return int_consts_[key] = b.const_i64(hint, v);
  }

  std::string input(const std::string& name, int32_t type, const std::vector<OnnxDim>& dims, const std::string& about) {
    spec.inputs.push_back(tensor_spec(name, type, dims, about));
    return b.input(name, type, dims);
  }
  void output(const std::string& name, int32_t type, const std::vector<OnnxDim>& dims, const std::string& about) {
    spec.outputs.push_back(tensor_spec(name, type, dims, about));
    b.output(name, type, dims);
  }

  // y = x W^T + b with the model's [out, in] weight (Gemm, transB): 2-D activations [rows, in].
  std::string linear(const std::string& x, const std::string& prefix, const std::string& hint) {
    return b.op("Gemm", {x, weight(prefix + ".weight"), weight(prefix + ".bias")}, hint, {{"transB", I(1)}});
  }
  std::string layer_norm(const std::string& x, const std::string& prefix, const std::string& hint) {
    return b.op("LayerNormalization", {x, weight(prefix + ".weight"), weight(prefix + ".bias")}, hint,
                {{"axis", I(-1)}, {"epsilon", kLayerNormEps}});
  }
  std::string feed_forward(const std::string& x, const std::string& layer, const std::string& hint) {
    auto h = b.op("Relu", {linear(x, layer + ".fc1", hint + ".fc1")}, hint + ".relu");
    return linear(h, layer + ".fc2", hint + ".fc2");
  }
  // fairseq's residual block: x + f(norm?(x)), then norm when post-norm.
  template <typename F>
  std::string residual(const std::string& x, const std::string& norm, bool pre, const std::string& hint, F&& f) {
    auto h = pre ? layer_norm(x, norm, hint + ".norm") : x;
    auto y = b.op("Add", {x, f(h)}, hint + ".residual");
    return pre ? y : layer_norm(y, norm, hint + ".norm");
  }
  // Softmax(q k^T + mask) v over head-split inputs; kt is k already transposed to [.., hd, Tk].
  std::string attend(const std::string& q, const std::string& kt, const std::string& v, const std::string& mask,
                     const std::string& hint) {
    auto s = b.op("MatMul", {q, kt}, hint + ".scores");
    if (!mask.empty()) s = b.op("Add", {s, mask}, hint + ".masked");
    auto p = b.op("Softmax", {s}, hint + ".probs", {{"axis", I(-1)}});
    return b.op("MatMul", {p, v}, hint + ".context");
  }
  std::string scaled_query(const std::string& h, const std::string& attn, int64_t qkv, int64_t heads,
                           const std::string& hint) {
    const float scaling = static_cast<float>(std::pow(static_cast<double>(qkv / heads), -0.5));
    return b.op("Mul", {linear(h, attn + ".q_proj", hint + ".q"), scalar("scaling", scaling)}, hint + ".q_scaled");
  }
  bool is_static() const { return is_static_; }

 private:
  static ExportTensorSpec tensor_spec(const std::string& name, int32_t type, const std::vector<OnnxDim>& dims,
                                      const std::string& about) {
    ExportTensorSpec t{name, dtype_text(type), {}, about};
    for (const auto& d : dims) t.dims.push_back(d.text());
    return t;
  }
  std::map<std::string, torch::Tensor> tensors_;
  std::set<std::string> emitted_;
  std::map<std::string, std::string> int_consts_;
  bool is_static_;
};

void init_model(onnx::ModelProto& m, const std::string& name, const SubConfig& config, const OnnxExportOptions& o) {
  m.set_ir_version(onnx::IR_VERSION);
  m.set_producer_name("thanos");
  m.set_producer_version("0.1.0");
  m.set_doc_string("THANOS SubTransformer " + config.summary() + " (" + name + ", see docs/EXPORT.md)");
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kExportOpset);
  auto add_meta = [&](const std::string& k, const std::string& v) {
    auto* p = m.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  };
  add_meta("thanos.config_hash", config.hash_hex());
  add_meta("thanos.mode", o.is_static() ? "static" : "dynamic");
  add_meta("thanos.dtype", export_dtype_name(o.dtype));
  m.mutable_graph()->set_name(name);
}

std::string layer_name(const char* stack, int i) { return std::string(stack) + ".layers." + std::to_string(i); }

// ------------------------------------------------------------------ encoder graph

void build_encoder(Emitter& e, SuperTransformerImpl& model, const SubConfig& cfg, const OnnxExportOptions& o) {
  auto& b = e.b;
  const ModelOptions& mo = model.options();
  const bool st = o.is_static();
  const OnnxDim batch = st ? OnnxDim::fixed(1) : OnnxDim::named("batch");
  const OnnxDim src_len = st ? OnnxDim::fixed(*o.static_src_len) : OnnxDim::named("src_len");
  const int64_t D = cfg.encoder_embed_dim;

  auto tokens = e.input("src_tokens", kI64, {batch, src_len},
                        "source token ids, each row ending with </s>, padded with <pad> (left or right)");

  // Scaled token embeddings.
  auto x = b.op("Gather", {e.weight("encoder.embed_tokens.weight", D), tokens}, "enc.embed", {{"axis", I(0)}});
  x = b.op("Mul", {x, e.scalar("embed_scale", static_cast<float>(std::sqrt(static_cast<double>(D))))}, "enc.embed_scaled");

  // Padding, and fairseq's positions (count of non-padding tokens so far, + padding_idx; padding
  // gets the zero row padding_idx) without CumSum: a matrix product with an upper triangle of ones.
  auto is_pad = b.op("Equal", {tokens, b.const_i64("pad_id", {mo.padding_idx}, {})}, "enc.is_pad");
  auto pad_f32 = b.op("Cast", {is_pad}, "enc.pad_f32", {{"to", I(kF32)}});
  auto nonpad = b.op("Sub", {b.const_float("one", kF32, {1.0f}, {}), pad_f32}, "enc.nonpad");
  std::string upper;
  if (st) {
    const int64_t S = *o.static_src_len;
    std::vector<float> u(static_cast<size_t>(S * S), 0.0f);
    for (int64_t i = 0; i < S; ++i) {
      for (int64_t j = i; j < S; ++j) u[static_cast<size_t>(i * S + j)] = 1.0f;
    }
    upper = b.const_float("upper_triangle", kF32, u, {S, S});
  } else {
    std::vector<int64_t> ar(static_cast<size_t>(mo.hyper.max_source_positions));
    for (size_t i = 0; i < ar.size(); ++i) ar[i] = static_cast<int64_t>(i);
    auto len = b.op("Shape", {tokens}, "enc.src_len", {{"start", I(1)}, {"end", I(2)}});
    // onnx 1.12 infers no shape for a Slice with computed ends; reshaping to `len` restores [src_len]
    // (shape inference with data propagation), so every later value has its shape.
    auto sliced = b.op("Slice", {b.const_i64("arange", ar), e.ints("zero", {0}), len, e.ints("axis0", {0})},
                       "enc.arange_slice");
    auto idx = b.op("Reshape", {sliced, len}, "enc.arange");
    auto idx1 = b.op("Add", {idx, b.const_i64("one_i64", {1}, {})}, "enc.arange1");
    auto col = b.op("Unsqueeze", {idx, e.ints("axis1", {1})}, "enc.arange_col");
    auto row = b.op("Unsqueeze", {idx1, e.ints("axis0", {0})}, "enc.arange_row");
    upper = b.op("Cast", {b.op("Less", {col, row}, "enc.upper_bool")}, "enc.upper", {{"to", I(kF32)}});
  }
  auto count = b.op("MatMul", {nonpad, upper}, "enc.count");
  auto pos_f = b.op("Add", {b.op("Mul", {count, nonpad}, "enc.count_masked"),
                            b.const_float("padding_idx", kF32, {static_cast<float>(mo.padding_idx)}, {})},
                    "enc.position_f");
  auto pos_idx = b.op("Cast", {pos_f}, "enc.position", {{"to", I(kI64)}});
  auto pos = b.op("Gather", {e.weight("encoder.embed_positions.weight", D), pos_idx}, "enc.positions", {{"axis", I(0)}});
  x = b.op("Add", {x, pos}, "enc.input");
  x = b.op("Reshape", {x, e.ints("rows_shape", {-1, D})}, "enc.x0");  // [B*S, D]

  // The additive padding mask (an output, fed to the decoder step).
  auto pad_ft = e.ft == kF32 ? pad_f32 : b.op("Cast", {is_pad}, "enc.pad_ft", {{"to", I(e.ft)}});
  const std::string mask_name = "encoder_padding_mask";
  b.op_into("Mul", {pad_ft, e.scalar("mask_value", kExportMaskValue)}, mask_name);
  auto mask4 = b.op("Unsqueeze", {mask_name, e.ints("axes12", {1, 2})}, "enc.mask4");

  // [B*S, H*hd] -> [B, S, H, hd]: a constant shape in static mode, Shape(src_tokens) ++ [H, hd] otherwise.
  std::string batch_len;
  if (!st) batch_len = b.op("Shape", {tokens}, "enc.batch_len");
  std::map<std::pair<int64_t, int64_t>, std::string> split_shapes;
  auto split_shape = [&](int64_t heads, int64_t hd) {
    if (st) return e.ints("split_shape", {1, *o.static_src_len, heads, hd});
    auto& shape = split_shapes[{heads, hd}];
    if (shape.empty()) {
      shape = b.op("Concat", {batch_len, e.ints("heads_hd", {heads, hd})}, "enc.split_shape", {{"axis", I(0)}});
    }
    return shape;
  };
  auto heads_view = [&](const std::string& t, int64_t heads, int64_t hd, std::vector<int64_t> perm, const std::string& hint) {
    return b.op("Transpose", {b.op("Reshape", {t, split_shape(heads, hd)}, hint + ".split")}, hint + ".heads",
                {{"perm", perm}});
  };

  const bool pre = mo.hyper.encoder_normalize_before;
  std::vector<std::string> outputs;
  for (int i = 0; i < cfg.encoder_layer_num(); ++i) {
    const auto& lc = cfg.encoder_layers[i];
    const std::string L = layer_name("encoder", i), hint = "enc." + std::to_string(i);
    const int64_t H = lc.self_heads, qkv = lc.self_qkv_dim, hd = lc.self_head_dim();
    x = e.residual(x, L + ".self_attn_layer_norm", pre, hint + ".attn", [&](const std::string& h) {
      const std::string A = L + ".self_attn";
      auto q = heads_view(e.scaled_query(h, A, qkv, H, hint + ".attn"), H, hd, {0, 2, 1, 3}, hint + ".attn.q");
      auto kt = heads_view(e.linear(h, A + ".k_proj", hint + ".attn.k"), H, hd, {0, 2, 3, 1}, hint + ".attn.k");
      auto v = heads_view(e.linear(h, A + ".v_proj", hint + ".attn.v"), H, hd, {0, 2, 1, 3}, hint + ".attn.v");
      auto c = e.attend(q, kt, v, mask4, hint + ".attn");
      c = b.op("Transpose", {c}, hint + ".attn.merge", {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
      c = b.op("Reshape", {c, e.ints("rows_qkv", {-1, qkv})}, hint + ".attn.rows");
      return e.linear(c, A + ".out_proj", hint + ".attn.out");
    });
    x = e.residual(x, L + ".final_layer_norm", pre, hint + ".ffn",
                   [&](const std::string& h) { return e.feed_forward(h, L, hint + ".ffn"); });
    outputs.push_back(x);
  }
  if (pre) outputs.back() = e.layer_norm(outputs.back(), "encoder.layer_norm", "enc.final_norm");

  // Encoder-decoder keys/values of every decoder layer, projected once.
  for (int l = 0; l < cfg.decoder_layer_num(); ++l) {
    const auto& dc = cfg.decoder_layers[l];
    const std::string A = layer_name("decoder", l) + ".encoder_attn", hint = "cross." + std::to_string(l);
    const int64_t H = dc.ende_heads, hd = dc.ende_head_dim(), k = dc.ende_attn_layers;
    const OnnxDim len = st ? OnnxDim::fixed(k * *o.static_src_len)
                           : OnnxDim::named(k == 1 ? "src_len" : std::to_string(k) + "*src_len");
    for (const char* which : {"key", "value"}) {
      const std::string proj = A + (which == std::string("key") ? ".k_proj" : ".v_proj");
      const std::string out = std::string("cross_") + which + "_" + std::to_string(l);
      std::vector<std::string> parts;
      for (int64_t j = 0; j < k; ++j) {
        const std::string& memory = outputs[outputs.size() - 1 - static_cast<size_t>(j)];
        auto y = e.linear(memory, proj, hint + "." + which);
        auto split = b.op("Reshape", {y, split_shape(H, hd)}, hint + "." + which + ".split");
        if (k == 1) {
          b.op_into("Transpose", {split}, out, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
        } else {
          parts.push_back(b.op("Transpose", {split}, hint + "." + which + ".heads",
                               {{"perm", std::vector<int64_t>{0, 2, 1, 3}}}));
        }
      }
      if (k > 1) b.op_into("Concat", parts, out, {{"axis", I(2)}});
      e.output(out, e.ft, {batch, OnnxDim::fixed(H), len, OnnxDim::fixed(hd)},
               std::string("encoder-decoder attention ") + which + "s of decoder layer " + std::to_string(l) + " over its " +
                   std::to_string(k) + " attended encoder layer(s) [last, second-to-last, ...] along time");
    }
  }
  e.output(mask_name, e.ft, {batch, src_len},
           "additive source padding mask: 0, or mask_value at <pad> (feed to the decoder step unchanged)");
}

// ------------------------------------------------------------------ decoder-step graph

void build_decoder(Emitter& e, SuperTransformerImpl& model, const SubConfig& cfg, const OnnxExportOptions& o) {
  auto& b = e.b;
  const ModelOptions& mo = model.options();
  const bool st = o.is_static();
  const OnnxDim batch = st ? OnnxDim::fixed(1) : OnnxDim::named("batch");
  const OnnxDim src_len = st ? OnnxDim::fixed(*o.static_src_len) : OnnxDim::named("src_len");
  const OnnxDim past_len = st ? OnnxDim::fixed(*o.static_tgt_len) : OnnxDim::named("past_len");
  const OnnxDim present_len = st ? OnnxDim::fixed(*o.static_tgt_len) : OnnxDim::named("past_len+1");
  const int64_t D = cfg.decoder_embed_dim;

  auto token = e.input("prev_token", kI64, {batch, OnnxDim::fixed(1)},
                       "the previous token of each row (</s> at step 0, as fairseq)");
  auto step = e.input("step", kI64, {OnnxDim::fixed(1)},
                      st ? "0-based index of the position decoded now (< TGT_LEN): slot of present_* it fills"
                         : "0-based index of the position decoded now (= past_len)");
  auto memory_mask = e.input("encoder_padding_mask", e.ft, {batch, src_len}, "the encoder graph's output");
  struct LayerIO {
    std::string cross_key, cross_value, past_key, past_value;
  };
  std::vector<LayerIO> io;
  for (int l = 0; l < cfg.decoder_layer_num(); ++l) {
    const auto& dc = cfg.decoder_layers[l];
    const int64_t k = dc.ende_attn_layers;
    const OnnxDim len = st ? OnnxDim::fixed(k * *o.static_src_len)
                           : OnnxDim::named(k == 1 ? "src_len" : std::to_string(k) + "*src_len");
    const OnnxDim eh = OnnxDim::fixed(dc.ende_heads), ehd = OnnxDim::fixed(dc.ende_head_dim());
    const OnnxDim sh = OnnxDim::fixed(dc.self_heads), shd = OnnxDim::fixed(dc.self_head_dim());
    const std::string n = std::to_string(l);
    LayerIO x;
    x.cross_key = e.input("cross_key_" + n, e.ft, {batch, eh, len, ehd}, "the encoder graph's output");
    x.cross_value = e.input("cross_value_" + n, e.ft, {batch, eh, len, ehd}, "the encoder graph's output");
    x.past_key = e.input("past_key_" + n, e.ft, {batch, sh, past_len, shd},
                         st ? "self-attention keys of the steps before (slots >= step are ignored; zeros at step 0)"
                            : "self-attention keys of the steps before (past_len = 0 at step 0)");
    x.past_value = e.input("past_value_" + n, e.ft, {batch, sh, past_len, shd}, "as past_key, for values");
    io.push_back(x);
  }

  // Scaled embedding of the token plus the position row padding_idx + 1 + step (fairseq's numbering
  // of an unpadded prefix). Activations are [B, D] from here on (one position per row).
  const std::string table = e.has("decoder.embed_tokens.weight") ? "decoder.embed_tokens.weight" : "encoder.embed_tokens.weight";
  auto x = b.op("Gather", {e.weight(table, D), token}, "dec.embed", {{"axis", I(0)}});
  x = b.op("Reshape", {x, e.ints("rows_shape", {-1, D})}, "dec.embed_rows");
  x = b.op("Mul", {x, e.scalar("embed_scale", static_cast<float>(std::sqrt(static_cast<double>(D))))}, "dec.embed_scaled");
  auto row = b.op("Add", {step, b.const_i64("first_position_row", {mo.padding_idx + 1}, {})}, "dec.position_row");
  auto pos = b.op("Gather", {e.weight("decoder.embed_positions.weight", D), row}, "dec.position", {{"axis", I(0)}});
  x = b.op("Add", {x, pos}, "dec.input");

  auto mask4 = b.op("Unsqueeze", {memory_mask, e.ints("axes12", {1, 2})}, "dec.memory_mask4");
  std::map<int64_t, std::string> memory_masks{{1, mask4}};
  auto memory_mask_for = [&](int64_t k) {
    auto it = memory_masks.find(k);
    if (it != memory_masks.end()) return it->second;
    return memory_masks[k] = b.op("Concat", std::vector<std::string>(static_cast<size_t>(k), mask4),
                                  "dec.memory_mask_x" + std::to_string(k), {{"axis", I(3)}});
  };

  // Static mode: the slot written now and the additive mask of the slots after it.
  std::string write_slot, future_mask;
  if (st) {
    const int64_t T = *o.static_tgt_len;
    std::vector<int64_t> slots(static_cast<size_t>(T));
    for (int64_t i = 0; i < T; ++i) slots[static_cast<size_t>(i)] = i;
    auto slot_ids = b.const_i64("slots", slots);
    write_slot = b.op("Reshape", {b.op("Equal", {slot_ids, step}, "dec.is_step"), e.ints("slot_shape", {1, 1, T, 1})},
                      "dec.write_slot");
    auto future = b.op("Cast", {b.op("Greater", {slot_ids, step}, "dec.is_future")}, "dec.future", {{"to", I(e.ft)}});
    future_mask = b.op("Mul", {future, e.scalar("mask_value", kExportMaskValue)}, "dec.future_mask");
  }

  const bool pre = mo.hyper.decoder_normalize_before;
  std::vector<std::pair<std::string, int64_t>> present;  // for the outputs' shapes
  for (int l = 0; l < cfg.decoder_layer_num(); ++l) {
    const auto& dc = cfg.decoder_layers[l];
    const std::string L = layer_name("decoder", l), hint = "dec." + std::to_string(l), n = std::to_string(l);
    x = e.residual(x, L + ".self_attn_layer_norm", pre, hint + ".self", [&](const std::string& h) {
      const std::string A = L + ".self_attn";
      const int64_t H = dc.self_heads, qkv = dc.self_qkv_dim, hd = dc.self_head_dim();
      auto heads = e.ints("step_heads", {-1, H, 1, hd});
      auto q = b.op("Reshape", {e.scaled_query(h, A, qkv, H, hint + ".self"), heads}, hint + ".self.q_heads");
      auto kn = b.op("Reshape", {e.linear(h, A + ".k_proj", hint + ".self.k"), heads}, hint + ".self.k_heads");
      auto vn = b.op("Reshape", {e.linear(h, A + ".v_proj", hint + ".self.v"), heads}, hint + ".self.v_heads");
      const std::string pk = "present_key_" + n, pv = "present_value_" + n;
      if (st) {
        b.op_into("Where", {write_slot, kn, io[l].past_key}, pk);
        b.op_into("Where", {write_slot, vn, io[l].past_value}, pv);
      } else {
        b.op_into("Concat", {io[l].past_key, kn}, pk, {{"axis", I(2)}});
        b.op_into("Concat", {io[l].past_value, vn}, pv, {{"axis", I(2)}});
      }
      auto kt = b.op("Transpose", {pk}, hint + ".self.kt", {{"perm", std::vector<int64_t>{0, 1, 3, 2}}});
      auto c = e.attend(q, kt, pv, future_mask, hint + ".self");
      c = b.op("Reshape", {c, e.ints("rows_qkv", {-1, qkv})}, hint + ".self.rows");
      return e.linear(c, A + ".out_proj", hint + ".self.out");
    });
    x = e.residual(x, L + ".encoder_attn_layer_norm", pre, hint + ".cross", [&](const std::string& h) {
      const std::string A = L + ".encoder_attn";
      const int64_t H = dc.ende_heads, qkv = dc.ende_qkv_dim, hd = dc.ende_head_dim();
      auto q = b.op("Reshape", {e.scaled_query(h, A, qkv, H, hint + ".cross"), e.ints("step_heads", {-1, H, 1, hd})},
                    hint + ".cross.q_heads");
      auto kt = b.op("Transpose", {io[l].cross_key}, hint + ".cross.kt", {{"perm", std::vector<int64_t>{0, 1, 3, 2}}});
      auto c = e.attend(q, kt, io[l].cross_value, memory_mask_for(dc.ende_attn_layers), hint + ".cross");
      c = b.op("Reshape", {c, e.ints("rows_qkv", {-1, qkv})}, hint + ".cross.rows");
      return e.linear(c, A + ".out_proj", hint + ".cross.out");
    });
    x = e.residual(x, L + ".final_layer_norm", pre, hint + ".ffn",
                   [&](const std::string& h) { return e.feed_forward(h, L, hint + ".ffn"); });
  }
  if (pre) x = e.layer_norm(x, "decoder.layer_norm", "dec.final_norm");
  const std::string out_table = e.has("decoder.output_projection") ? "decoder.output_projection" : table;
  b.op_into("Gemm", {x, e.weight(out_table, D)}, "logits", {{"transB", I(1)}});

  e.output("logits", e.ft, {batch, OnnxDim::fixed(mo.tgt_vocab_size)},
           "unnormalised scores of the next token (take log_softmax on the host)");
  for (int l = 0; l < cfg.decoder_layer_num(); ++l) {
    const auto& dc = cfg.decoder_layers[l];
    const OnnxDim sh = OnnxDim::fixed(dc.self_heads), shd = OnnxDim::fixed(dc.self_head_dim());
    const std::string n = std::to_string(l);
    e.output("present_key_" + n, e.ft, {batch, sh, present_len, shd}, "past_key with this step's key added: the next step's past_key");
    e.output("present_value_" + n, e.ft, {batch, sh, present_len, shd}, "as present_key, for values");
  }
}

}  // namespace

std::string export_dtype_name(ExportDtype dtype) { return dtype == ExportDtype::kFloat16 ? "float16" : "float32"; }

ExportDtype export_dtype_from_string(const std::string& name) {
  if (name == "float32" || name == "fp32") return ExportDtype::kFloat32;
  if (name == "float16" || name == "fp16") return ExportDtype::kFloat16;
  throw std::invalid_argument("--dtype: unknown '" + name + "' (expected float32 or float16)");
}

OnnxExport export_onnx(SuperTransformerImpl& model, const SubConfig& config, const OnnxExportOptions& o) {
  config.check_consistent();
  const ModelOptions& mo = model.options();
  if (!(mo.capacity == config)) {
    throw std::invalid_argument("export: the model is not a standalone SubTransformer of " + config.summary() +
                                " (its capacity is " + mo.capacity.summary() + "); extract it first");
  }
  if (o.static_src_len.has_value() != o.static_tgt_len.has_value()) {
    throw std::invalid_argument("export: static mode needs both SRC_LEN and TGT_LEN");
  }
  if (o.is_static()) {
    if (*o.static_src_len < 1 || *o.static_tgt_len < 1) {
      throw std::invalid_argument("--static: SRC_LEN and TGT_LEN must be >= 1 (got " + std::to_string(*o.static_src_len) +
                                  "," + std::to_string(*o.static_tgt_len) + ")");
    }
    if (*o.static_src_len > mo.hyper.max_source_positions) {
      throw std::invalid_argument("--static: SRC_LEN " + std::to_string(*o.static_src_len) +
                                  " exceeds the model's max source positions " +
                                  std::to_string(mo.hyper.max_source_positions));
    }
    if (*o.static_tgt_len > mo.hyper.max_target_positions) {
      throw std::invalid_argument("--static: TGT_LEN " + std::to_string(*o.static_tgt_len) +
                                  " exceeds the model's max target positions " +
                                  std::to_string(mo.hyper.max_target_positions));
    }
  }
  torch::NoGradGuard no_grad;
  OnnxExport out;
  init_model(out.encoder, "thanos_encoder", config, o);
  init_model(out.decoder, "thanos_decoder_step", config, o);
  {
    Emitter e(out.encoder.mutable_graph(), model, o.dtype, o.is_static());
    build_encoder(e, model, config, o);
    out.encoder_spec = e.spec;
    out.encoder_spec.file = "encoder.onnx";
  }
  {
    Emitter e(out.decoder.mutable_graph(), model, o.dtype, o.is_static());
    build_decoder(e, model, config, o);
    out.decoder_spec = e.spec;
    out.decoder_spec.file = "decoder_step.onnx";
  }
  return out;
}

ExportSidecar make_export_sidecar(const ModelOptions& mo, const SubConfig& config, const OnnxExportOptions& o,
                                  const OnnxExport& graphs, const std::string& source_model) {
  ExportSidecar s;
  s.mode = o.is_static() ? "static" : "dynamic";
  if (o.is_static()) {
    s.static_src_len = *o.static_src_len;
    s.static_tgt_len = *o.static_tgt_len;
  }
  s.dtype = export_dtype_name(o.dtype);
  s.opset = kExportOpset;
  s.src_vocab_size = mo.src_vocab_size;
  s.tgt_vocab_size = mo.tgt_vocab_size;
  s.pad = mo.padding_idx;  // fairseq's dictionary: <s>=0, <pad>=1, </s>=2, <unk>=3
  s.max_source_positions = mo.hyper.max_source_positions;
  s.max_target_positions = mo.hyper.max_target_positions;
  s.mask_value = kExportMaskValue;
  s.config = config;
  s.config_hash = config.hash_hex();
  s.source_model = source_model;
  s.encoder = graphs.encoder_spec;
  s.decoder = graphs.decoder_spec;
  return s;
}

void write_onnx_model(const std::string& path, const onnx::ModelProto& model) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw std::runtime_error(path + ": could not serialise the ONNX model");
  write_file_atomically(path, bytes);
}

onnx::ModelProto read_onnx_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path + ": cannot open");
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&in)) throw std::invalid_argument(path + ": not an ONNX model (protobuf parse failed)");
  return m;
}

}  // namespace thanos
