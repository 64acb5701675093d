// The registry, the context shape rules read, and the generic part of op costs.
#include "graphs/op_registry.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace rdasim::graphs {

std::string_view to_string(AttrType type) {
  switch (type) {
    case AttrType::int_: return "int";
    case AttrType::float_: return "float";
    case AttrType::string: return "string";
    case AttrType::ints: return "ints";
    case AttrType::floats: return "floats";
    case AttrType::strings: return "strings";
  }
  return "?";
}

const Tensor& OpContext::input(std::size_t i) const {
  RDASIM_ASSERT(has_input(i), fmt::format("op '{}' has no input {}", m_op.name, i));
  return m_graph.tensor(m_op.inputs[i]);
}

const Tensor& OpContext::output(std::size_t i) const {
  RDASIM_ASSERT(i < m_op.outputs.size(), fmt::format("op '{}' has no output {}", m_op.name, i));
  return m_graph.tensor(m_op.outputs[i]);
}

const std::vector<double>& OpContext::const_values(std::size_t i, std::string_view what) const {
  const Tensor& t = input(i);
  if (!t.values) {
    fail(fmt::format("{} ('{}') must be a constant with known values", what, t.name));
  }
  return *t.values;
}

std::optional<std::vector<std::int64_t>> OpContext::const_ints(std::size_t i, std::string_view what) const {
  if (!has_input(i)) return std::nullopt;
  const auto& values = const_values(i, what);
  std::vector<std::int64_t> out;
  out.reserve(values.size());
  for (double v : values) out.push_back(to_index(v));
  return out;
}

void OpContext::fail(const std::string& message) const {
  throw core::InputError(core::Location(m_graph.name(), 0, 0, m_op.name),
                         fmt::format("op '{}' ({}): {}", m_op.name, m_op.kind, message));
}

void OpContext::unsupported(const std::string& message) const {
  throw core::UnsupportedError(core::Location(m_graph.name(), 0, 0, m_op.name),
                               fmt::format("op '{}' ({}): {}", m_op.name, m_op.kind, message));
}

void OpContext::require_rank(std::size_t i, std::size_t rank_min, std::size_t rank_max, std::string_view what) const {
  const std::size_t rank = in_shape(i).size();
  if (rank < rank_min || rank > rank_max) {
    const std::string expected = rank_min == rank_max     ? fmt::format("{}", rank_min)
                                 : rank_max >= k_variadic ? fmt::format("at least {}", rank_min)
                                                          : fmt::format("{} to {}", rank_min, rank_max);
    fail(fmt::format("{} ('{}') must have rank {}, found shape {}", what, input(i).name, expected,
                     to_string(in_shape(i))));
  }
}

std::size_t OpContext::normalize_axis(std::int64_t axis, std::size_t rank, std::string_view what) const {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) {
    fail(fmt::format("{} {} is out of range for rank {}; expected {} to {}", what, axis, rank, -r, r - 1));
  }
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const std::int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

const OpRegistry& OpRegistry::instance() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_elementwise_ops(r);
    register_linalg_ops(r);
    register_conv_ops(r);
    register_tensor_ops(r);
    register_norm_reduce_ops(r);
    register_recurrent_ops(r);
    register_optimizer_ops(r);
    register_collective_ops(r);
    register_transformer_ops(r);
    return r;
  }();
  return registry;
}

const OpDef* OpRegistry::find(std::string_view kind) const {
  auto it = m_defs.find(kind);
  return it == m_defs.end() ? nullptr : &it->second;
}

std::vector<std::string> OpRegistry::kinds() const {
  std::vector<std::string> out;
  for (const auto& [kind, def] : m_defs) out.push_back(kind);
  return out;
}

const OpTraits* OpRegistry::traits(std::string_view kind) const {
  const OpDef* def = find(kind);
  return def == nullptr ? nullptr : &*def->traits;
}

