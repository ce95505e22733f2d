#include "thanos/export/rknn_check.h"

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>

namespace thanos {

namespace {

RknnOpRule ok(const char* op, unsigned limits = kRknnNoLimit, const char* remark = "") {
  return RknnOpRule{op, true, limits, remark, "", "", "", ""};
}
RknnOpRule ok_values(const char* op, unsigned limits, const char* remark, const char* attribute,
                     const char* attribute_default, const char* attribute_allowed) {
  return RknnOpRule{op, true, limits | kRknnAttributeValues, remark, "", attribute, attribute_default, attribute_allowed};
}
RknnOpRule no(const char* op, const char* hint = "") { return RknnOpRule{op, false, kRknnNoLimit, "Not Supported", hint, "", "", ""}; }

}  // namespace

// The ONNX operators rknn-toolkit2 converts for the RK3588, with their remarks: every ai.onnx
// operator of airockchip/rknn-toolkit2's doc/RKNNToolKit2_OP_Support-v2.1.0.md ("ONNX OPs supported
// by RKNN Toolkit2", written against opset 19), as summarised in /work/shared/notes/rknn.md (which
// also cites the RKNN-Toolkit2 API Reference V2.3.0 for the opset range 12..19). An op type the
// list does not name is reported as "not known to be supported". The hints of unsupported operators
// are ours (docs/EXPORT.md explains how thanos export avoids each). Check against the toolkit
// version in use: later lists may support more.
const std::vector<RknnOpRule>& rknn_op_rules() {
  static const std::vector<RknnOpRule> rules = {
      no("Abs"), no("Acos"), no("Acosh"), ok("Add"), ok("And"), ok("ArgMax"), ok("ArgMin"), no("Asin"), no("Asinh"),
      no("Atan"), no("Atanh"), ok("AveragePool"), ok("BatchNormalization"), no("Bernoulli"), no("BitShift"),
      no("BitwiseAnd"), no("BitwiseNot"), no("BitwiseOr"), no("BitwiseXor"), no("BlackmanWindow"), ok("Cast"),
      no("CastLike", "Cast to the fixed type"), no("Ceil"), no("Celu"), no("CenterCropPad"), no("Col2Im"),
      no("Compress"), ok("Concat"), no("ConcatFromSequence"), ok("Constant"), ok("ConstantOfShape"), ok("Conv"),
      no("ConvInteger"), ok("ConvTranspose"), ok("Cos"), no("Cosh"),
      no("CumSum", "MatMul by a triangular matrix of ones (as thanos export counts positions)"), no("DeformConv"),
      ok("DepthToSpace"), ok("DequantizeLinear"), no("Det"), no("DFT"), ok("Div"), ok("Dropout"),
      no("DynamicQuantizeLinear"), no("Einsum", "MatMul with Transpose/Reshape"), ok("Elu"), ok("Equal"), ok("Erf"),
      ok("Exp"), ok("Expand"), ok("EyeLike", kRknnConstantInput, "only support constant input"), ok("Flatten"),
      ok("Floor"), ok("Gather"), ok("GatherElements"), no("GatherND", "Gather on a flattened tensor"), ok("Gemm"),
      ok("GlobalAveragePool"), no("GlobalLpPool"), ok("GlobalMaxPool"), ok("Greater"), ok("GreaterOrEqual"),
      no("GridSample"), no("GroupNormalization"), ok("GRU", kRknnBatch1, "batchsize: 1"), no("HammingWindow"),
      no("HannWindow"), no("Hardmax"), ok("HardSigmoid"), ok("HardSwish"), ok("Identity"),
      ok("If", kRknnConstantInput, "only support constant input"), ok("InstanceNormalization"), no("IsInf"),
      no("IsNaN"), ok("LayerNormalization"), ok("LeakyRelu"), ok("Less"), ok("LessOrEqual"), ok("Log"),
      ok("LogSoftmax", kRknnBatch1, "batchsize: 1"), no("Loop", "unroll it, or run the loop on the host"),
      ok("LpNormalization"), no("LpPool"), ok("LRN"), ok("LSTM"), ok("MatMul"), no("MatMulInteger"), ok("Max"),
      ok("MaxPool"), ok("MaxRoiPool"), ok("MaxUnpool"), no("Mean", "Add the inputs, then Mul by 1/n"),
      ok("MeanVarianceNormalization"), no("MelWeightMatrix"), ok("Min"), ok("Mish"), ok("Mod"), ok("Mul"),
      no("Multinomial"), no("Neg", "Mul by -1"), no("NegativeLogLikelihoodLoss"), no("NonMaxSuppression"),
      no("NonZero", "a fixed-size mask used with Where (NonZero's output size depends on the data)"),
      no("Not", "Equal with false"), no("OneHot", "Equal against a constant index vector, then Cast"), no("Optional"),
      no("OptionalGetElement"), no("OptionalHasElement"), no("Or", "Greater(Add(Cast(a), Cast(b)), 0)"), ok("Pad"),
      ok("Pow"), ok("PRelu"), no("QLinearConv"), no("QLinearMatMul"), ok("QuantizeLinear"), no("RandomNormal"),
      no("RandomNormalLike"), no("RandomUniform"), no("RandomUniformLike"),
      no("Range", "a constant initializer (Slice it when the length varies)"), no("Reciprocal", "Div of 1 by x"),
      no("ReduceL1"), no("ReduceL2"), no("ReduceLogSum"), no("ReduceLogSumExp"), ok("ReduceMax"), ok("ReduceMean"),
      ok("ReduceMin"), no("ReduceProd"), ok("ReduceSum"), no("ReduceSumSquare"), ok("Relu"), ok("Reshape"),
      ok_values("Resize", kRknnNoLimit, "mode: nearest2d/bilinear", "mode", "nearest", "nearest|linear"),
      ok("ReverseSequence"), no("RNN"),
      ok_values("RoiAlign", kRknnBatch1, "pool type: average; batchsize: 1", "mode", "avg", "avg"),
      no("Round", "Floor(x + 0.5) (rounds halves up, not to even), or round on the host"),
      no("Scan", "unroll it, or run the loop on the host"), no("ScatterElements", "Where with a mask, or ScatterND"),
      ok("ScatterND"), no("Selu"), no("SequenceAt"), no("SequenceConstruct"), no("SequenceEmpty"), no("SequenceErase"),
      no("SequenceInsert"), no("SequenceLength"), no("SequenceMap"), ok("Shape"), no("Shrink"), ok("Sigmoid"),
      no("Sign"), ok("Sin"), no("Sinh"), ok("Size"), ok("Slice", kRknnBatch1, "batchsize: 1"),
      ok("Softmax", kRknnBatch1, "batchsize: 1"), no("SoftmaxCrossEntropyLoss"), ok("Softplus"), no("Softsign"),
      ok("SpaceToDepth"), ok("Split"), no("SplitToSequence"), ok("Sqrt"), ok("Squeeze"), no("STFT"),
      no("StringNormalizer"), ok("Sub"), no("Sum", "a chain of Add"), no("Tan"), ok("Tanh"), no("TfIdfVectorizer"),
      no("ThresholdedRelu"), ok("Tile", kRknnBatch1 | kRknnNoBroadcast, "batchsize: 1; not support broadcast"),
      no("TopK", "select on the host (beam search runs there anyway)"), ok("Transpose"),
      no("Trilu", "a constant mask, or Where on compared index vectors"), no("Unique"), ok("Unsqueeze"), ok("Where"),
      no("Xor"),
  };
  return rules;
}

const RknnOpRule* find_rknn_op_rule(const std::string& op_type) {
  static const std::map<std::string, const RknnOpRule*> index = [] {
    std::map<std::string, const RknnOpRule*> m;
    for (const auto& r : rknn_op_rules()) m[r.op] = &r;
    return m;
  }();
  auto it = index.find(op_type);
  return it == index.end() ? nullptr : it->second;
}

std::string rknn_finding_kind_name(RknnFindingKind kind) {
  switch (kind) {
    case RknnFindingKind::kOperator: return "operator";
    case RknnFindingKind::kOpset: return "opset";
    case RknnFindingKind::kDtype: return "dtype";
    case RknnFindingKind::kDynamicShape: return "dynamic-shape";
    case RknnFindingKind::kBatch: return "batch";
    case RknnFindingKind::kBroadcast: return "broadcast";
    case RknnFindingKind::kConstantInput: return "constant-input";
    case RknnFindingKind::kAttribute: return "attribute";
  }
  return "unknown";
}

namespace {

bool is_default_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// Why an element type cannot go to the RK3588 NPU, or "" when it can. The NPU computes in
// int4/int8/int16/fp16 (notes: Hardware); the toolkit takes float32 models and converts them to
// fp16 or quantizes them (w8a8), and integer and bool tensors (ids, masks) pass. Types with no such
// path are findings: float64 (no 64-bit float arithmetic and no conversion the toolkit documents),
// bfloat16 (not an RK3588 NPU type), complex and string (no NPU representation at all).
std::string dtype_problem(int32_t t) {
  switch (t) {
    case onnx::TensorProto_DataType_UNDEFINED: return "has no element type";
    case onnx::TensorProto_DataType_DOUBLE:
      return "is float64: the RK3588 NPU computes in int8/int16/fp16 and rknn-toolkit2 has no float64 path (export "
             "float32 or float16)";
    case onnx::TensorProto_DataType_BFLOAT16:
      return "is bfloat16: the RK3588 NPU takes int4/int8/int16/fp16, not bfloat16 (export float32 or float16)";
    case onnx::TensorProto_DataType_COMPLEX64:
    case onnx::TensorProto_DataType_COMPLEX128: return "is complex: the NPU has no complex numbers";
    case onnx::TensorProto_DataType_STRING: return "is string: the NPU has no strings (tokenize on the host)";
    default: break;
  }
  if (t < 0 || t > onnx::TensorProto_DataType_DataType_MAX) {
    return "has element type " + std::to_string(t) +
           ", unknown to onnx 1.12 (a newer float8/int4 type?): not an RK3588 NPU type";
  }
  return "";
}

// onnx names dimensions it cannot relate to anything "unk__N"; they are unknown, not a user's symbol.
bool is_generated_symbol(const std::string& p) { return p.rfind("unk__", 0) == 0; }

std::string dim_text(const onnx::TensorShapeProto_Dimension& d) {
  if (d.has_dim_value()) return std::to_string(d.dim_value());
  if (d.has_dim_param() && !d.dim_param().empty() && !is_generated_symbol(d.dim_param())) return d.dim_param();
  return "?";
}

std::string shape_text(const onnx::TensorShapeProto& s) {
  std::string out = "[";
  for (int i = 0; i < s.dim_size(); ++i) out += (i ? "," : "") + dim_text(s.dim(i));
  return out + "]";
}

class Checker {
 public:
  explicit Checker(const onnx::ModelProto& model) : model_(model) {}

