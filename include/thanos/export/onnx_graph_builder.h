#pragma once
// A small helper that appends initializers, nodes, inputs and outputs to an onnx::GraphProto with
// unique value names. It knows nothing about Transformers (see onnx_export.h) and nothing about
// torch: initializers come in as raw little-endian bytes.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "thanos/export/onnx_proto.h"

namespace thanos {

// One dimension of a graph input/output: a fixed size or a symbolic name ("batch", "src_len").
struct OnnxDim {
  int64_t value = -1;  // >= 0: fixed
  std::string symbol;  // used when value < 0
  static OnnxDim fixed(int64_t v) { return {v, {}}; }
  static OnnxDim named(std::string s) { return {-1, std::move(s)}; }
  bool is_fixed() const { return value >= 0; }
  std::string text() const { return is_fixed() ? std::to_string(value) : symbol; }
};

// Node attributes: ints, floats, lists of ints, a tensor element type (for Cast's `to`).
using OnnxAttribute = std::variant<int64_t, float, std::vector<int64_t>>;

class OnnxGraphBuilder {
 public:
  explicit OnnxGraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  // A fresh value name starting with `hint` (hint itself the first time it is asked for).
  std::string unique(const std::string& hint);

  // An initializer holding `bytes` (raw data, little-endian) of the given element type and shape.
  // `name` is used verbatim and must not exist yet (model tensor names are a contract).
  std::string initializer(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims,
                          const void* data, std::size_t bytes);
  // Small constants as initializers (named after `hint`, made unique).
  std::string const_i64(const std::string& hint, const std::vector<int64_t>& values, const std::vector<int64_t>& dims);
  std::string const_i64(const std::string& hint, const std::vector<int64_t>& values) {
    return const_i64(hint, values, {static_cast<int64_t>(values.size())});
  }
  // A float constant stored as `elem_type` (FLOAT or FLOAT16).
  std::string const_float(const std::string& hint, int32_t elem_type, const std::vector<float>& values,
                          const std::vector<int64_t>& dims);
  std::string scalar_float(const std::string& hint, int32_t elem_type, float value) {
    return const_float(hint, elem_type, {value}, {});
  }

  // Appends a node; returns its outputs (`n_outputs` fresh names starting with `hint`).
  std::vector<std::string> node(const std::string& op, const std::vector<std::string>& inputs,
                                const std::string& hint, int n_outputs = 1,
                                const std::map<std::string, OnnxAttribute>& attributes = {});
  // The same with one output.
  std::string op(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                 const std::map<std::string, OnnxAttribute>& attributes = {}) {
    return node(op, inputs, hint, 1, attributes).front();
  }
  // A node whose single output gets exactly `output` (a graph output's name).
  void op_into(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
               const std::map<std::string, OnnxAttribute>& attributes = {});

  // Graph inputs/outputs with their element type and dims. An input reserves its name; an output
  // names a value some node produces (op_into).
  std::string input(const std::string& name, int32_t elem_type, const std::vector<OnnxDim>& dims);
  void output(const std::string& name, int32_t elem_type, const std::vector<OnnxDim>& dims);

  onnx::GraphProto& graph() { return *graph_; }

 private:
  void reserve(const std::string& name);
  onnx::GraphProto* graph_;
  std::map<std::string, int> used_;  // name -> times a hint was taken
};

// float32 -> IEEE half (round to nearest even, overflow to infinity), as the bits of a uint16.
uint16_t float_to_half_bits(float value);
float half_bits_to_float(uint16_t bits);

// Checks a model the way `thanos export` promises: onnx::checker::check_model, then full shape
// inference (type checks, strict mode, data propagation) into a copy, and that every node output
// got an inferred type and shape (a Slice with computed bounds: a type; onnx 1.12 infers no more). Throws std::runtime_error naming `what` and the problem.
void check_onnx_model(const onnx::ModelProto& model, const std::string& what);
// The same, returning the inferred model (value_info filled) for inspection.
onnx::ModelProto infer_onnx_shapes(const onnx::ModelProto& model, const std::string& what);

}  // namespace thanos