void OpRegistry::add(OpDef def) {
  RDASIM_ASSERT(def.infer && def.flops, "op kind without shape rule or cost: " + def.kind);
  RDASIM_ASSERT(def.traits.has_value(), "op kind without traits (graphs/op_traits.h): " + def.kind);
  RDASIM_ASSERT(def.traits->engine != Engine::matrix || def.traits->gemm,
                "matrix op kind without a GEMM view: " + def.kind);
  RDASIM_ASSERT(static_cast<bool>(def.traits->stream),
                "op kind without a stream rule (what its output tokens need of its inputs): " + def.kind);
  const std::string kind = def.kind;
  RDASIM_ASSERT(m_defs.emplace(kind, std::move(def)).second, "op kind registered twice: " + kind);
}

const OpTraits& op_traits(const Graph& graph, OpId op) {
  const OpTraits* traits = OpRegistry::instance().traits(graph.op(op).kind);
  RDASIM_ASSERT(traits != nullptr, "unknown op kind " + graph.op(op).kind);
  return *traits;
}

GpuKernel gpu_kernel(const Graph& graph, OpId op) {
  const OpTraits& traits = op_traits(graph, op);
  return traits.gpu_for ? traits.gpu_for(OpContext(graph, graph.op(op))) : traits.gpu;
}

GemmView gemm_view(const Graph& graph, OpId op) {
  const OpTraits& traits = op_traits(graph, op);
  RDASIM_ASSERT(traits.gemm, "op '" + graph.op(op).name + "' (" + graph.op(op).kind + ") has no GEMM view");
  return traits.gemm(OpContext(graph, graph.op(op)));
}

Cost op_cost(const Graph& graph, OpId id) {
  const Op& op = graph.op(id);
  const OpDef* def = OpRegistry::instance().find(op.kind);
  RDASIM_ASSERT(def != nullptr, "unknown op kind " + op.kind);
  const OpContext ctx(graph, op);
  Cost cost;
  cost.flops = def->flops(ctx);
  if (def->is_view) return cost;
  for (std::size_t slot = 0; slot < op.inputs.size(); ++slot) {
    const TensorId t = op.inputs[slot];
    if (t == k_no_tensor) continue;
    const Tensor& in = graph.tensor(t);
    const double bytes = elements_read(graph, id, slot) * static_cast<double>(byte_size(in.dtype));
    cost.bytes_read += bytes;
    if (is_stored(in.role)) cost.param_bytes += bytes;
  }
  for (std::size_t k = 0; k < op.outputs.size(); ++k) {
    const Tensor& out = graph.tensor(op.outputs[k]);
    cost.bytes_written += elements_written(graph, id, k) * static_cast<double>(byte_size(out.dtype));
  }
  return cost;
}

double elements_read(const Graph& graph, OpId id, std::size_t slot) {
  const Op& op = graph.op(id);
  const OpTraits& traits = op_traits(graph, id);
  const Tensor& in = graph.tensor(op.inputs.at(slot));
  if (traits.updates_in_place == slot) return 0;
  const double all = static_cast<double>(in.elements());
  if (const auto& indexed = traits.indexed_read; indexed && is_stored(in.role) && !in.shape.empty() &&
                                                 op.attrs.get_int("axis", 0) == 0 &&
                                                 std::ranges::find(indexed->tables, slot) != indexed->tables.end()) {
    const std::size_t ix = indexed->index_input;
    if (ix >= op.inputs.size() || op.inputs[ix] == k_no_tensor) return all;
    const double rows = static_cast<double>(graph.tensor(op.inputs[ix]).elements());
    return std::min(all, rows * all / static_cast<double>(in.shape[0]));
  }
  return all;
}

double elements_written(const Graph& graph, OpId id, std::size_t k) {
  const Op& op = graph.op(id);
  const auto in_place = op_traits(graph, id).updates_in_place;
  if (k == 0 && in_place) return static_cast<double>(graph.tensor(op.inputs.at(*in_place + 1)).elements());
  return static_cast<double>(graph.tensor(op.outputs.at(k)).elements());
}

bool updated_in_place(const Graph& graph, TensorId t) {
  const OpId producer = graph.tensor(t).producer;
  return producer >= 0 && op_traits(graph, producer).updates_in_place.has_value() &&
         graph.op(producer).outputs.front() == t;
}

}  // namespace rdasim::graphs
