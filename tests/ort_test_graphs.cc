// Tiny ONNX graphs for tests/test_ort.cc (see ort_test_graphs.h), built with onnx's protobuf
// classes from Debian's libonnx-dev.
#include "ort_test_graphs.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <stdexcept>
#include <variant>

namespace thanos::ort_test {
namespace {

using onnx::TensorProto;

// A dimension: a fixed size or a symbolic name.
using Dim = std::variant<std::int64_t, std::string>;

class Graph {
 public:
  explicit Graph(const std::string& name) {
    model_.set_ir_version(8);
    model_.set_producer_name("thanos-tests");
    auto* opset = model_.add_opset_import();
    opset->set_domain("");
    opset->set_version(17);
    model_.mutable_graph()->set_name(name);
  }

  void input(const std::string& name, int elem_type, const std::vector<Dim>& shape) {
    value_info(model_.mutable_graph()->add_input(), name, elem_type, shape);
  }
  void output(const std::string& name, int elem_type, const std::vector<Dim>& shape) {
    value_info(model_.mutable_graph()->add_output(), name, elem_type, shape);
  }

  void float_initializer(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
    std::int64_t n = 1;
    for (auto d : dims) n *= d;
    if (n != static_cast<std::int64_t>(values.size())) {
      throw std::invalid_argument("initializer " + name + ": " + std::to_string(values.size()) + " values for " +
                                  std::to_string(n) + " elements");
    }
    TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }

  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    onnx::NodeProto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + std::to_string(model_.graph().node_size()));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }

  static void int_attribute(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void ints_attribute(onnx::NodeProto* n, const std::string& name, const std::vector<std::int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void float_attribute(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }

  void write(const std::string& path) {
    try {
      onnx::checker::check_model(model_);
    } catch (const std::exception& e) {
      throw std::runtime_error("test graph " + model_.graph().name() + " fails onnx's checker: " + e.what());
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out || !model_.SerializeToOstream(&out)) throw std::runtime_error("cannot write " + path);
  }

 private:
  static void value_info(onnx::ValueInfoProto* v, const std::string& name, int elem_type, const std::vector<Dim>& shape) {
    v->set_name(name);
    auto* tensor = v->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(elem_type);
    auto* s = tensor->mutable_shape();
    for (const auto& d : shape) {
      auto* dim = s->add_dim();
      if (std::holds_alternative<std::int64_t>(d)) {
        dim->set_dim_value(std::get<std::int64_t>(d));
      } else {
        dim->set_dim_param(std::get<std::string>(d));
      }
    }
  }

  onnx::ModelProto model_;
};

}  // namespace

void write_affine(const std::string& path, std::int64_t k, std::int64_t n, const std::vector<float>& w,
                  const std::vector<float>& b) {
  Graph g("affine");
  g.input("X", TensorProto::FLOAT, {std::string("batch"), k});
  g.float_initializer("W", {k, n}, w);
  g.float_initializer("B", {n}, b);
  g.node("MatMul", {"X", "W"}, {"XW"});
  g.node("Add", {"XW", "B"}, {"Y"});
  g.output("Y", TensorProto::FLOAT, {std::string("batch"), n});
  g.write(path);
}

void write_layer_norm(const std::string& path, std::int64_t d, const std::vector<float>& gamma,
                      const std::vector<float>& beta, float epsilon) {
  Graph g("layer_norm");
  g.input("X", TensorProto::FLOAT, {std::string("batch"), std::string("seq"), d});
  g.float_initializer("gamma", {d}, gamma);
  g.float_initializer("beta", {d}, beta);
  auto* n = g.node("LayerNormalization", {"X", "gamma", "beta"}, {"Y"});
  Graph::int_attribute(n, "axis", -1);
  Graph::float_attribute(n, "epsilon", epsilon);
  g.output("Y", TensorProto::FLOAT, {std::string("batch"), std::string("seq"), d});
  g.write(path);
}

void write_gather(const std::string& path, std::int64_t vocab, std::int64_t d, const std::vector<float>& table,
                  bool int32_indices) {
  Graph g("gather");
  g.input("ids", int32_indices ? TensorProto::INT32 : TensorProto::INT64, {std::string("batch"), std::string("seq")});
  g.float_initializer("table", {vocab, d}, table);
  Graph::int_attribute(g.node("Gather", {"table", "ids"}, {"E"}), "axis", 0);
  g.output("E", TensorProto::FLOAT, {std::string("batch"), std::string("seq"), d});
  g.write(path);
}

void write_half_scale(const std::string& path) {
  Graph g("half_scale");
  g.input("X", TensorProto::FLOAT16, {std::string("n")});
  g.float_initializer("two", {}, {2.0f});
  Graph::int_attribute(g.node("Cast", {"X"}, {"X32"}), "to", TensorProto::FLOAT);
  g.node("Mul", {"X32", "two"}, {"Y32"});
  Graph::int_attribute(g.node("Cast", {"Y32"}, {"Y16"}), "to", TensorProto::FLOAT16);
  g.output("Y16", TensorProto::FLOAT16, {std::string("n")});
  g.output("Y32", TensorProto::FLOAT, {std::string("n")});
  g.write(path);
}

void write_where(const std::string& path) {
  Graph g("where");
  g.input("cond", TensorProto::BOOL, {std::string("n")});
  g.input("a", TensorProto::FLOAT, {std::string("n")});
  g.input("b", TensorProto::FLOAT, {std::string("n")});
  g.node("Where", {"cond", "a", "b"}, {"Y"});
  g.node("Not", {"cond"}, {"notcond"});
  g.output("Y", TensorProto::FLOAT, {std::string("n")});
  g.output("notcond", TensorProto::BOOL, {std::string("n")});
  g.write(path);
}

void write_toy_encoder(const std::string& path, std::int64_t vocab, std::int64_t d, const std::vector<float>& embed,
                       const std::vector<float>& w) {
  Graph g("toy_encoder");
  g.input("tokens", TensorProto::INT64, {std::int64_t{1}, std::string("src")});
  g.float_initializer("embed", {vocab, d}, embed);
  g.float_initializer("W", {d, d}, w);
  Graph::int_attribute(g.node("Gather", {"embed", "tokens"}, {"x"}), "axis", 0);
  g.node("MatMul", {"x", "W"}, {"memory"});
  g.output("memory", TensorProto::FLOAT, {std::int64_t{1}, std::string("src"), d});
  g.write(path);
}

void write_toy_decoder_step(const std::string& path, std::int64_t vocab, std::int64_t d,
                            const std::vector<float>& embed, const std::vector<float>& out) {
  Graph g("toy_decoder_step");
  g.input("token", TensorProto::INT64, {std::string("beam"), std::int64_t{1}});
  g.input("past", TensorProto::FLOAT, {std::string("beam"), std::string("past_len"), d});
  g.input("memory", TensorProto::FLOAT, {std::string("beam"), std::string("src"), d});
  g.float_initializer("embed", {vocab, d}, embed);
  g.float_initializer("out", {d, vocab}, out);
  Graph::int_attribute(g.node("Gather", {"embed", "token"}, {"e"}), "axis", 0);
  auto* mean = g.node("ReduceMean", {"memory"}, {"ctx"});
  Graph::ints_attribute(mean, "axes", {1});
  Graph::int_attribute(mean, "keepdims", 1);
  g.node("Add", {"e", "ctx"}, {"h"});
  Graph::int_attribute(g.node("Concat", {"past", "h"}, {"present"}), "axis", 1);
  g.node("MatMul", {"h", "out"}, {"logits"});
  g.output("logits", TensorProto::FLOAT, {std::string("beam"), std::int64_t{1}, vocab});
  g.output("present", TensorProto::FLOAT, {std::string("beam"), std::string("present_len"), d});
  g.write(path);
}

}  // namespace thanos::ort_test
