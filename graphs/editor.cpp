#include "graphs/editor.h"

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/op_registry.h"

namespace rdasim::graphs {

std::string GraphEditor::unique(const std::string& name) const {
  if (!m_graph.find_tensor(name) && !m_graph.find_op(name)) return name;
  for (int k = 2;; ++k) {
    std::string candidate = fmt::format("{}_{}", name, k);
    if (!m_graph.find_tensor(candidate) && !m_graph.find_op(candidate)) return candidate;
  }
}

std::vector<TensorId> GraphEditor::op_n(const std::string& kind, const std::string& name, std::vector<TensorId> inputs,
                                        std::size_t outputs, Attrs attrs) {
  const std::string op_name = unique(name);
  std::vector<std::string> names;
  for (std::size_t k = 0; k < outputs; ++k)
    names.push_back(unique(k == 0 ? op_name : fmt::format("{}:{}", op_name, k)));
  return op_named(kind, op_name, std::move(inputs), names, std::move(attrs));
}

std::vector<TensorId> GraphEditor::op_named(const std::string& kind, const std::string& name,
                                            std::vector<TensorId> inputs, const std::vector<std::string>& output_names,
                                            Attrs attrs) {
  const std::size_t outputs = output_names.size();
  const OpDef* def = OpRegistry::instance().find(kind);
  RDASIM_ASSERT(def != nullptr, fmt::format("no op kind '{}'", kind));
  Op o;
  o.name = unique(name);
  o.kind = kind;
  o.inputs = std::move(inputs);
  o.attrs = std::move(attrs);
  o.device = m_device;
  for (const auto& output : output_names) {
    Tensor t;
    t.name = output;
    o.outputs.push_back(m_graph.add_tensor(std::move(t)));
  }
  const OpId id = m_graph.add_op(std::move(o));
  const Op& added = m_graph.op(id);
  const auto infos = def->infer(OpContext(m_graph, added));
  RDASIM_ASSERT(infos.size() == outputs,
                fmt::format("shape rule of {} gave {} outputs for {}", kind, infos.size(), outputs));
  for (std::size_t k = 0; k < outputs; ++k) {
    Tensor& t = m_graph.tensor(added.outputs[k]);
    t.shape = infos[k].shape;
    t.dim_names.assign(t.shape.size(), "");
    t.dtype = infos[k].dtype;
  }
  return added.outputs;
}

TensorId GraphEditor::source(const std::string& name, Shape shape, Role role, DType dtype,
                             std::optional<std::vector<double>> values) {
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.dim_names.assign(t.shape.size(), "");
  t.dtype = dtype;
  t.role = role;
  t.values = std::move(values);
  return m_graph.add_tensor(std::move(t));
}

TensorId GraphEditor::ints(const std::string& name, const std::vector<std::int64_t>& values) {
  return source(unique(name), {static_cast<std::int64_t>(values.size())}, Role::constant, DType::i64,
                std::vector<double>(values.begin(), values.end()));
}

TensorId GraphEditor::scalar(const std::string& name, double value, DType dtype) {
  return source(unique(name), {}, Role::constant, dtype, std::vector<double>{value});
}

Attrs make_attrs(std::initializer_list<std::pair<const std::string, AttrValue>> values) {
  Attrs a;
  for (const auto& [k, v] : values) a.values.emplace(k, v);
  return a;
}

}  // namespace rdasim::graphs
