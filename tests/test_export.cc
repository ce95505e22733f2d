// ONNX export (docs/EXPORT.md): every graph passes onnx's checker and full shape inference, the
// structure matches the SubConfig, initializers are the model's tensors bit for bit, and — through
// a small reference interpreter of the graph's opset-17 nodes written on libtorch here — the
// graphs compute what the libtorch model computes (encoder keys/values, step-by-step logits).
// (ONNX Runtime itself is exercised by the ORT tests.)
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "export_test_util.h"
#include "test_util.h"
#include "thanos/commands/export.h"
#include "thanos/common/text.h"
#include "thanos/export/export_sidecar.h"
#include "thanos/export/onnx_export.h"
#include "thanos/export/onnx_graph_builder.h"
#include "thanos/model/extract.h"
#include "thanos/model/model_file.h"
#include "thanos/space/config_io.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ models under test

// The models, export options and source batch are shared with test_export_ort.cc.
using Variant = testing::ExportVariant;
using testing::random_super;
using testing::standalone;
using testing::shared_post_norm;
using testing::separate_pre_norm;

// ------------------------------------------------------------------ reference interpreter

// Runs an opset-17 graph of the operators the exporter emits on libtorch. float16 tensors are
// widened to float32 when read (the weights keep their float16 rounding; arithmetic is float32).
class Interpreter {
 public:
  explicit Interpreter(const onnx::GraphProto& g) : g_(g) {
    for (const auto& t : g.initializer()) init_[t.name()] = read_tensor(t);
  }

  std::map<std::string, torch::Tensor> run(std::map<std::string, torch::Tensor> values) const {
    for (const auto& [k, v] : init_) values[k] = v;
    for (const auto& n : g_.node()) {
      std::vector<torch::Tensor> in;
      for (const auto& name : n.input()) {
        auto it = values.find(name);
        if (it == values.end()) throw std::runtime_error("interpreter: no value '" + name + "' for " + n.op_type());
        in.push_back(it->second);
      }
      values[n.output(0)] = eval(n, in);
    }
    std::map<std::string, torch::Tensor> out;
    for (const auto& o : g_.output()) out[o.name()] = values.at(o.name());
    return out;
  }

 private:
  static torch::Tensor read_tensor(const onnx::TensorProto& t) {
    std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    const std::string& raw = t.raw_data();
    torch::Dtype type = t.data_type() == onnx::TensorProto_DataType_INT64   ? torch::kLong
                        : t.data_type() == onnx::TensorProto_DataType_FLOAT16 ? torch::kHalf
                                                                            : torch::kFloat;
    auto tensor = torch::empty(dims, type);
    EXPECT_EQ(raw.size(), tensor.nbytes()) << t.name();
    std::memcpy(tensor.data_ptr(), raw.data(), raw.size());
    return type == torch::kHalf ? tensor.to(torch::kFloat) : tensor;
  }
  static const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  static int64_t attr_i(const onnx::NodeProto& n, const std::string& name, int64_t fallback) {
    const auto* a = attr(n, name);
    return a ? a->i() : fallback;
  }
  static std::vector<int64_t> ints(const torch::Tensor& t) {
    auto c = t.contiguous();
    return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
  }