  RknnCheckReport run() {
    report_.graph = model_.graph().name();
    check_opset();
    infer_shapes();
    // Types from the inferred copy (which may lack nodes, see prune_for_inference); constants and
    // the nodes themselves from the model as given.
    collect_types(inferred_.graph());
    collect_constants(model_.graph());
    check_graph_io(inferred_.graph());
    check_nodes(model_.graph(), "");
    return std::move(report_);
  }

 private:
  void add(RknnFindingKind kind, const std::string& node, const std::string& op, const std::string& problem) {
    report_.findings.push_back({kind, node, op, problem});
  }

  void check_opset() {
    bool found = false;
    for (const auto& o : model_.opset_import()) {
      if (!is_default_domain(o.domain())) continue;  // custom domains: reported at the nodes that use them
      found = true;
      report_.opset = o.version();
    }
    if (!found) {
      add(RknnFindingKind::kOpset, "(model)", "opset_import",
          "imports no ai.onnx opset: rknn-toolkit2 converts ai.onnx opsets 12 to 19");
    } else if (report_.opset < kRknnMinOpset || report_.opset > kRknnMaxOpset) {
      add(RknnFindingKind::kOpset, "(model)", "opset_import",
          "ai.onnx opset " + std::to_string(report_.opset) + " is outside the 12 to 19 that rknn-toolkit2 converts" +
              (report_.opset < kRknnMinOpset ? " (re-export with opset 17)" : " (re-export with opset 17 to 19)"));
    }
  }

