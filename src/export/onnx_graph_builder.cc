#include "thanos/export/onnx_graph_builder.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>

namespace thanos {

void OnnxGraphBuilder::reserve(const std::string& name) {
  if (used_.count(name)) throw std::logic_error("onnx graph: value name '" + name + "' used twice");
  used_[name] = 1;
}

std::string OnnxGraphBuilder::unique(const std::string& hint) {
  auto it = used_.find(hint);
  if (it == used_.end()) {
    used_[hint] = 1;
    return hint;
  }
  for (;;) {
    std::string candidate = hint + "_" + std::to_string(it->second++);
    if (!used_.count(candidate)) {
      used_[candidate] = 1;
      return candidate;
    }
  }
}

std::string OnnxGraphBuilder::initializer(const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims,
                                          const void* data, std::size_t bytes) {
  reserve(name);
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(elem_type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(static_cast<const char*>(data), bytes));
  return name;
}

std::string OnnxGraphBuilder::const_i64(const std::string& hint, const std::vector<int64_t>& values,
                                        const std::vector<int64_t>& dims) {
  const std::string name = unique(hint);
  used_.erase(name);  // initializer() reserves it again
  return initializer(name, onnx::TensorProto_DataType_INT64, dims, values.data(), values.size() * sizeof(int64_t));
}

std::string OnnxGraphBuilder::const_float(const std::string& hint, int32_t elem_type, const std::vector<float>& values,
                                          const std::vector<int64_t>& dims) {
  const std::string name = unique(hint);
  used_.erase(name);
  if (elem_type == onnx::TensorProto_DataType_FLOAT16) {
    std::vector<uint16_t> half(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) half[i] = float_to_half_bits(values[i]);
    return initializer(name, elem_type, dims, half.data(), half.size() * sizeof(uint16_t));
  }
  if (elem_type != onnx::TensorProto_DataType_FLOAT) throw std::logic_error("const_float: FLOAT or FLOAT16 only");
  return initializer(name, elem_type, dims, values.data(), values.size() * sizeof(float));
}

namespace {
void set_attribute(onnx::NodeProto* n, const std::string& name, const OnnxAttribute& value) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  if (const auto* i = std::get_if<int64_t>(&value)) {
    a->set_type(onnx::AttributeProto_AttributeType_INT);
    a->set_i(*i);
  } else if (const auto* f = std::get_if<float>(&value)) {
    a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
    a->set_f(*f);
  } else {
    a->set_type(onnx::AttributeProto_AttributeType_INTS);
    for (int64_t v : std::get<std::vector<int64_t>>(value)) a->add_ints(v);
  }
}

void set_type(onnx::ValueInfoProto* v, const std::string& name, int32_t elem_type, const std::vector<OnnxDim>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (const auto& d : dims) {
    auto* dim = shape->add_dim();
    if (d.is_fixed()) {
      dim->set_dim_value(d.value);
    } else {
      dim->set_dim_param(d.symbol);
    }
  }
}
}  // namespace

std::vector<std::string> OnnxGraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs,
                                                const std::string& hint, int n_outputs,
                                                const std::map<std::string, OnnxAttribute>& attributes) {
  std::vector<std::string> outputs;
  for (int i = 0; i < n_outputs; ++i) outputs.push_back(unique(hint));
  onnx::NodeProto* n = graph_->add_node();
  n->set_op_type(op);
  n->set_name(outputs.front());
  for (const auto& in : inputs) n->add_input(in);
  for (const auto& out : outputs) n->add_output(out);
  for (const auto& [name, value] : attributes) set_attribute(n, name, value);
  return outputs;
}

void OnnxGraphBuilder::op_into(const std::string& op, const std::vector<std::string>& inputs,
                               const std::string& output, const std::map<std::string, OnnxAttribute>& attributes) {
  reserve(output);
  onnx::NodeProto* n = graph_->add_node();
  n->set_op_type(op);
  n->set_name(output);
  for (const auto& in : inputs) n->add_input(in);
  n->add_output(output);
  for (const auto& [name, value] : attributes) set_attribute(n, name, value);
}

std::string OnnxGraphBuilder::input(const std::string& name, int32_t elem_type, const std::vector<OnnxDim>& dims) {
  reserve(name);
  set_type(graph_->add_input(), name, elem_type, dims);
  return name;
}

void OnnxGraphBuilder::output(const std::string& name, int32_t elem_type, const std::vector<OnnxDim>& dims) {
  // The name was reserved by the node that produces it (op_into) or by input().
  set_type(graph_->add_output(), name, elem_type, dims);
}

// ------------------------------------------------------------------ float16

uint16_t float_to_half_bits(float value) {
  uint32_t x;
  std::memcpy(&x, &value, sizeof x);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504: overflow
  const int32_t exponent = static_cast<int32_t>(abs >> 23) - 127;
  if (exponent >= -14) {  // normal half
    uint32_t mantissa = abs & 0x7fffffu;
    uint32_t half = (static_cast<uint32_t>(exponent + 15) << 10) | (mantissa >> 13);
    const uint32_t rest = mantissa & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // carries into the exponent correctly
    return static_cast<uint16_t>(sign | half);
  }
  if (exponent < -25) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
  // Subnormal half: value = m * 2^-24.
  const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
  const int shift = -exponent - 14 + 13;  // 14..24 + ... bits dropped
  uint32_t half = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
  return static_cast<uint16_t>(sign | half);
}

float half_bits_to_float(uint16_t bits) {
  const uint32_t sign = (bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu, mantissa = bits & 0x3ffu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa ? std::nanf("") : INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  uint32_t x;
  std::memcpy(&x, &magnitude, sizeof x);
  x |= sign;
  float out;
  std::memcpy(&out, &x, sizeof out);
  return out;
}

// ------------------------------------------------------------------ checks

onnx::ModelProto infer_onnx_shapes(const onnx::ModelProto& model, const std::string& what) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw std::runtime_error(what + ": onnx checker: " + e.what());
  }
  onnx::ModelProto inferred = model;
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1, /*data_propagation=*/true);
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    throw std::runtime_error(what + ": onnx shape inference: " + e.what());
  }
  std::set<std::string> typed, shaped;
  auto note = [&](const onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type() || v.type().tensor_type().elem_type() == 0) return;
    typed.insert(v.name());
    if (v.type().tensor_type().has_shape()) shaped.insert(v.name());
  };
  const auto& g = inferred.graph();
  for (const auto& v : g.value_info()) note(v);
  for (const auto& v : g.output()) note(v);
  for (const auto& n : g.node()) {
    for (const auto& out : n.output()) {
      // onnx 1.12 infers only the type of a Slice whose bounds are computed (dynamic mode).
      const bool ok = n.op_type() == "Slice" ? typed.count(out) > 0 : shaped.count(out) > 0;
      if (!ok) {
        throw std::runtime_error(what + ": onnx shape inference gave no " +
                                 std::string(n.op_type() == "Slice" ? "type" : "shape") + " for '" + out + "' (" +
                                 n.op_type() + ")");
      }
    }
  }
  return inferred;
}

void check_onnx_model(const onnx::ModelProto& model, const std::string& what) { (void)infer_onnx_shapes(model, what); }

}  // namespace thanos