  static torch::Tensor eval(const onnx::NodeProto& n, const std::vector<torch::Tensor>& in) {
    const std::string& op = n.op_type();
    if (op == "Gather") {
      EXPECT_EQ(attr_i(n, "axis", 0), 0);
      auto sizes = in[1].sizes().vec();
      for (int64_t d = 1; d < in[0].dim(); ++d) sizes.push_back(in[0].size(d));
      return in[0].index_select(0, in[1].flatten()).reshape(sizes);
    }
    if (op == "Mul") return in[0] * in[1];
    if (op == "Add") return in[0] + in[1];
    if (op == "Sub") return in[0] - in[1];
    if (op == "MatMul") return torch::matmul(in[0], in[1]);
    if (op == "Relu") return torch::relu(in[0]);
    if (op == "Softmax") return torch::softmax(in[0], attr_i(n, "axis", -1));
    if (op == "Equal") return torch::eq(in[0], in[1]);
    if (op == "Greater") return torch::gt(in[0], in[1]);
    if (op == "Less") return torch::lt(in[0], in[1]);
    if (op == "Where") return torch::where(in[0], in[1], in[2]);
    if (op == "Gemm") {
      EXPECT_EQ(attr_i(n, "transB", 0), 1);
      EXPECT_EQ(attr_i(n, "transA", 0), 0);
      return torch::linear(in[0], in[1], in.size() > 2 ? in[2] : torch::Tensor());
    }
    if (op == "LayerNormalization") {
      const auto* eps = attr(n, "epsilon");
      EXPECT_EQ(attr_i(n, "axis", -1), -1);
      return torch::layer_norm(in[0], {in[0].size(-1)}, in[1], in[2], eps ? eps->f() : 1e-5);
    }
    if (op == "Reshape") {
      auto shape = ints(in[1]);
      for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 0) shape[i] = in[0].size(static_cast<int64_t>(i));
      }
      return in[0].reshape(shape);
    }
    if (op == "Transpose") {
      const auto* perm = attr(n, "perm");
      return in[0].permute(std::vector<int64_t>(perm->ints().begin(), perm->ints().end())).contiguous();
    }
    if (op == "Concat") return torch::cat(in, attr_i(n, "axis", 0));
    if (op == "Unsqueeze") {
      auto axes = ints(in[1]);
      std::sort(axes.begin(), axes.end());
      auto t = in[0];
      for (auto a : axes) t = t.unsqueeze(a);
      return t;
    }
    if (op == "Cast") {
      const int64_t to = attr_i(n, "to", 0);
      if (to == onnx::TensorProto_DataType_INT64) return in[0].to(torch::kLong);
      if (to == onnx::TensorProto_DataType_FLOAT16) return in[0].to(torch::kHalf).to(torch::kFloat);
      return in[0].to(torch::kFloat);
    }
    if (op == "Shape") {
      auto sizes = in[0].sizes().vec();
      const int64_t start = attr_i(n, "start", 0), end = attr_i(n, "end", static_cast<int64_t>(sizes.size()));
      return torch::tensor(std::vector<int64_t>(sizes.begin() + start, sizes.begin() + end), torch::kLong);
    }
    if (op == "Slice") {
      const auto starts = ints(in[1]), ends = ints(in[2]), axes = ints(in[3]);
      auto t = in[0];
      for (size_t i = 0; i < axes.size(); ++i) {
        const int64_t len = t.size(axes[i]), s = std::min(starts[i], len), e = std::min(ends[i], len);
        t = t.narrow(axes[i], s, e - s);
      }
      return t;
    }
    throw std::runtime_error("interpreter: operator " + op + " not implemented");
  }

  const onnx::GraphProto& g_;
  std::map<std::string, torch::Tensor> init_;
};

std::map<std::string, int> op_counts(const onnx::GraphProto& g) {
  std::map<std::string, int> c;
  for (const auto& n : g.node()) ++c[n.op_type()];
  return c;
}

OnnxExportOptions options(ExportDtype dtype, std::optional<std::pair<int64_t, int64_t>> lengths = {}) {
  return testing::export_options(dtype, lengths);
}

torch::Tensor source_batch(int64_t vocab) { return testing::export_source_batch(vocab); }

// ------------------------------------------------------------------ checker, shape inference, operators