  // Shapes for the per-operator limits. Not strict and without type checks: the graph under check
  // may be anything (unknown or custom operators, opsets newer than onnx 1.12 knows), and every
  // shape onnx can infer is still useful; what it cannot infer stays unknown.
  void infer_shapes() {
    inferred_ = model_;
    std::map<std::string, int> opsets;
    for (const auto& o : model_.opset_import()) {
      opsets[is_default_domain(o.domain()) ? "" : o.domain()] = static_cast<int>(o.version());
    }
    std::vector<std::string> skipped;
    prune_for_inference(*inferred_.mutable_graph(), opsets, skipped);
    if (!skipped.empty()) {
      report_.shape_inference_error = "not inferred: " + skipped.front() +
                                      (skipped.size() > 1 ? " (and " + std::to_string(skipped.size() - 1) + " more)" : "");
    }
    try {
      onnx::ShapeInferenceOptions options(/*check_type=*/false, /*strict_mode=*/0, /*data_propagation=*/true);
      onnx::shape_inference::InferShapes(inferred_, onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception& e) {
      report_.shape_inference_error += (report_.shape_inference_error.empty() ? "" : "; ") + first_line(e.what());
      inferred_ = model_;
    }
  }

  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  // onnx 1.12's inference functions trust that a node matches its schema (Scan without a body
  // crashes it), which onnx's checker normally ensures; the checker cannot be run here (it refuses
  // opsets 18 and 19, which the toolkit takes). So every node that fails its schema's own
  // verification (inputs, outputs, attributes) is left out of the copy shape inference sees: its
  // outputs, and whatever depends on them, stay unknown. Subgraphs are pruned the same way.
  // So is a node with an input that nothing before it defines (a graph input, an initializer, an
  // earlier node's output, or a name of the enclosing graph for a subgraph): onnx 1.14's inference
  // dereferences the missing input's type (a SEGV found by fuzz/rknn_onnx; the checker would have
  // refused such a graph). `defined`: the names visible from the enclosing graphs.
  static void prune_for_inference(onnx::GraphProto& g, const std::map<std::string, int>& opsets,
                                  std::vector<std::string>& skipped, std::set<std::string> defined = {}) {
    for (const auto& v : g.input()) defined.insert(v.name());
    for (const auto& t : g.initializer()) defined.insert(t.name());
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (auto& n : *g.mutable_node()) {
      const auto undefined = std::find_if(n.input().begin(), n.input().end(),
                                          [&](const std::string& in) { return !in.empty() && defined.count(in) == 0; });
      if (undefined != n.input().end()) {
        skipped.push_back("'" + n.name() + "' (" + n.op_type() + "): input '" + *undefined + "' is not defined before it");
        continue;
      }
      const std::string domain = is_default_domain(n.domain()) ? "" : n.domain();
      auto it = opsets.find(domain);
      const onnx::OpSchema* schema =
          it == opsets.end() ? nullptr : onnx::OpSchemaRegistry::Schema(n.op_type(), it->second, domain);
      if (schema != nullptr) {
        try {
          schema->Verify(n);
        } catch (const std::exception& e) {
          skipped.push_back("'" + n.name() + "' (" + n.op_type() + "): " + first_line(e.what()));
          continue;
        }
      }
      for (auto& a : *n.mutable_attribute()) {
        if (a.has_g()) prune_for_inference(*a.mutable_g(), opsets, skipped, defined);
        for (auto& sub : *a.mutable_graphs()) prune_for_inference(sub, opsets, skipped, defined);
      }
      for (const auto& out : n.output()) defined.insert(out);
      kept.Add()->Swap(&n);
    }
    g.mutable_node()->Swap(&kept);
  }

  // Every value's type: graph inputs/outputs, value_info (subgraphs included: If/Loop bodies),
  // initializers.
  void collect_types(const onnx::GraphProto& g) {
    for (const auto& t : g.initializer()) {
      onnx::TypeProto type;
      type.mutable_tensor_type()->set_elem_type(t.data_type());
      auto* shape = type.mutable_tensor_type()->mutable_shape();
      for (auto d : t.dims()) shape->add_dim()->set_dim_value(d);
      types_[t.name()] = type;
    }
    for (const auto& v : g.input()) types_.emplace(v.name(), v.type());  // an initializer's own type wins
    for (const auto& v : g.value_info()) types_[v.name()] = v.type();
    for (const auto& v : g.output()) types_[v.name()] = v.type();
    for (const auto& n : g.node()) {
      for (const auto& a : n.attribute()) {
        if (a.has_g()) collect_types(a.g());
        for (const auto& sub : a.graphs()) collect_types(sub);
      }
    }
  }

  // Which values are constants (initializers, Constant outputs), with their tensors.
  void collect_constants(const onnx::GraphProto& g) {
    for (const auto& t : g.initializer()) constants_[t.name()] = &t;
    for (const auto& n : g.node()) {
      if (n.op_type() == "Constant" && is_default_domain(n.domain()) && n.output_size() == 1) {
        for (const auto& a : n.attribute()) {
          if (a.name() == "value" && a.has_t()) constants_[n.output(0)] = &a.t();
        }
        if (!constants_.count(n.output(0))) constants_[n.output(0)] = nullptr;  // constant, value not a tensor
      }
      for (const auto& a : n.attribute()) {
        if (a.has_g()) collect_constants(a.g());
        for (const auto& sub : a.graphs()) collect_constants(sub);
      }
    }
  }

  void check_value_dtype(const std::string& name, const char* what, const onnx::TypeProto& type) {
    if (!type.has_tensor_type()) {
      add(RknnFindingKind::kDtype, name, what,
          "is not a tensor (a sequence, map or optional): the NPU takes tensors only");
      return;
    }
    const std::string p = dtype_problem(type.tensor_type().elem_type());
    if (!p.empty()) add(RknnFindingKind::kDtype, name, what, p);
  }

  // Static shapes only: the toolkit compiles one shape (its "dynamic input" mode is experimental,
  // a finite list of shape sets chosen at conversion).
  void check_value_shape(const std::string& name, const char* what, const onnx::TypeProto& type) {
    if (!type.has_tensor_type()) return;  // reported as a dtype finding
    const auto& tt = type.tensor_type();
    if (!tt.has_shape()) {
      add(RknnFindingKind::kDynamicShape, name, what,
          "has no declared shape (not even its rank): rknn-toolkit2 needs static shapes");
      return;
    }
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      if (d.has_dim_value() && d.dim_value() >= 0) continue;
      const std::string why = d.has_dim_param() && !d.dim_param().empty() && !is_generated_symbol(d.dim_param())
                                  ? "is symbolic '" + d.dim_param() + "'"
                                  : "has no fixed size";
      add(RknnFindingKind::kDynamicShape, name, what,
          "axis " + std::to_string(i) + " " + why + " (shape " + shape_text(tt.shape()) +
              "): rknn-toolkit2 needs static shapes (export with fixed sizes, e.g. thanos export --static)");
    }
  }

