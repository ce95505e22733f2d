// thanos rknn-check (docs/EXPORT.md): deliberately bad graphs built with the onnx protobuf classes
// are reported by node, op and reason (every operator the RKNN notes list as unsupported, opsets
// outside 12..19, dynamic dimensions, batch > 1 for batch-1 operators, ...); our own static exports
// have no finding and the dynamic ones only the findings dynamic shapes imply; the CLI's table,
// JSON and exit codes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "export_test_util.h"
#include "test_util.h"
#include "thanos/common/text.h"
#include "thanos/export/onnx_export.h"
#include "thanos/export/onnx_graph_builder.h"
#include "thanos/export/rknn_check.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;

constexpr int32_t kF32 = onnx::TensorProto_DataType_FLOAT;
constexpr int32_t kI64 = onnx::TensorProto_DataType_INT64;

// An empty model importing ai.onnx `opset`, IR version 8, its graph named "tiny".
onnx::ModelProto empty_model(int64_t opset = 17) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  m.mutable_graph()->set_name("tiny");
  return m;
}

std::vector<OnnxDim> dims(std::initializer_list<int64_t> values) {
  std::vector<OnnxDim> d;
  for (auto v : values) d.push_back(OnnxDim::fixed(v));
  return d;
}

// x [shape] -> op -> y [shape]; the node is named after its output `y_name`.
onnx::ModelProto one_op_model(const std::string& op, const std::vector<OnnxDim>& shape, int64_t opset = 17,
                              const std::string& y_name = "y", const std::map<std::string, OnnxAttribute>& attrs = {}) {
  onnx::ModelProto m = empty_model(opset);
  OnnxGraphBuilder b(m.mutable_graph());
  b.input("x", kF32, shape);
  b.op_into(op, {"x"}, y_name, attrs);
  b.output(y_name, kF32, shape);
  return m;
}

std::vector<RknnFinding> of_kind(const RknnCheckReport& r, RknnFindingKind kind) {
  std::vector<RknnFinding> out;
  for (const auto& f : r.findings) {
    if (f.kind == kind) out.push_back(f);
  }
  return out;
}

std::string describe(const RknnCheckReport& r) { return format_rknn_report_table({r}); }

// ------------------------------------------------------------------ the operator table

TEST(RknnCheckRules, TableFollowsTheNotes) {
  // /work/shared/notes/rknn.md, "Shapes and operators".
  for (const char* op : {"MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Erf",
                         "LayerNormalization", "Softmax", "LogSoftmax", "Gather", "GatherElements", "Reshape",
                         "Transpose", "Concat", "Split", "Squeeze", "Unsqueeze", "Expand", "Slice", "Where", "Equal",
                         "Greater", "Less", "Cast", "ConstantOfShape", "Shape", "ReduceMean", "ReduceSum", "ReduceMax",
                         "ArgMax", "Relu", "Sigmoid", "Tanh", "Tile"}) {
    const RknnOpRule* r = find_rknn_op_rule(op);
    ASSERT_NE(r, nullptr) << op;
    EXPECT_TRUE(r->supported) << op;
  }
  for (const char* op : {"Softmax", "LogSoftmax", "Slice", "Tile"}) {
    EXPECT_TRUE(find_rknn_op_rule(op)->limits & kRknnBatch1) << op;
  }
  EXPECT_TRUE(find_rknn_op_rule("Tile")->limits & kRknnNoBroadcast);
  for (const char* op : {"TopK", "Range", "CumSum", "Trilu", "Loop", "Scan", "NonZero", "Not", "Or", "Neg",
                         "Reciprocal", "Mean", "Einsum", "OneHot", "GatherND", "ScatterElements", "Round", "Sum"}) {
    const RknnOpRule* r = find_rknn_op_rule(op);
    ASSERT_NE(r, nullptr) << op;
    EXPECT_FALSE(r->supported) << op;
    EXPECT_NE(std::string(r->hint), "") << op << ": unsupported operators of the notes say what to use instead";
  }
  EXPECT_EQ(find_rknn_op_rule("Gelu"), nullptr);  // opset 20: not in the v2.1.0 list
  std::set<std::string> names;
  for (const auto& r : rknn_op_rules()) EXPECT_TRUE(names.insert(r.op).second) << "listed twice: " << r.op;
}