TEST(ExportGraphs, EveryModeAndDtypePassesCheckerAndFullShapeInference) {
  const std::set<std::string> rknn_unsupported = {"TopK", "Range", "CumSum", "Trilu", "Loop", "Scan", "NonZero",
                                                  "Not", "Or", "Neg", "Reciprocal", "Mean", "Einsum", "OneHot",
                                                  "GatherND", "ScatterElements", "Round", "Sum"};
  for (const Variant& v : {shared_post_norm(), separate_pre_norm()}) {
    auto model = standalone(v);
    for (ExportDtype dtype : {ExportDtype::kFloat32, ExportDtype::kFloat16}) {
      for (bool st : {false, true}) {
        SCOPED_TRACE(v.name + " " + export_dtype_name(dtype) + (st ? " static" : " dynamic"));
        auto ex = export_onnx(*model, v.config, options(dtype, st ? std::optional(std::pair<int64_t, int64_t>{9, 6})
                                                                  : std::nullopt));
        for (const onnx::ModelProto* m : {&ex.encoder, &ex.decoder}) {
          ASSERT_EQ(m->opset_import_size(), 1);
          EXPECT_EQ(m->opset_import(0).version(), 17);
          const auto inferred = infer_onnx_shapes(*m, m->graph().name());
          const int32_t ft = dtype == ExportDtype::kFloat16 ? onnx::TensorProto_DataType_FLOAT16
                                                            : onnx::TensorProto_DataType_FLOAT;
          for (const auto& n : m->graph().node()) {
            EXPECT_FALSE(rknn_unsupported.count(n.op_type())) << n.op_type();
            if (st) {
              EXPECT_TRUE(n.op_type() != "Shape" && n.op_type() != "Slice") << n.op_type();
            }
          }
          for (const auto& t : m->graph().initializer()) {
            // Float tensors are in the chosen dtype, except the encoder's token counting for
            // positions, which stays float32 so that positions stay exact.
            const bool counting = t.name() == "one" || t.name() == "padding_idx" || t.name() == "upper_triangle";
            if (t.data_type() != onnx::TensorProto_DataType_INT64) {
              EXPECT_EQ(t.data_type(), counting ? onnx::TensorProto_DataType_FLOAT : ft) << t.name();
            }
          }
          // Static graphs: every input/output dimension fixed, batch 1. Dynamic: a symbolic batch.
          for (const auto* list : {&m->graph().input(), &m->graph().output()}) {
            for (const auto& io : *list) {
              const auto& shape = io.type().tensor_type().shape();
              if (st) {
                for (const auto& d : shape.dim()) EXPECT_TRUE(d.has_dim_value()) << io.name();
              }
              if (io.name() != "step") {
                EXPECT_EQ(shape.dim(0).has_dim_value(), st) << io.name();
                if (st) {
                  EXPECT_EQ(shape.dim(0).dim_value(), 1) << io.name();
                } else {
                  EXPECT_EQ(shape.dim(0).dim_param(), "batch") << io.name();
                }
              }
            }
          }
          // Every intermediate value of the inferred graph has a fully known element type.
          for (const auto& vi : inferred.graph().value_info()) {
            EXPECT_NE(vi.type().tensor_type().elem_type(), 0) << vi.name();
          }
        }
      }
    }
  }
}