  void check_graph_io(const onnx::GraphProto& g) {
    std::set<std::string> initializers;
    for (const auto& t : g.initializer()) {
      initializers.insert(t.name());
      const std::string p = dtype_problem(t.data_type());
      if (!p.empty()) add(RknnFindingKind::kDtype, t.name(), "initializer", p);
    }
    for (const auto& v : g.input()) {
      if (initializers.count(v.name())) continue;  // an initializer listed as input (IR < 4): checked above
      check_value_dtype(v.name(), "input", v.type());
      check_value_shape(v.name(), "input", v.type());
    }
    for (const auto& v : g.output()) {
      check_value_dtype(v.name(), "output", v.type());
      check_value_shape(v.name(), "output", v.type());
    }
  }

  static std::string node_label(const onnx::NodeProto& n, int index, const std::string& subgraph) {
    if (!n.name().empty()) return n.name();
    return "(node " + std::to_string(index) + (subgraph.empty() ? "" : " of " + subgraph) + ")";
  }

  const onnx::TensorShapeProto* shape_of(const std::string& value) const {
    auto it = types_.find(value);
    if (it == types_.end() || !it->second.has_tensor_type() || !it->second.tensor_type().has_shape()) return nullptr;
    return &it->second.tensor_type().shape();
  }

  // The int64 values of a constant (initializer or Constant node), when they can be read here.
  std::optional<std::vector<int64_t>> constant_ints(const std::string& value) const {
    auto it = constants_.find(value);
    if (it == constants_.end() || it->second == nullptr) return std::nullopt;
    const onnx::TensorProto& t = *it->second;
    if (t.data_type() != onnx::TensorProto_DataType_INT64) return std::nullopt;
    if (t.int64_data_size() > 0) return std::vector<int64_t>(t.int64_data().begin(), t.int64_data().end());
    if (t.has_raw_data() && t.raw_data().size() % sizeof(int64_t) == 0) {
      std::vector<int64_t> v(t.raw_data().size() / sizeof(int64_t));
      std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());  // little-endian, as ONNX stores it
      return v;
    }
    return std::nullopt;
  }