// ------------------------------------------------------------------ deliberately bad graphs

TEST(RknnCheckGraphs, EveryUnsupportedOperatorOfTheNotesIsReportedByName) {
  for (const char* op : {"TopK", "Range", "CumSum", "Trilu", "Loop", "Scan", "NonZero", "Not", "Or", "Neg",
                         "Reciprocal", "Mean", "Einsum", "OneHot", "GatherND", "ScatterElements", "Round", "Sum"}) {
    SCOPED_TRACE(op);
    const std::string node = std::string("bad_") + op;
    const auto r = rknn_check(one_op_model(op, dims({1, 8}), 17, node));
    ASSERT_EQ(r.findings.size(), 1u) << describe(r);
    const RknnFinding& f = r.findings[0];
    EXPECT_EQ(f.kind, RknnFindingKind::kOperator);
    EXPECT_EQ(f.node, node);
    EXPECT_EQ(f.op, op);
    EXPECT_NE(f.problem.find("not supported by rknn-toolkit2"), std::string::npos) << f.problem;
    EXPECT_NE(f.problem.find("instead"), std::string::npos) << f.problem;
    EXPECT_NE(format_rknn_report_table({r}).find(node), std::string::npos);
  }
}

TEST(RknnCheckGraphs, ANodeNameThatIsNotUtf8StillGivesAJsonReport) {
  // Found by fuzz/rknn_onnx: dump() threw nlohmann's type_error.316 on the name's bytes, and
  // `rknn-check --json` printed nothing. (fuzz/regressions/rknn_onnx/node-name-not-utf8.onnx)
  const std::string node = "bad_\x92\xff_TopK";
  const auto r = rknn_check(one_op_model("TopK", dims({1, 8}), 17, node));
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  const auto j = nlohmann::json::parse(format_rknn_report_json({r}));
  EXPECT_EQ(j["files"][0]["findings"][0]["node"], "bad_\xEF\xBF\xBD\xEF\xBF\xBD_TopK");  // U+FFFD twice
}

TEST(RknnCheckGraphs, ANodeReadingAnUndefinedValueIsLeftOutOfShapeInference) {
  // Found by fuzz/rknn_onnx: onnx's shape inference dereferenced the type of an input that nothing
  // defines (SEGV). (fuzz/regressions/rknn_onnx/undefined-node-input-segv.onnx)
  onnx::ModelProto m = one_op_model("Gather", dims({1, 8}));
  m.mutable_graph()->mutable_input(0)->set_name("x_renamed");
  const auto r = rknn_check(m);
  EXPECT_NE(r.shape_inference_error.find("'y' (Gather): input 'x' is not defined before it"), std::string::npos)
      << r.shape_inference_error;
  EXPECT_EQ(r.nodes, 1);
}

TEST(RknnCheckGraphs, OperatorsOutsideTheListAndCustomDomainsAreReported) {
  auto r = rknn_check(one_op_model("Gelu", dims({1, 8})));
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].op, "Gelu");
  EXPECT_NE(r.findings[0].problem.find("not known to be supported"), std::string::npos);

  auto m = one_op_model("FusedMatMul", dims({1, 8}));
  m.mutable_graph()->mutable_node(0)->set_domain("com.microsoft");
  auto* o = m.add_opset_import();
  o->set_domain("com.microsoft");
  o->set_version(1);
  r = rknn_check(m);
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].kind, RknnFindingKind::kOperator);
  EXPECT_EQ(r.findings[0].op, "com.microsoft.FusedMatMul");
  EXPECT_NE(r.findings[0].problem.find("custom"), std::string::npos);
  EXPECT_EQ(r.opset, 17);  // the custom domain's import does not replace ai.onnx's
}