TEST(ExportGraphs, LayerNormalizationIsOneNodeAndCountsFollowTheConfig) {
  for (const Variant& v : {shared_post_norm(), separate_pre_norm()}) {
    SCOPED_TRACE(v.name);
    auto model = standalone(v);
    const bool pre = v.super_options.hyper.encoder_normalize_before;
    const int E = v.config.encoder_layer_num(), L = v.config.decoder_layer_num();
    int attended = 0;
    std::set<int> multi;  // distinct k > 1
    for (const auto& d : v.config.decoder_layers) {
      attended += d.ende_attn_layers;
      if (d.ende_attn_layers > 1) multi.insert(d.ende_attn_layers);
    }
    for (bool st : {false, true}) {
      auto ex = export_onnx(*model, v.config, options(ExportDtype::kFloat32, st ? std::optional(std::pair<int64_t, int64_t>{8, 5})
                                                                                : std::nullopt));
      auto enc = op_counts(ex.encoder.graph()), dec = op_counts(ex.decoder.graph());
      // Encoder: q, k, v, out, fc1, fc2 per layer; a key and a value projection per attended
      // encoder layer of every decoder layer. Two norms per layer (+ the final one with pre-norm).
      EXPECT_EQ(enc["Gemm"], 6 * E + 2 * attended);
      EXPECT_EQ(enc["LayerNormalization"], 2 * E + (pre ? 1 : 0));
      EXPECT_EQ(enc["Softmax"], E);
      EXPECT_EQ(enc["Relu"], E);
      EXPECT_EQ(enc["MatMul"], 2 * E + 1);  // scores and context per layer + the position count
      // Concat: the [B, S, H, hd] shapes in dynamic mode (one per distinct head split), and the
      // keys and values of decoder layers attending several encoder layers.
      std::set<std::pair<int, int>> splits;
      for (const auto& e : v.config.encoder_layers) splits.insert({e.self_heads, e.self_qkv_dim / e.self_heads});
      for (const auto& d : v.config.decoder_layers) splits.insert({d.ende_heads, d.ende_qkv_dim / d.ende_heads});
      int cross_concats = 0;
      for (const auto& d : v.config.decoder_layers) cross_concats += d.ende_attn_layers > 1 ? 2 : 0;
      EXPECT_EQ(enc["Concat"], (st ? 0 : static_cast<int>(splits.size())) + cross_concats);
      EXPECT_EQ(enc.count("Shape") + enc.count("Slice") > 0, !st);
      // Decoder step: self q, k, v, out; cross q, out; fc1, fc2 per layer; the output projection.
      EXPECT_EQ(dec["Gemm"], 8 * L + 1);
      EXPECT_EQ(dec["LayerNormalization"], 3 * L + (pre ? 1 : 0));
      EXPECT_EQ(dec["Softmax"], 2 * L);
      EXPECT_EQ(dec["MatMul"], 4 * L);
      EXPECT_EQ(dec["Concat"], (st ? 0 : 2 * L) + static_cast<int>(multi.size()));
      EXPECT_EQ(dec["Where"], st ? 2 * L : 0);
      EXPECT_EQ(dec.count("Shape") + dec.count("Slice"), 0u);
      // The same per layer, from the nodes' names ("enc.<i>.", "dec.<i>.").
      auto layer_counts = [](const onnx::GraphProto& g, const std::string& prefix) {
        std::map<std::string, int> c;
        for (const auto& n : g.node()) {
          if (n.name().rfind(prefix, 0) == 0) ++c[n.op_type()];
        }
        return c;
      };
      for (int i = 0; i < E; ++i) {
        auto c = layer_counts(ex.encoder.graph(), "enc." + std::to_string(i) + ".");
        EXPECT_EQ(c["Gemm"], 6) << i;
        EXPECT_EQ(c["LayerNormalization"], 2) << i;
        EXPECT_EQ(c["Softmax"], 1) << i;
        EXPECT_EQ(c["Add"], 3) << i;  // the mask and two residuals
      }
      for (int i = 0; i < L; ++i) {
        auto c = layer_counts(ex.decoder.graph(), "dec." + std::to_string(i) + ".");
        EXPECT_EQ(c["Gemm"], 8) << i;
        EXPECT_EQ(c["LayerNormalization"], 3) << i;
        EXPECT_EQ(c["Softmax"], 2) << i;
        EXPECT_EQ(c["Transpose"], 2) << i;  // self and cross keys
        auto x = layer_counts(ex.encoder.graph(), "cross." + std::to_string(i) + ".");
        EXPECT_EQ(x["Gemm"], 2 * v.config.decoder_layers[i].ende_attn_layers) << i;
      }
      // Inputs/outputs: 3 + 4 per layer in; logits + 2 per layer out (decoder); tokens in,
      // mask + 2 per layer out (encoder).
      EXPECT_EQ(ex.decoder.graph().input_size(), 3 + 4 * L);
      EXPECT_EQ(ex.decoder.graph().output_size(), 1 + 2 * L);
      EXPECT_EQ(ex.encoder.graph().input_size(), 1);
      EXPECT_EQ(ex.encoder.graph().output_size(), 1 + 2 * L);
    }
  }
}

TEST(ExportGraphs, InitializersAreTheModelTensorsBitForBit) {
  for (const Variant& v : {shared_post_norm(), separate_pre_norm()}) {
    SCOPED_TRACE(v.name);
    auto model = standalone(v);
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& p : model->named_parameters()) tensors[p.key()] = p.value().detach();
    for (const auto& p : model->named_buffers()) tensors[p.key()] = p.value().detach();
    for (ExportDtype dtype : {ExportDtype::kFloat32, ExportDtype::kFloat16}) {
      auto ex = export_onnx(*model, v.config, options(dtype));
      std::set<std::string> covered;
      for (const onnx::ModelProto* m : {&ex.encoder, &ex.decoder}) {
        for (const auto& t : m->graph().initializer()) {
          std::string name = t.name();
          int64_t columns = -1;
          if (auto at = name.find(".front"); at != std::string::npos) {
            columns = std::stoll(name.substr(at + 6));
            name = name.substr(0, at);
          }
          auto it = tensors.find(name);
          if (it == tensors.end()) continue;  // a graph constant
          covered.insert(name);
          auto expected = columns >= 0 ? it->second.narrow(1, 0, columns) : it->second;
          expected = expected.to(dtype == ExportDtype::kFloat16 ? torch::kHalf : torch::kFloat).contiguous();
          std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
          EXPECT_EQ(dims, expected.sizes().vec()) << t.name();
          ASSERT_EQ(t.raw_data().size(), expected.nbytes()) << t.name();
          EXPECT_EQ(std::memcmp(t.raw_data().data(), expected.data_ptr(), expected.nbytes()), 0) << t.name();
        }
      }
      // Every parameter and both position tables are used by one of the graphs.
      for (const auto& [name, t] : tensors) EXPECT_TRUE(covered.count(name)) << name << " missing from the graphs";
    }
  }
}