  static const onnx::AttributeProto* attribute(const onnx::NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }

  // "batchsize: 1": the input's batch axis must be 1. The batch axis is the leading one, except for
  // GRU, whose default layout (0) is [seq_length, batch, input_size]. A rank-1 input's only axis is
  // its leading one (the list defines no other meaning of batch).
  void check_batch1(const onnx::NodeProto& n, const RknnOpRule& rule, const std::string& label) {
    if (n.input_size() == 0 || n.input(0).empty()) return;
    int64_t axis = 0;
    if (n.op_type() == "GRU") {
      const auto* layout = attribute(n, "layout");
      axis = layout && layout->i() == 1 ? 0 : 1;
    }
    const std::string& x = n.input(0);
    const std::string why = ": rknn-toolkit2 runs " + n.op_type() + " at batch 1 only (its list: \"" + rule.remark + "\")";
    const auto* s = shape_of(x);
    if (s == nullptr) {
      add(RknnFindingKind::kBatch, label, n.op_type(),
          "the shape of input '" + x + "' is unknown (onnx shape inference could not infer it), so batch 1 cannot be "
          "confirmed" + why);
      return;
    }
    if (s->dim_size() <= axis) return;  // a scalar has no batch
    const auto& d = s->dim(static_cast<int>(axis));
    if (d.has_dim_value() && d.dim_value() <= 1) return;
    const std::string dim = d.has_dim_value() ? std::to_string(d.dim_value())
                            : d.has_dim_param() && !d.dim_param().empty() && !is_generated_symbol(d.dim_param())
                                ? "symbolic '" + d.dim_param() + "'"
                                : "unknown";
    add(RknnFindingKind::kBatch, label, n.op_type(),
        "input '" + x + "' has batch dimension (axis " + std::to_string(axis) + ") " + dim + ", shape " +
            shape_text(*s) + why);
  }