TEST(RknnCheckGraphs, OpsetsOutside12To19AreReported) {
  for (int64_t opset : {11, 20}) {
    const auto r = rknn_check(one_op_model("Relu", dims({1, 8}), opset));
    EXPECT_EQ(r.opset, opset);
    ASSERT_EQ(r.findings.size(), 1u) << describe(r);
    EXPECT_EQ(r.findings[0].kind, RknnFindingKind::kOpset);
    EXPECT_EQ(r.findings[0].node, "(model)");
    EXPECT_NE(r.findings[0].problem.find("opset " + std::to_string(opset)), std::string::npos) << r.findings[0].problem;
  }
  for (int64_t opset : {12, 17, 19}) EXPECT_TRUE(rknn_check(one_op_model("Relu", dims({1, 8}), opset)).clean()) << opset;
  auto m = one_op_model("Relu", dims({1, 8}));
  m.clear_opset_import();
  const auto r = rknn_check(m);
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].kind, RknnFindingKind::kOpset);
}

TEST(RknnCheckGraphs, DynamicDimensionsNameTheInputAndTheAxis) {
  onnx::ModelProto m = empty_model();
  OnnxGraphBuilder b(m.mutable_graph());
  b.input("tokens", kF32, {OnnxDim::fixed(1), OnnxDim::named("seq")});
  b.op_into("Relu", {"tokens"}, "y");
  b.output("y", kF32, dims({1, 8}));
  // An input with no shape at all, and one with an unnamed unknown dimension.
  auto* shapeless = m.mutable_graph()->add_input();
  shapeless->set_name("free");
  shapeless->mutable_type()->mutable_tensor_type()->set_elem_type(kF32);
  auto* unknown = m.mutable_graph()->add_input();
  unknown->set_name("half_known");
  unknown->mutable_type()->mutable_tensor_type()->set_elem_type(kF32);
  unknown->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(1);
  unknown->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim();
  const auto r = rknn_check(m);
  const auto dynamic = of_kind(r, RknnFindingKind::kDynamicShape);
  ASSERT_EQ(dynamic.size(), 3u) << describe(r);
  EXPECT_EQ(r.findings.size(), 3u) << describe(r);
  EXPECT_EQ(dynamic[0].node, "tokens");
  EXPECT_EQ(dynamic[0].op, "input");
  EXPECT_NE(dynamic[0].problem.find("axis 1 is symbolic 'seq'"), std::string::npos) << dynamic[0].problem;
  EXPECT_EQ(dynamic[1].node, "free");
  EXPECT_NE(dynamic[1].problem.find("no declared shape"), std::string::npos) << dynamic[1].problem;
  EXPECT_EQ(dynamic[2].node, "half_known");
  EXPECT_NE(dynamic[2].problem.find("axis 1 has no fixed size"), std::string::npos) << dynamic[2].problem;
}

TEST(RknnCheckGraphs, SoftmaxAtBatch4IsReportedAndAtBatch1IsNot) {
  auto r = rknn_check(one_op_model("Softmax", dims({4, 10}), 17, "probs", {{"axis", int64_t{-1}}}));
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].kind, RknnFindingKind::kBatch);
  EXPECT_EQ(r.findings[0].node, "probs");
  EXPECT_EQ(r.findings[0].op, "Softmax");
  EXPECT_NE(r.findings[0].problem.find("batch dimension (axis 0) 4, shape [4,10]"), std::string::npos)
      << r.findings[0].problem;
  EXPECT_NE(r.findings[0].problem.find("batch 1 only"), std::string::npos);

  r = rknn_check(one_op_model("Softmax", dims({1, 10}), 17, "probs", {{"axis", int64_t{-1}}}));
  EXPECT_TRUE(r.clean()) << describe(r);
  EXPECT_TRUE(r.shape_inference_error.empty()) << r.shape_inference_error;

  // The shape comes from shape inference: a batch-3 intermediate value before LogSoftmax.
  onnx::ModelProto m = empty_model();
  OnnxGraphBuilder b(m.mutable_graph());
  b.input("x", kF32, dims({1, 12}));
  auto rows = b.op("Reshape", {"x", b.const_i64("shape", {3, 4})}, "rows");
  auto lp = b.op("LogSoftmax", {rows}, "logp", {{"axis", int64_t{-1}}});
  b.op_into("Reshape", {lp, b.const_i64("back", {1, 12})}, "y");
  b.output("y", kF32, dims({1, 12}));
  r = rknn_check(m);
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].node, "logp");
  EXPECT_NE(r.findings[0].problem.find("[3,4]"), std::string::npos) << r.findings[0].problem;
}