TEST(ExportGraphs, HalfConversionMatchesTorch) {
  auto values = torch::cat({torch::randn({4000}) * 3, torch::randn({1000}) * 1e-5, torch::randn({500}) * 1e-7,
                            torch::randn({200}) * 7e4,
                            torch::tensor({0.0f, -0.0f, 65504.0f, 65519.0f, 65520.0f, 6.1035156e-05f, 5.9604645e-08f,
                                           2.9802322e-08f, 2.98023224e-08f * 1.5f, INFINITY, -INFINITY})});
  auto half = values.to(torch::kHalf);
  for (int64_t i = 0; i < values.numel(); ++i) {
    const float f = values[i].item<float>();
    uint16_t expected;
    std::memcpy(&expected, half[i].data_ptr(), 2);
    ASSERT_EQ(float_to_half_bits(f), expected) << f;
    EXPECT_EQ(half_bits_to_float(expected), half[i].item<float>()) << f;
  }
}

// ------------------------------------------------------------------ the graphs compute the model

struct DecodeRun {
  double max_cross_diff = 0, max_logit_diff = 0, max_mask_diff = 0;
};

// Encoder graph vs start_decoding's keys/values; then `steps` decoder-step calls (teacher-forced
// random tokens, </s> first) vs decode_step's logits. Dynamic mode: the whole batch at once.
DecodeRun compare_dynamic(SuperTransformer& model, const Variant& v, ExportDtype dtype, int steps) {
  torch::NoGradGuard no_grad;
  auto ex = export_onnx(*model, v.config, options(dtype));
  const auto src = source_batch(v.super_options.src_vocab_size);
  const int64_t B = src.size(0);
  auto enc_ref = model->encode(src, v.config);
  auto cache = model->start_decoding(enc_ref, v.config);
  auto enc = Interpreter(ex.encoder.graph()).run({{"src_tokens", src}});
  DecodeRun r;
  auto expected_mask = src.eq(1).to(torch::kFloat) * kExportMaskValue;
  r.max_mask_diff = (enc.at("encoder_padding_mask") - expected_mask).abs().max().item<double>();
  for (int l = 0; l < v.config.decoder_layer_num(); ++l) {
    const auto n = std::to_string(l);
    r.max_cross_diff = std::max({r.max_cross_diff,
                                 (enc.at("cross_key_" + n) - cache.layers[l].encoder_attn.key).abs().max().item<double>(),
                                 (enc.at("cross_value_" + n) - cache.layers[l].encoder_attn.value).abs().max().item<double>()});
  }
  Interpreter dec(ex.decoder.graph());
  std::map<std::string, torch::Tensor> in = enc;
  for (int l = 0; l < v.config.decoder_layer_num(); ++l) {
    const auto& d = v.config.decoder_layers[l];
    in["past_key_" + std::to_string(l)] = torch::zeros({B, d.self_heads, 0, d.self_qkv_dim / d.self_heads});
    in["past_value_" + std::to_string(l)] = torch::zeros({B, d.self_heads, 0, d.self_qkv_dim / d.self_heads});
  }
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(5);
  auto tokens = torch::randint(4, v.super_options.tgt_vocab_size, {B, steps}, gen, torch::kLong);
  tokens.index_put_({torch::indexing::Slice(), 0}, 2);
  for (int t = 0; t < steps; ++t) {
    auto prev = tokens.narrow(1, t, 1).contiguous();
    auto ref = model->decode_step(prev, cache, v.config).squeeze(1);
    in["prev_token"] = prev;
    in["step"] = torch::tensor({static_cast<int64_t>(t)}, torch::kLong);
    auto out = dec.run(in);
    r.max_logit_diff = std::max(r.max_logit_diff, (out.at("logits") - ref).abs().max().item<double>());
    for (int l = 0; l < v.config.decoder_layer_num(); ++l) {
      const auto n = std::to_string(l);
      in["past_key_" + n] = out.at("present_key_" + n);
      in["past_value_" + n] = out.at("present_value_" + n);
    }
  }
  return r;
}

