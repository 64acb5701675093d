// Graph construction with producer/consumer bookkeeping.
#include "graphs/graph.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace rdasim::graphs {

std::int64_t Tensor::elements() const {
  auto n = checked_elements(shape);
  RDASIM_ASSERT(n.has_value(), fmt::format("tensor '{}' has shape {}", name, to_string(shape)));
  return *n;
}

std::string_view attr_type_name(const AttrValue& value) {
  static constexpr std::string_view k_names[] = {"int", "float", "string", "ints", "floats", "strings"};
  return k_names[value.index()];
}

namespace {
template <typename T>
const T* get_if(const Attrs& attrs, std::string_view name) {
  auto it = attrs.values.find(name);
  return it == attrs.values.end() ? nullptr : std::get_if<T>(&it->second);
}
}  // namespace

std::int64_t Attrs::get_int(std::string_view name, std::int64_t fallback) const {
  const auto* v = get_if<std::int64_t>(*this, name);
  return v ? *v : fallback;
}

double Attrs::get_float(std::string_view name, double fallback) const {
  if (const auto* v = get_if<double>(*this, name)) return *v;
  if (const auto* v = get_if<std::int64_t>(*this, name)) return static_cast<double>(*v);
  return fallback;
}

std::string Attrs::get_string(std::string_view name, const std::string& fallback) const {
  const auto* v = get_if<std::string>(*this, name);
  return v ? *v : fallback;
}

std::vector<std::int64_t> Attrs::get_ints(std::string_view name, std::vector<std::int64_t> fallback) const {
  const auto* v = get_if<std::vector<std::int64_t>>(*this, name);
  return v ? *v : fallback;
}

std::vector<double> Attrs::get_floats(std::string_view name, std::vector<double> fallback) const {
  const auto* v = get_if<std::vector<double>>(*this, name);
  return v ? *v : fallback;
}

TensorId Graph::add_tensor(Tensor tensor) {
  if (tensor.name.empty()) {
    throw core::InputError(core::Location(m_name), "a tensor needs a name");
  }
  const auto id = static_cast<TensorId>(m_tensors.size());
  if (!m_tensor_index.emplace(tensor.name, id).second) {
    throw core::InputError(core::Location(m_name, 0, 0, tensor.name),
                           fmt::format("tensor '{}' is defined twice", tensor.name));
  }
  if (tensor.dim_names.empty()) tensor.dim_names.assign(tensor.shape.size(), "");
  RDASIM_ASSERT(tensor.dim_names.size() == tensor.shape.size(), "one dim name per dimension");
  tensor.producer = -1;
  tensor.consumers.clear();
  m_tensors.push_back(std::move(tensor));
  return id;
}

OpId Graph::add_op(Op op) {
  const auto id = static_cast<OpId>(m_ops.size());
  if (op.name.empty()) op.name = fmt::format("{}_{}", op.kind, id);
  const core::Location where(m_name, 0, 0, op.name);
  if (m_op_index.contains(op.name)) {
    throw core::InputError(where, fmt::format("op '{}' is defined twice", op.name));
  }
  for (TensorId t : op.inputs) {
    RDASIM_ASSERT(t == k_no_tensor || (t >= 0 && t < static_cast<TensorId>(m_tensors.size())),
                  fmt::format("op '{}' reads tensor id {}", op.name, t));
  }
  for (TensorId t : op.outputs) {
    RDASIM_ASSERT(t >= 0 && t < static_cast<TensorId>(m_tensors.size()),
                  fmt::format("op '{}' writes tensor id {}", op.name, t));
    const Tensor& out = tensor(t);
    if (out.producer >= 0) {
      throw core::InputError(where, fmt::format("tensor '{}' is written by both '{}' and '{}'", out.name,
                                                m_ops[static_cast<std::size_t>(out.producer)].name, op.name));
    }
  }
  for (TensorId t : op.inputs) {
    if (t != k_no_tensor) tensor(t).consumers.push_back(id);
  }
  for (TensorId t : op.outputs) tensor(t).producer = id;
  m_op_index.emplace(op.name, id);
  m_ops.push_back(std::move(op));
  return id;
}

const Tensor& Graph::tensor(TensorId id) const {
  RDASIM_ASSERT(id >= 0 && id < static_cast<TensorId>(m_tensors.size()), fmt::format("tensor id {}", id));
  return m_tensors[static_cast<std::size_t>(id)];
}

Tensor& Graph::tensor(TensorId id) {
  RDASIM_ASSERT(id >= 0 && id < static_cast<TensorId>(m_tensors.size()), fmt::format("tensor id {}", id));
  return m_tensors[static_cast<std::size_t>(id)];
}

const Op& Graph::op(OpId id) const {
  RDASIM_ASSERT(id >= 0 && id < static_cast<OpId>(m_ops.size()), fmt::format("op id {}", id));
  return m_ops[static_cast<std::size_t>(id)];
}

std::optional<TensorId> Graph::find_tensor(std::string_view name) const {
  auto it = m_tensor_index.find(name);
  return it == m_tensor_index.end() ? std::nullopt : std::optional(it->second);
}

std::optional<OpId> Graph::find_op(std::string_view name) const {
  auto it = m_op_index.find(name);
  return it == m_op_index.end() ? std::nullopt : std::optional(it->second);
}

std::vector<TensorId> Graph::tensors_with(Role role) const {
  std::vector<TensorId> out;
  if (role == Role::output) {
    for (TensorId id : m_output_order) {
      if (tensor(id).role == Role::output) out.push_back(id);
    }
  }
  for (std::size_t i = 0; i < m_tensors.size(); ++i) {
    const auto id = static_cast<TensorId>(i);
    if (m_tensors[i].role == role && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

void Graph::mark_output(TensorId id) {
  tensor(id).role = Role::output;
  if (std::find(m_output_order.begin(), m_output_order.end(), id) == m_output_order.end()) m_output_order.push_back(id);
}

void Graph::set_dim(const std::string& name, std::int64_t size) {
  m_dims[name] = size;
  for (auto& t : m_tensors) {
    for (std::size_t d = 0; d < t.dim_names.size(); ++d) {
      if (t.dim_names[d] == name) t.shape[d] = size;
    }
  }
}

}  // namespace rdasim::graphs