TEST(RknnCheckGraphs, TileRepeatingTheBatchOrWithComputedRepeatsIsReported) {
  auto tile = [](bool constant_repeats, std::vector<int64_t> repeats) {
    onnx::ModelProto m = empty_model();
    OnnxGraphBuilder b(m.mutable_graph());
    b.input("x", kF32, dims({1, 8}));
    std::string r;
    if (constant_repeats) {
      r = b.const_i64("repeats", repeats);
    } else {
      r = b.input("repeats", kI64, dims({2}));
    }
    b.op_into("Tile", {"x", r}, "tiled");
    b.output("tiled", kF32, dims({repeats[0], 8 * repeats[1]}));
    return rknn_check(m);
  };
  EXPECT_TRUE(tile(true, {1, 3}).clean()) << describe(tile(true, {1, 3}));
  auto r = tile(true, {2, 1});
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].kind, RknnFindingKind::kBatch);
  EXPECT_EQ(r.findings[0].node, "tiled");
  r = tile(false, {1, 1});
  ASSERT_EQ(of_kind(r, RknnFindingKind::kBroadcast).size(), 1u) << describe(r);
  EXPECT_NE(of_kind(r, RknnFindingKind::kBroadcast)[0].problem.find("not a constant"), std::string::npos);
}

TEST(RknnCheckGraphs, DtypesAttributesAndConstantInputs) {
  // float64 input and initializer, a Cast to float64.
  onnx::ModelProto m = empty_model();
  OnnxGraphBuilder b(m.mutable_graph());
  b.input("x", onnx::TensorProto_DataType_DOUBLE, dims({1, 4}));
  const double w[4] = {1, 2, 3, 4};
  b.initializer("w", onnx::TensorProto_DataType_DOUBLE, {1, 4}, w, sizeof(w));
  auto s = b.op("Add", {"x", "w"}, "sum");
  auto c = b.op("Cast", {s}, "as_double", {{"to", int64_t{onnx::TensorProto_DataType_DOUBLE}}});
  b.op_into("Cast", {c}, "y", {{"to", int64_t{kF32}}});
  b.output("y", kF32, dims({1, 4}));
  auto r = rknn_check(m);
  const auto dt = of_kind(r, RknnFindingKind::kDtype);
  ASSERT_EQ(dt.size(), 3u) << describe(r);
  EXPECT_EQ(r.findings.size(), 3u) << describe(r);
  std::set<std::pair<std::string, std::string>> where;
  for (const auto& f : dt) {
    where.insert({f.node, f.op});
    EXPECT_NE(f.problem.find("float64"), std::string::npos) << f.problem;
  }
  EXPECT_EQ(where, (std::set<std::pair<std::string, std::string>>{
                       {"x", "input"}, {"w", "initializer"}, {"as_double", "Cast"}}));

  // Resize: cubic is outside "nearest2d/bilinear".
  onnx::ModelProto rs = empty_model();
  OnnxGraphBuilder rb(rs.mutable_graph());
  rb.input("img", kF32, dims({1, 3, 4, 4}));
  auto scales = rb.const_float("scales", kF32, {1, 1, 2, 2}, {4});
  rb.op_into("Resize", {"img", "", scales}, "big");
  rb.output("big", kF32, dims({1, 3, 8, 8}));
  EXPECT_TRUE(rknn_check(rs).clean()) << describe(rknn_check(rs));  // default mode nearest
  auto* mode = rs.mutable_graph()->mutable_node(0)->add_attribute();
  mode->set_name("mode");
  mode->set_type(onnx::AttributeProto_AttributeType_STRING);
  mode->set_s("cubic");
  r = rknn_check(rs);
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].kind, RknnFindingKind::kAttribute);
  EXPECT_NE(r.findings[0].problem.find("mode 'cubic'"), std::string::npos) << r.findings[0].problem;

  // EyeLike on a graph input rather than a constant.
  r = rknn_check(one_op_model("EyeLike", dims({4, 4}), 17, "eye"));
  ASSERT_EQ(of_kind(r, RknnFindingKind::kConstantInput).size(), 1u) << describe(r);
}