  // Tile: "batchsize: 1; not support broadcast". What a static check can establish: the repeats
  // are a constant (computed repeats make the output shape data-dependent, and nothing below can
  // be checked); they do not repeat the batch axis (the output would have batch > 1); and there is
  // one repeat per input axis (anything else would broadcast ranks; onnx itself requires it).
  // Tiling an axis of size 1 (what Expand does by broadcasting) is not reported: the list does not
  // say the toolkit refuses it.
  void check_tile(const onnx::NodeProto& n, const std::string& label) {
    if (n.input_size() < 2) return;
    const auto repeats = constant_ints(n.input(1));
    if (!repeats) {
      add(RknnFindingKind::kBroadcast, label, n.op_type(),
          "repeats '" + n.input(1) + "' are computed in the graph, not a constant: whether Tile broadcasts or "
          "repeats the batch cannot be checked, and its output shape is not static");
      return;
    }
    if (const auto* s = shape_of(n.input(0)); s != nullptr && s->dim_size() != static_cast<int>(repeats->size())) {
      add(RknnFindingKind::kBroadcast, label, n.op_type(),
          std::to_string(repeats->size()) + " repeats for a rank-" + std::to_string(s->dim_size()) +
              " input: a broadcast, which rknn-toolkit2 does not support for Tile (its list: \"not support "
              "broadcast\")");
    }
    if (!repeats->empty() && (*repeats)[0] > 1) {
      add(RknnFindingKind::kBatch, label, n.op_type(),
          "repeats the batch axis " + std::to_string((*repeats)[0]) +
              " times: the output has batch > 1, and rknn-toolkit2 runs Tile at batch 1 only");
    }
  }

  void check_constant_input(const onnx::NodeProto& n, const RknnOpRule& rule, const std::string& label) {
    if (n.input_size() == 0 || constants_.count(n.input(0))) return;
    add(RknnFindingKind::kConstantInput, label, n.op_type(),
        "input '" + n.input(0) + "' is computed in the graph: rknn-toolkit2 takes " + n.op_type() +
            " with a constant input only (its list: \"" + rule.remark + "\")");
  }

