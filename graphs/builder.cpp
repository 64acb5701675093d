#include "graphs/builder.h"

#include <fmt/format.h>

#include "graphs/verify.h"

namespace rdasim::graphs {

std::string GraphBuilder::scoped(const std::string& name) const {
  std::string out;
  for (const auto& s : m_scopes) out += s + "/";
  return out + name;
}

TensorId GraphBuilder::tensor(const std::string& name, Shape shape, DType dtype, Role role,
                              std::optional<std::vector<double>> values) {
  Tensor t;
  t.name = scoped(name);
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.role = role;
  t.values = std::move(values);
  return m_graph.add_tensor(std::move(t));
}

TensorId GraphBuilder::input(const std::string& name, Shape shape, DType dtype) {
  return tensor(name, std::move(shape), dtype, Role::input, std::nullopt);
}

TensorId GraphBuilder::param(const std::string& name, Shape shape, std::optional<std::vector<double>> values) {
  return tensor(name, std::move(shape), DType::f32, Role::param, std::move(values));
}

TensorId GraphBuilder::constant(const std::string& name, Shape shape, std::vector<double> values, DType dtype) {
  return tensor(name, std::move(shape), dtype, Role::constant, std::move(values));
}

TensorId GraphBuilder::ints(const std::string& name, const std::vector<std::int64_t>& values) {
  return constant(name, {static_cast<std::int64_t>(values.size())}, std::vector<double>(values.begin(), values.end()),
                  DType::i64);
}

TensorId GraphBuilder::op(const std::string& kind, const std::string& name, std::vector<TensorId> inputs, Attrs attrs) {
  return op_n(kind, name, std::move(inputs), 1, std::move(attrs)).front();
}

std::vector<TensorId> GraphBuilder::op_n(const std::string& kind, const std::string& name, std::vector<TensorId> inputs,
                                         std::size_t outputs, Attrs attrs) {
  Op o;
  o.name = scoped(name);
  o.kind = kind;
  o.inputs = std::move(inputs);
  o.attrs = std::move(attrs);
  for (std::size_t i = 0; i < outputs; ++i) {
    Tensor t;
    t.name = outputs == 1 ? o.name : fmt::format("{}:{}", o.name, i);
    o.outputs.push_back(m_graph.add_tensor(std::move(t)));
  }
  std::vector<TensorId> result = o.outputs;
  m_graph.add_op(std::move(o));
  return result;
}

Graph GraphBuilder::finish() {
  infer_shapes(m_graph);
  verify(m_graph);
  Graph out = std::move(m_graph);
  m_graph = Graph(out.name());
  return out;
}

}  // namespace rdasim::graphs