TEST(RknnCheckGraphs, SubgraphNodesAreChecked) {
  // If on a computed condition, with a TopK in its then-branch.
  onnx::ModelProto m = empty_model();
  OnnxGraphBuilder b(m.mutable_graph());
  b.input("x", kF32, dims({1, 4}));
  b.input("flag", onnx::TensorProto_DataType_BOOL, dims({1}));
  auto branch = [](const std::string& op, const std::string& name) {
    onnx::GraphProto g;
    g.set_name(name);
    OnnxGraphBuilder gb(&g);
    gb.op_into(op, {"x"}, name + "_out");
    gb.output(name + "_out", kF32, dims({1, 4}));
    return g;
  };
  b.op_into("If", {"flag"}, "chosen");
  auto* node = m.mutable_graph()->mutable_node(0);
  for (auto [attr, op] : {std::pair<const char*, const char*>{"then_branch", "TopK"}, {"else_branch", "Relu"}}) {
    auto* a = node->add_attribute();
    a->set_name(attr);
    a->set_type(onnx::AttributeProto_AttributeType_GRAPH);
    *a->mutable_g() = branch(op, attr);
  }
  b.output("chosen", kF32, dims({1, 4}));
  const auto r = rknn_check(m);
  EXPECT_EQ(r.nodes, 3);
  ASSERT_EQ(r.findings.size(), 2u) << describe(r);
  EXPECT_EQ(r.findings[0].kind, RknnFindingKind::kConstantInput);
  EXPECT_EQ(r.findings[0].node, "chosen");
  EXPECT_EQ(r.findings[1].op, "TopK");
  EXPECT_EQ(r.findings[1].node, "then_branch_out");
}

// ------------------------------------------------------------------ our own exports

TEST(RknnCheckExports, StaticExportsHaveNoFinding) {
  for (const auto& v : {testing::shared_post_norm(), testing::separate_pre_norm()}) {
    auto model = testing::standalone(v);
    for (ExportDtype dtype : {ExportDtype::kFloat32, ExportDtype::kFloat16}) {
      SCOPED_TRACE(v.name + " " + export_dtype_name(dtype));
      const auto ex = export_onnx(*model, v.config, testing::export_options(dtype, std::pair<int64_t, int64_t>{9, 6}));
      for (const onnx::ModelProto* m : {&ex.encoder, &ex.decoder}) {
        const auto r = rknn_check(*m);
        EXPECT_TRUE(r.clean()) << describe(r);
        EXPECT_EQ(r.opset, 17);
        EXPECT_EQ(r.nodes, m->graph().node_size());
        EXPECT_TRUE(r.shape_inference_error.empty()) << r.shape_inference_error;
      }
    }
  }
}