// Static mode, batch 1: each source row on its own, padded on the right to SRC_LEN, against
// libtorch on the unpadded sentence; TGT_LEN-capacity caches filled slot by slot.
double compare_static(SuperTransformer& model, const Variant& v, ExportDtype dtype, int64_t src_len, int64_t tgt_len) {
  torch::NoGradGuard no_grad;
  auto ex = export_onnx(*model, v.config, options(dtype, std::pair<int64_t, int64_t>{src_len, tgt_len}));
  Interpreter enc_graph(ex.encoder.graph()), dec_graph(ex.decoder.graph());
  const auto src = source_batch(v.super_options.src_vocab_size);
  double worst = 0;
  for (int64_t row = 0; row < src.size(0); ++row) {
    auto r = src[row];
    auto sentence = r.masked_select(r.ne(1)).unsqueeze(0);  // unpadded [1, len]
    auto padded = torch::full({1, src_len}, 1, torch::kLong);
    padded.narrow(1, 0, sentence.size(1)).copy_(sentence);
    auto cache = model->start_decoding(model->encode(sentence, v.config), v.config);
    auto in = enc_graph.run({{"src_tokens", padded}});
    for (int l = 0; l < v.config.decoder_layer_num(); ++l) {
      const auto& d = v.config.decoder_layers[l];
      for (const char* kv : {"past_key_", "past_value_"}) {
        in[kv + std::to_string(l)] = torch::zeros({1, d.self_heads, tgt_len, d.self_qkv_dim / d.self_heads});
      }
    }
    auto gen = torch::make_generator<torch::CPUGeneratorImpl>(17 + row);
    auto tokens = torch::randint(4, v.super_options.tgt_vocab_size, {1, tgt_len}, gen, torch::kLong);
    tokens.index_put_({0, 0}, 2);
    for (int64_t t = 0; t < tgt_len; ++t) {
      auto prev = tokens.narrow(1, t, 1).contiguous();
      auto ref = model->decode_step(prev, cache, v.config).squeeze(1);
      in["prev_token"] = prev;
      in["step"] = torch::tensor({t}, torch::kLong);
      auto out = dec_graph.run(in);
      worst = std::max(worst, (out.at("logits") - ref).abs().max().item<double>());
      for (int l = 0; l < v.config.decoder_layer_num(); ++l) {
        const auto n = std::to_string(l);
        in["past_key_" + n] = out.at("present_key_" + n);
        in["past_value_" + n] = out.at("present_value_" + n);
      }
    }
  }
  return worst;
}

TEST(ExportNumerics, DynamicGraphsComputeTheLibtorchModel) {
  for (const Variant& v : {shared_post_norm(), separate_pre_norm()}) {
    SCOPED_TRACE(v.name);
    auto model = standalone(v);
    auto r = compare_dynamic(model, v, ExportDtype::kFloat32, 6);
    EXPECT_EQ(r.max_mask_diff, 0.0);
    EXPECT_LE(r.max_cross_diff, 1e-5);
    EXPECT_LE(r.max_logit_diff, 1e-4);
  }
}

TEST(ExportNumerics, StaticGraphsComputeTheLibtorchModelOnPaddedInputs) {
  for (const Variant& v : {shared_post_norm(), separate_pre_norm()}) {
    SCOPED_TRACE(v.name);
    auto model = standalone(v);
    EXPECT_LE(compare_static(model, v, ExportDtype::kFloat32, 10, 5), 1e-4);
  }
}

TEST(ExportNumerics, Float16GraphsStayWithinHalfPrecision) {
  // Float16 weights and constants (arithmetic widened by the reference interpreter).
  const Variant v = shared_post_norm();
  auto model = standalone(v);
  auto r = compare_dynamic(model, v, ExportDtype::kFloat16, 4);
  EXPECT_LE(r.max_logit_diff, 1e-2);
  EXPECT_GT(r.max_logit_diff, 0.0);  // the weights really are rounded
  EXPECT_LE(compare_static(model, v, ExportDtype::kFloat16, 8, 4), 1e-2);
}