  void check_attribute_values(const onnx::NodeProto& n, const RknnOpRule& rule, const std::string& label) {
    const auto* a = attribute(n, rule.attribute);
    const std::string value = a ? a->s() : rule.attribute_default;
    const std::string allowed = std::string("|") + rule.attribute_allowed + "|";
    if (allowed.find("|" + value + "|") != std::string::npos) return;
    std::string list = rule.attribute_allowed;
    std::replace(list.begin(), list.end(), '|', ',');
    add(RknnFindingKind::kAttribute, label, n.op_type(),
        std::string(rule.attribute) + " '" + value + "' is not one rknn-toolkit2 converts (" + list + "; its list: \"" +
            rule.remark + "\")");
  }

  // Element types a node creates: Cast's `to`, a Constant's value.
  void check_node_dtypes(const onnx::NodeProto& n, const std::string& label) {
    if (n.op_type() == "Cast") {
      if (const auto* to = attribute(n, "to")) {
        const std::string p = dtype_problem(static_cast<int32_t>(to->i()));
        if (!p.empty()) add(RknnFindingKind::kDtype, label, n.op_type(), "its output " + p);
      }
    } else if (n.op_type() == "Constant") {
      if (const auto* v = attribute(n, "value"); v && v->has_t()) {
        const std::string p = dtype_problem(v->t().data_type());
        if (!p.empty()) add(RknnFindingKind::kDtype, label, n.op_type(), "its value " + p);
      }
    }
  }

  void check_nodes(const onnx::GraphProto& g, const std::string& subgraph) {
    for (int i = 0; i < g.node_size(); ++i) {
      const onnx::NodeProto& n = g.node(i);
      ++report_.nodes;
      const std::string label = node_label(n, i, subgraph);
      if (!is_default_domain(n.domain())) {
        add(RknnFindingKind::kOperator, label, n.domain() + "." + n.op_type(),
            "operator of domain '" + n.domain() + "', not ai.onnx: rknn-toolkit2 converts it only as a custom "
            "operator registered with the toolkit");
      } else if (const RknnOpRule* rule = find_rknn_op_rule(n.op_type()); rule == nullptr) {
        add(RknnFindingKind::kOperator, label, n.op_type(),
            n.op_type() + " is not in rknn-toolkit2's ONNX operator list (v2.1.0): not known to be supported");
      } else if (!rule->supported) {
        add(RknnFindingKind::kOperator, label, n.op_type(),
            n.op_type() + " is not supported by rknn-toolkit2 (its ONNX operator list v2.1.0: \"Not Supported\")" +
                (*rule->hint ? std::string("; use ") + rule->hint + " instead" : std::string()));
      } else {
        if (rule->limits & kRknnBatch1) check_batch1(n, *rule, label);
        if (rule->limits & kRknnNoBroadcast) check_tile(n, label);
        if (rule->limits & kRknnConstantInput) check_constant_input(n, *rule, label);
        if (rule->limits & kRknnAttributeValues) check_attribute_values(n, *rule, label);
      }
      if (is_default_domain(n.domain())) check_node_dtypes(n, label);
      for (const auto& a : n.attribute()) {
        const std::string where = label + "." + a.name();
        if (a.has_g()) check_nodes(a.g(), where);
        for (const auto& sub : a.graphs()) check_nodes(sub, where);
      }
    }
  }

  const onnx::ModelProto& model_;
  onnx::ModelProto inferred_;
  RknnCheckReport report_;
  std::map<std::string, onnx::TypeProto> types_;
  std::map<std::string, const onnx::TensorProto*> constants_;  // nullptr: a constant whose value is not a tensor
};

std::string file_or_graph(const RknnCheckReport& r) {
  return !r.file.empty() ? r.file : !r.graph.empty() ? r.graph : std::string("(model)");
}

}  // namespace

RknnCheckReport rknn_check(const onnx::ModelProto& model) { return Checker(model).run(); }

RknnCheckReport rknn_check_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(path + ": cannot open");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) throw std::invalid_argument(path + ": not an ONNX model (protobuf parse failed)");
  // An empty or unrelated file can parse as an empty message: a model has a graph.
  if (!model.has_graph()) throw std::invalid_argument(path + ": not an ONNX model (no graph)");
  RknnCheckReport r = rknn_check(model);
  r.file = path;
  return r;
}

int rknn_check_exit_code(const std::vector<RknnCheckReport>& reports, const std::vector<std::string>& errors) {
  if (!errors.empty()) return 2;
  for (const auto& r : reports) {
    if (!r.clean()) return 1;
  }
  return 0;
}