// The dynamic export: every symbolic dimension of its inputs and outputs (from the export's own
// spec), and the batch-1 operators whose input has a symbolic batch (Softmax) or is the encoder's
// 1-D position table (Slice, leading dimension max_source_positions) — nothing else.
TEST(RknnCheckExports, DynamicExportsOnlyHaveDynamicShapeAndBatchFindings) {
  const auto v = testing::shared_post_norm();
  auto model = testing::standalone(v);
  const auto ex = export_onnx(*model, v.config, testing::export_options(ExportDtype::kFloat32));
  const std::pair<const onnx::ModelProto*, const ExportGraphSpec*> graphs[] = {{&ex.encoder, &ex.encoder_spec},
                                                                               {&ex.decoder, &ex.decoder_spec}};
  for (const auto& [m, spec] : graphs) {
    SCOPED_TRACE(m->graph().name());
    const auto r = rknn_check(*m);
    std::set<std::string> expected_dynamic, dynamic;
    auto expect_symbols = [&](const std::vector<ExportTensorSpec>& tensors, const std::string& what) {
      for (const auto& t : tensors) {
        for (size_t i = 0; i < t.dims.size(); ++i) {
          if (t.dims[i].find_first_not_of("0123456789") != std::string::npos) {
            expected_dynamic.insert(what + " " + t.name + " axis " + std::to_string(i) + " '" + t.dims[i] + "'");
          }
        }
      }
    };
    expect_symbols(spec->inputs, "input");
    expect_symbols(spec->outputs, "output");
    std::set<std::string> expected_batch, batch;
    for (const auto& n : m->graph().node()) {
      if (n.op_type() == "Softmax" || n.op_type() == "Slice") expected_batch.insert(n.op_type() + " " + n.name());
    }
    for (const auto& f : r.findings) {
      if (f.kind == RknnFindingKind::kDynamicShape) {
        const auto axis = f.problem.find("axis "), quote = f.problem.find('\'');
        ASSERT_NE(axis, std::string::npos) << f.problem;
        ASSERT_NE(quote, std::string::npos) << f.problem;
        const std::string symbol = f.problem.substr(quote, f.problem.find('\'', quote + 1) - quote + 1);
        dynamic.insert(f.op + " " + f.node + " " + f.problem.substr(axis, f.problem.find(' ', axis + 5) - axis) + " " +
                       symbol);
      } else if (f.kind == RknnFindingKind::kBatch) {
        batch.insert(f.op + " " + f.node);
        if (f.op == "Slice") {
          EXPECT_NE(f.problem.find("batch dimension (axis 0) 64, shape [64]"), std::string::npos) << f.problem;
        } else {
          EXPECT_TRUE(f.problem.find("symbolic 'batch'") != std::string::npos ||
                      f.problem.find("unknown") != std::string::npos)
              << f.problem;
        }
      } else {
        ADD_FAILURE() << "unexpected finding: " << f.node << " " << f.op << ": " << f.problem;
      }
    }
    EXPECT_EQ(dynamic, expected_dynamic);
    EXPECT_EQ(batch, expected_batch);
    EXPECT_FALSE(expected_dynamic.empty());
    EXPECT_EQ(r.opset, 17);
  }
  // The encoder's dynamic graph has exactly one Slice (the position table) and its Shape nodes
  // are supported without limits.
  int slices = 0;
  for (const auto& n : ex.encoder.graph().node()) slices += n.op_type() == "Slice";
  EXPECT_EQ(slices, 1);
}

// ------------------------------------------------------------------ files, report, exit codes

class RknnCheckFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/thanos_rknn_check_" + std::to_string(::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const auto v = testing::shared_post_norm();
    auto model = testing::standalone(v);
    const auto ex = export_onnx(*model, v.config, testing::export_options(ExportDtype::kFloat16, std::pair<int64_t, int64_t>{8, 5}));
    write_onnx_model(dir_ + "/encoder.onnx", ex.encoder);
    write_onnx_model(dir_ + "/decoder_step.onnx", ex.decoder);
    write_onnx_model(dir_ + "/bad.onnx", one_op_model("TopK", dims({1, 8}), 17, "select"));
    write_file_atomically(dir_ + "/notes.txt", "hello, not a model\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(RknnCheckFiles, LibraryReportsFilesAndExitCodes) {
  const auto clean = rknn_check_file(dir_ + "/encoder.onnx");
  EXPECT_EQ(clean.file, dir_ + "/encoder.onnx");
  EXPECT_EQ(clean.graph, "thanos_encoder");
  EXPECT_TRUE(clean.clean()) << describe(clean);
  const auto bad = rknn_check_file(dir_ + "/bad.onnx");
  EXPECT_EQ(rknn_check_exit_code({clean}), 0);
  EXPECT_EQ(rknn_check_exit_code({clean, bad}), 1);
  EXPECT_EQ(rknn_check_exit_code({clean}, {"x.onnx: cannot open"}), 2);

  EXPECT_NE(testing::invalid_argument_message([&] { rknn_check_file(dir_ + "/missing.onnx"); }).find("missing.onnx: cannot open"),
            std::string::npos);
  EXPECT_NE(testing::invalid_argument_message([&] { rknn_check_file(dir_ + "/notes.txt"); }).find("notes.txt: not an ONNX model"),
            std::string::npos);

  const std::string table = format_rknn_report_table({clean, bad});
  EXPECT_NE(table.find("FILE"), std::string::npos) << table;
  EXPECT_NE(table.find(dir_ + "/bad.onnx  select  TopK  TopK is not supported"), std::string::npos) << table;
  EXPECT_NE(table.find("verdict: NOT READY for the RK3588: 1 finding in 1 of 2 graphs"), std::string::npos) << table;
  EXPECT_NE(format_rknn_report_table({clean}).find("verdict: OK: no findings in 1 graph"), std::string::npos);

  const auto j = nlohmann::json::parse(format_rknn_report_json({clean, bad}));
  EXPECT_EQ(j.at("format"), "thanos.rknn-check");
  EXPECT_EQ(j.at("verdict"), "findings");
  EXPECT_EQ(j.at("exit_code"), 1);
  ASSERT_EQ(j.at("files").size(), 2u);
  EXPECT_EQ(j.at("files")[0].at("findings").size(), 0u);
  EXPECT_EQ(j.at("files")[0].at("opset"), 17);
  const auto& f = j.at("files")[1].at("findings").at(0);
  EXPECT_EQ(f.at("kind"), "operator");
  EXPECT_EQ(f.at("node"), "select");
  EXPECT_EQ(f.at("op"), "TopK");

  // A node name that is not UTF-8 (ONNX does not require it) is printed with U+FFFD, not dropped.
  RknnCheckReport latin1 = bad;
  latin1.findings.at(0).node = "sch\xF6n";
  const auto named = nlohmann::json::parse(format_rknn_report_json({latin1}));
  EXPECT_EQ(named.at("files")[0].at("findings").at(0).at("node"), "sch\xEF\xBF\xBDn");
}