TEST(ExportGraphs, RejectsModelsThatAreNotStandaloneAndBadStaticLengths) {
  const Variant v = shared_post_norm();
  auto super = random_super(v.super_options, 3);
  EXPECT_NE(testing::invalid_argument_message([&] { export_onnx(*super, v.config, options(ExportDtype::kFloat32)); })
                .find("extract it first"),
            std::string::npos);
  auto model = standalone(v);
  EXPECT_NE(testing::invalid_argument_message([&] {
              export_onnx(*model, v.config, options(ExportDtype::kFloat32, std::pair<int64_t, int64_t>{65, 4}));
            }).find("max source positions 64"),
            std::string::npos);
  EXPECT_NE(testing::invalid_argument_message([&] {
              export_onnx(*model, v.config, options(ExportDtype::kFloat32, std::pair<int64_t, int64_t>{4, 0}));
            }).find(">= 1"),
            std::string::npos);
}

// ------------------------------------------------------------------ sidecar

TEST(ExportSidecarFile, RoundTripsAndNamesBadFields) {
  const Variant v = separate_pre_norm();
  auto model = standalone(v);
  const auto o = options(ExportDtype::kFloat16, std::pair<int64_t, int64_t>{12, 7});
  auto ex = export_onnx(*model, v.config, o);
  auto s = make_export_sidecar(model->options(), v.config, o, ex, "model.pt");
  EXPECT_EQ(s.mode, "static");
  EXPECT_EQ(s.dtype, "float16");
  EXPECT_EQ(s.src_vocab_size, 40);
  EXPECT_EQ(s.tgt_vocab_size, 36);
  EXPECT_EQ(s.decoder.inputs.front().name, "prev_token");
  EXPECT_EQ(s.decoder.outputs.front().dims, (std::vector<std::string>{"1", "36"}));
  const std::string dir = ::testing::TempDir() + "/thanos_export_sidecar_" + std::to_string(::getpid());
  fs::create_directories(dir);
  write_sidecar(dir + "/s.json", s);
  EXPECT_TRUE(read_sidecar(dir + "/s.json") == s);
  // The graph specs agree with the graphs' own inputs and outputs.
  ASSERT_EQ(static_cast<int>(s.decoder.inputs.size()), ex.decoder.graph().input_size());
  for (int i = 0; i < ex.decoder.graph().input_size(); ++i) {
    EXPECT_EQ(s.decoder.inputs[i].name, ex.decoder.graph().input(i).name());
  }

  const std::string text = sidecar_to_json(s);
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  EXPECT_NE(testing::invalid_argument_message([&] { sidecar_from_json(edited("\"version\": 1", "\"version\": 2"), "x.json"); })
                .find("x.json: field 'version' is 2"),
            std::string::npos);
  EXPECT_NE(testing::invalid_argument_message([&] {
              sidecar_from_json(edited("\"thanos.onnx-export\"", "\"other\""), "x.json");
            }).find("field 'format'"),
            std::string::npos);
  EXPECT_NE(testing::invalid_argument_message([&] { sidecar_from_json(edited("\"eos\": 2", "\"eos\": \"2\""), "x.json"); })
                .find("field 'special_ids.eos': expected an integer"),
            std::string::npos);
  EXPECT_NE(testing::invalid_argument_message([&] { sidecar_from_json(edited("\"dtype\": \"float16\"", "\"dtype\": \"int8\""), "x.json"); })
                .find("field 'dtype'"),
            std::string::npos);
  EXPECT_NE(testing::invalid_argument_message([&] { sidecar_from_json(edited("\"tgt_len\"", "\"tgt_length\""), "x.json"); })
                .find("missing field 'static.tgt_len'"),
            std::string::npos);
  EXPECT_NE(testing::invalid_argument_message([&] { sidecar_from_json("{", "x.json"); }).find("x.json: not JSON"),
            std::string::npos);
  // A graph file outside the export folder is refused (it once handed /etc/passwd to ONNX Runtime).
  for (const char* outside : {"/etc/passwd", "../../etc/passwd"}) {
    EXPECT_NE(testing::invalid_argument_message([&] {
                sidecar_from_json(edited("\"file\": \"encoder.onnx\"", std::string("\"file\": \"") + outside + "\""), "x.json");
              }).find("x.json: field 'graphs.encoder.file' is '" + std::string(outside) + "': expected a file name inside the export folder"),
              std::string::npos);
  }
  fs::remove_all(dir);
}

// ------------------------------------------------------------------ the command

class ExportCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/thanos_export_cmd_" + std::to_string(::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const Variant v = shared_post_norm();
    config_ = v.config;
    auto super = random_super(v.super_options, 9);
    ModelFileInfo info;
    info.options = v.super_options;
    save_model(dir_ + "/super.pt", *super, info);
    write_file_atomically(dir_ + "/sub.json", config_to_json(v.config).dump());
    auto sub = extract_subtransformer(*super, v.config);
    ModelFileInfo sub_info;
    sub_info.options = sub->options();
    sub_info.sub_config = v.config;
    save_model(dir_ + "/sub.pt", *sub, sub_info);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
  SubConfig config_;
};

TEST_F(ExportCommand, ExportsAStandaloneModelAndAnExtractedOneIdentically) {
  ExportCommandOptions a;
  a.checkpoint_path = dir_ + "/sub.pt";
  a.out_dir = dir_ + "/a";
  auto ra = run_export(a);
  EXPECT_FALSE(ra.extracted);
  ExportCommandOptions b = a;
  b.checkpoint_path = dir_ + "/super.pt";
  b.config_path = dir_ + "/sub.json";
  b.out_dir = dir_ + "/b";
  auto rb = run_export(b);
  EXPECT_TRUE(rb.extracted);
  EXPECT_EQ(ra.config, config_);
  for (const char* f : {kExportEncoderFile, kExportDecoderFile}) {
    auto ma = read_onnx_model(dir_ + "/a/" + f), mb = read_onnx_model(dir_ + "/b/" + f);
    check_onnx_model(ma, f);
    EXPECT_EQ(ma.SerializeAsString(), mb.SerializeAsString()) << f;
  }
  auto s = read_sidecar(ra.sidecar_path);
  EXPECT_EQ(s.mode, "dynamic");
  EXPECT_EQ(s.config, config_);
  EXPECT_EQ(s.encoder.file, "encoder.onnx");
  EXPECT_EQ(s.pad, 1);
  EXPECT_EQ(s.eos, 2);
  EXPECT_EQ(s.decoder_start_token, 2);
  // No temporary files left behind.
  for (const auto& e : fs::directory_iterator(dir_ + "/a")) EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos);
}

TEST_F(ExportCommand, BadInputsNameTheFileOrOption) {
  ExportCommandOptions o;
  o.checkpoint_path = dir_ + "/super.pt";
  o.out_dir = dir_ + "/out";
  EXPECT_NE(testing::invalid_argument_message([&] { run_export(o); }).find("--config"), std::string::npos);
  o.checkpoint_path = dir_ + "/missing.pt";
  EXPECT_NE(testing::invalid_argument_message([&] { run_export(o); }).find("missing.pt"), std::string::npos);
  o.checkpoint_path = dir_ + "/sub.pt";
  for (const char* bad : {"8", "8,", "a,4", "0,4", "4,5,6"}) {
    o.static_lengths = bad;
    EXPECT_NE(testing::invalid_argument_message([&] { run_export(o); }).find("--static"), std::string::npos) << bad;
  }
  o.static_lengths = "65,8";
  EXPECT_NE(testing::invalid_argument_message([&] { run_export(o); }).find("sub.pt"), std::string::npos);
  o.static_lengths.clear();
  o.dtype = "int8";
  EXPECT_NE(testing::invalid_argument_message([&] { run_export(o); }).find("--dtype"), std::string::npos);
  o.dtype = "float32";
  write_file_atomically(dir_ + "/file", "x");
  o.out_dir = dir_ + "/file";
  EXPECT_NE(testing::invalid_argument_message([&] { run_export(o); }).find("not a directory"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/out"));
}

TEST_F(ExportCommand, CliWritesStaticFloat16GraphsAndReportsErrors) {
  auto ok = testing::run_cli("export --checkpoint " + dir_ + "/super.pt --config " + dir_ + "/sub.json --out " + dir_ +
                             "/npu --static 16,12 --dtype float16");
  ASSERT_EQ(ok.code, 0) << ok.output;
  EXPECT_NE(ok.output.find("checked"), std::string::npos);
  auto s = read_sidecar(dir_ + "/npu/" + kExportSidecarFile);
  EXPECT_EQ(s.mode, "static");
  EXPECT_EQ(s.static_src_len, 16);
  EXPECT_EQ(s.static_tgt_len, 12);
  EXPECT_EQ(s.dtype, "float16");
  check_onnx_model(read_onnx_model(dir_ + "/npu/" + kExportDecoderFile), "decoder");
  auto bad = testing::run_cli("export --checkpoint " + dir_ + "/sub.pt --out " + dir_ + "/x --static 16x12");
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--static '16x12'"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace thanos