std::string format_rknn_report_table(const std::vector<RknnCheckReport>& reports, const std::vector<std::string>& errors) {
  struct Row {
    std::string file, node, op, problem;
  };
  std::vector<Row> rows;
  std::size_t findings = 0, dirty = 0;
  for (const auto& r : reports) {
    for (const auto& f : r.findings) rows.push_back({file_or_graph(r), f.node, f.op, f.problem});
    findings += r.findings.size();
    dirty += r.clean() ? 0 : 1;
  }
  std::ostringstream out;
  if (!rows.empty()) {
    // Columns as wide as their longest entry, capped so that a long node name does not push the
    // problem off the screen (longer entries simply overflow their column).
    std::size_t wf = 4, wn = 4, wo = 2;
    for (const auto& row : rows) {
      wf = std::max(wf, std::min<std::size_t>(row.file.size(), 40));
      wn = std::max(wn, std::min<std::size_t>(row.node.size(), 32));
      wo = std::max(wo, std::min<std::size_t>(row.op.size(), 20));
    }
    auto pad = [](const std::string& s, std::size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); };
    out << pad("FILE", wf) << "  " << pad("NODE", wn) << "  " << pad("OP", wo) << "  PROBLEM\n";
    for (const auto& row : rows) {
      out << pad(row.file, wf) << "  " << pad(row.node, wn) << "  " << pad(row.op, wo) << "  " << row.problem << "\n";
    }
  }
  for (const auto& r : reports) {
    out << file_or_graph(r) << ": " << r.nodes << " nodes, ai.onnx opset " << r.opset << ", " << r.findings.size()
        << (r.findings.size() == 1 ? " finding" : " findings") << "\n";
    if (!r.shape_inference_error.empty()) {
      out << file_or_graph(r) << ": note: onnx shape inference incomplete: " << r.shape_inference_error << "\n";
    }
  }
  for (const auto& e : errors) out << "error: " << e << "\n";
  const std::size_t files = reports.size() + errors.size();
  out << "verdict: ";
  if (!errors.empty()) {
    out << "ERROR: " << errors.size() << " of " << files << (files == 1 ? " file" : " files") << " could not be read";
    if (findings) out << "; " << findings << " findings in the others";
    out << "\n";
  } else if (findings) {
    out << "NOT READY for the RK3588: " << findings << (findings == 1 ? " finding" : " findings") << " in " << dirty
        << " of " << files << (files == 1 ? " graph" : " graphs") << "\n";
  } else {
    out << "OK: no findings in " << files << (files == 1 ? " graph" : " graphs")
        << " (a static check: rknn-toolkit2 may still refuse a graph or run parts of it on the CPU)\n";
  }
  return out.str();
}

std::string format_rknn_report_json(const std::vector<RknnCheckReport>& reports, const std::vector<std::string>& errors) {
  using Json = nlohmann::ordered_json;
  const int code = rknn_check_exit_code(reports, errors);
  Json j;
  j["format"] = "thanos.rknn-check";
  j["version"] = 1;
  j["reference"] = "rknn-toolkit2 ONNX operator list v2.1.0; ai.onnx opsets " + std::to_string(kRknnMinOpset) + " to " +
                   std::to_string(kRknnMaxOpset);
  j["verdict"] = code == 0 ? "clean" : code == 1 ? "findings" : "error";
  j["exit_code"] = code;
  Json files = Json::array();
  for (const auto& r : reports) {
    Json f;
    f["file"] = r.file;
    f["graph"] = r.graph;
    f["opset"] = r.opset;
    f["nodes"] = r.nodes;
    if (!r.shape_inference_error.empty()) f["shape_inference_error"] = r.shape_inference_error;
    Json list = Json::array();
    for (const auto& x : r.findings) {
      list.push_back({{"kind", rknn_finding_kind_name(x.kind)}, {"node", x.node}, {"op", x.op}, {"problem", x.problem}});
    }
    f["findings"] = list;
    files.push_back(f);
  }
  j["files"] = files;
  j["errors"] = errors;
  // Names come from the graph (any bytes): bytes that are not UTF-8 become U+FFFD, so that the
  // report is still JSON (dump() threw type_error.316 and `rknn-check --json` printed nothing).
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace thanos