TEST_F(RknnCheckFiles, CliPrintsTableOrJsonAndExitsWithTheDocumentedStatus) {
  auto ok = testing::run_cli("rknn-check " + dir_ + "/encoder.onnx " + dir_ + "/decoder_step.onnx");
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_NE(ok.output.find("verdict: OK: no findings in 2 graphs"), std::string::npos) << ok.output;

  auto bad = testing::run_cli("rknn-check " + dir_ + "/encoder.onnx " + dir_ + "/bad.onnx");
  EXPECT_EQ(bad.code, 1) << bad.output;
  EXPECT_NE(bad.output.find("select"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("TopK is not supported"), std::string::npos) << bad.output;

  auto json = testing::run_cli("rknn-check --json " + dir_ + "/bad.onnx");
  EXPECT_EQ(json.code, 1) << json.output;
  const auto j = nlohmann::json::parse(json.output);
  EXPECT_EQ(j.at("files")[0].at("findings")[0].at("op"), "TopK");

  // Unreadable files: status 2, every file named, the readable ones still checked.
  auto unreadable = testing::run_cli("rknn-check " + dir_ + "/missing.onnx " + dir_ + "/notes.txt " + dir_ + "/bad.onnx");
  EXPECT_EQ(unreadable.code, 2) << unreadable.output;
  EXPECT_NE(unreadable.output.find("missing.onnx: cannot open"), std::string::npos) << unreadable.output;
  EXPECT_NE(unreadable.output.find("notes.txt: not an ONNX model"), std::string::npos) << unreadable.output;
  EXPECT_NE(unreadable.output.find("TopK"), std::string::npos) << unreadable.output;

  // Bad usage: status 2.
  auto none = testing::run_cli("rknn-check");
  EXPECT_EQ(none.code, 2) << none.output;
  EXPECT_NE(none.output.find("no model given"), std::string::npos) << none.output;
  auto option = testing::run_cli("rknn-check --frobnicate " + dir_ + "/encoder.onnx");
  EXPECT_EQ(option.code, 2) << option.output;
  EXPECT_NE(option.output.find("--frobnicate"), std::string::npos) << option.output;

  auto help = testing::run_cli("rknn-check --help");
  EXPECT_EQ(help.code, 0) << help.output;
  EXPECT_NE(help.output.find("2 a file could not be read"), std::string::npos) << help.output;
}

}  // namespace
}  // namespace thanos
