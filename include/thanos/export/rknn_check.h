#pragma once
// A static check of an ONNX graph against what Rockchip's RK3588 toolkit (rknn-toolkit2) converts
// to the NPU (docs/EXPORT.md, "Checking a graph for the RK3588"): operators outside its support
// list, the ai.onnx opset outside 12..19 and custom domains, element types the NPU path does not
// take, dynamic (symbolic or unknown) graph input/output dimensions, and per-operator limits
// (Softmax/LogSoftmax/Slice/Tile at batch 1, Tile without broadcast, ...), with onnx shape
// inference supplying the shapes those limits need. Torch-free: onnx protobuf classes only.
//
// A static check cannot promise conversion: the real toolkit may still refuse a graph that passes,
// or run some of it on the CPU. It catches the known, documented refusals before a board is needed.
#include <cstdint>
#include <string>
#include <vector>

#include "thanos/export/onnx_proto.h"

namespace thanos {

// What kind of problem a finding is (the "kind" field of the JSON report).
enum class RknnFindingKind {
  kOperator,       // operator unsupported, not known to be supported, or from a custom domain
  kOpset,          // ai.onnx opset outside 12..19, none imported, or a custom domain imported
  kDtype,          // element type the NPU path does not take
  kDynamicShape,   // symbolic or unknown dimension of a graph input/output
  kBatch,          // a batch-1-only operator whose input's batch dimension is > 1 or unknown
  kBroadcast,      // Tile that the toolkit would have to broadcast
  kConstantInput,  // an operator the toolkit takes only with a constant input (If, EyeLike)
  kAttribute,      // an attribute value outside the toolkit's remarks (Resize and RoiAlign modes)
};
std::string rknn_finding_kind_name(RknnFindingKind kind);  // "operator", "opset", ..., "dynamic-shape"

struct RknnFinding {
  RknnFindingKind kind = RknnFindingKind::kOperator;
  // The node's name ("(node 12)" when it has none), or the graph input/output/initializer's name,
  // or "(model)" for model-level findings.
  std::string node;
  // The node's op type (with its domain when not ai.onnx, "com.microsoft.Attention"), or "input",
  // "output", "initializer", "opset_import".
  std::string op;
  std::string problem;  // one sentence: what is wrong and why the toolkit cares
};

struct RknnCheckReport {
  std::string file;   // set by rknn_check_file; empty for an in-memory model
  std::string graph;  // the graph's name
  std::vector<RknnFinding> findings;
  int64_t opset = 0;  // the ai.onnx opset the model imports (0: none)
  int nodes = 0;      // nodes checked, subgraphs (If branches, Loop bodies) included
  // What kept onnx shape inference from part of the graph (nodes that fail their onnx schema's
  // verification are left out of it; an error that stopped it): the shapes it did not reach are
  // unknown, and the batch limits that need them are reported as such. Empty when it ran through.
  std::string shape_inference_error;
  bool clean() const { return findings.empty(); }
};

// How the toolkit treats one ai.onnx operator: the single source of truth for the checker's
// operator lists and limits (src/export/rknn_check.cc, where the table cites its sources).
enum RknnOpLimit : unsigned {
  kRknnNoLimit = 0,
  kRknnBatch1 = 1u << 0,         // "batchsize: 1": the input's batch dimension must be 1
  kRknnNoBroadcast = 1u << 1,    // "not support broadcast" (Tile)
  kRknnConstantInput = 1u << 2,  // "only support constant input" (If, EyeLike): input 0 constant
  kRknnAttributeValues = 1u << 3,  // a string attribute limited to some values (Resize "mode", ...)
};
struct RknnOpRule {
  const char* op;
  bool supported;
  unsigned limits = kRknnNoLimit;  // RknnOpLimit bits (supported operators only)
  const char* remark = "";         // the support list's remark, quoted in findings
  const char* hint = "";           // unsupported operators: what to emit instead
  // kRknnAttributeValues: the attribute, its ONNX default, the values allowed ("a|b").
  const char* attribute = "";
  const char* attribute_default = "";
  const char* attribute_allowed = "";
};
const std::vector<RknnOpRule>& rknn_op_rules();
// The rule for an ai.onnx op type, or nullptr when the toolkit's list does not name it.
const RknnOpRule* find_rknn_op_rule(const std::string& op_type);

// The ai.onnx opsets rknn-toolkit2 (>= 1.6) converts.
inline constexpr int64_t kRknnMinOpset = 12;
inline constexpr int64_t kRknnMaxOpset = 19;

// Checks a model. Never throws for a malformed graph: what it cannot establish (a shape onnx
// cannot infer) is itself a finding where a limit depends on it.
RknnCheckReport rknn_check(const onnx::ModelProto& model);
// Reads `path` (binary ONNX) and checks it. Throws std::invalid_argument naming the file when it
// cannot be opened or is not an ONNX model.
RknnCheckReport rknn_check_file(const std::string& path);

// Output of `thanos rknn-check`: one line per finding (graph file, node, op, problem) under a
// header, then a verdict line; and the machine-readable report (format "thanos.rknn-check").
// `errors` are files that could not be read ("PATH: why"), listed and counted in the verdict.
std::string format_rknn_report_table(const std::vector<RknnCheckReport>& reports,
                                     const std::vector<std::string>& errors = {});
std::string format_rknn_report_json(const std::vector<RknnCheckReport>& reports,
                                    const std::vector<std::string>& errors = {});
// Exit status: 2 when a file could not be read, else 1 when there is any finding, else 0.
int rknn_check_exit_code(const std::vector<RknnCheckReport>& reports, const std::vector<std::string>& errors = {});

}  // namespace thanos
