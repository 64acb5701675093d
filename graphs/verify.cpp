// Structural checks, shape inference and verification.
#include "graphs/verify.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "graphs/algorithms.h"
#include "graphs/kernel.h"
#include "graphs/op_registry.h"

namespace rdasim::graphs {

namespace {

[[noreturn]] void fail_tensor(const Graph& g, const Tensor& t, const std::string& message) {
  throw core::InputError(core::Location(g.name(), 0, 0, t.name), fmt::format("tensor '{}': {}", t.name, message));
}

bool attr_matches(AttrType type, const AttrValue& value) {
  switch (type) {
    case AttrType::int_: return std::holds_alternative<std::int64_t>(value);
    case AttrType::float_: return std::holds_alternative<double>(value);
    case AttrType::string: return std::holds_alternative<std::string>(value);
    case AttrType::ints: return std::holds_alternative<std::vector<std::int64_t>>(value);
    case AttrType::floats: return std::holds_alternative<std::vector<double>>(value);
    case AttrType::strings: return std::holds_alternative<std::vector<std::string>>(value);
  }
  return false;
}

std::string arity(std::size_t lo, std::size_t hi) {
  if (lo == hi) return fmt::format("{}", lo);
  if (hi >= k_variadic) return fmt::format("at least {}", lo);
  return fmt::format("{} to {}", lo, hi);
}

void check_tensor(const Graph& g, const Tensor& t) {
  if (!checked_elements(t.shape)) {
    fail_tensor(g, t, fmt::format("shape {} has a negative dimension or more than 2^63 elements", to_string(t.shape)));
  }
  if (t.values && static_cast<std::int64_t>(t.values->size()) != *checked_elements(t.shape)) {
    fail_tensor(g, t,
                fmt::format("has {} values for shape {} ({} elements)", t.values->size(), to_string(t.shape),
                            *checked_elements(t.shape)));
  }
  const bool produced = t.producer >= 0;
  switch (t.role) {
    case Role::input:
    case Role::param:
    case Role::constant:
    case Role::state:
      if (produced && g.op(t.producer).kind != "Constant") {
        fail_tensor(g, t, fmt::format("is a graph {} but op '{}' writes it", to_string(t.role), g.op(t.producer).name));
      }
      break;
    case Role::activation:
    case Role::output:
      if (!produced) {
        const std::string reader = t.consumers.empty() ? "" : fmt::format(" (read by '{}')", g.op(t.consumers[0]).name);
        fail_tensor(g, t, fmt::format("no op produces it{}; expected an input, param or const of that name", reader));
      }
      break;
  }
}

/// Op kinds, arities and attributes. Returns the defs, indexed by op id.
std::vector<const OpDef*> check_ops(const Graph& g) {
  const OpRegistry& registry = OpRegistry::instance();
  std::vector<const OpDef*> defs;
  std::vector<std::string> unknown;
  for (const Op& op : g.ops()) {
    const OpDef* def = registry.find(op.kind);
    defs.push_back(def);
    if (!def) unknown.push_back(fmt::format("'{}' ({})", op.name, op.kind));
  }
  if (!unknown.empty()) {
    // All at once, so a user sees every missing kind in one go.
    std::string list;
    for (std::size_t i = 0; i < unknown.size(); ++i) list += (i ? ", " : "") + unknown[i];
    throw core::UnsupportedError(
        core::Location(g.name()),
        fmt::format("{} op{} of unsupported kind: {}", unknown.size(), unknown.size() == 1 ? "" : "s", list));
  }
  for (std::size_t i = 0; i < defs.size(); ++i) {
    const Op& op = g.ops()[i];
    const OpDef& def = *defs[i];
    const OpContext ctx(g, op);
    if (op.inputs.size() < def.min_inputs || op.inputs.size() > def.max_inputs) {
      ctx.fail(fmt::format("has {} inputs, expected {}", op.inputs.size(), arity(def.min_inputs, def.max_inputs)));
    }
    for (std::size_t k = 0; k < def.min_inputs; ++k) {
      if (op.inputs[k] == k_no_tensor) ctx.fail(fmt::format("input {} is required but omitted", k));
    }
    if (op.outputs.size() < def.min_outputs || op.outputs.size() > def.max_outputs) {
      ctx.fail(fmt::format("has {} outputs, expected {}", op.outputs.size(), arity(def.min_outputs, def.max_outputs)));
    }
    std::vector<std::string> names;
    for (const auto& a : def.attrs) names.push_back(a.name);
    for (const auto& attr : op.attrs.values) {
      const std::string& name = attr.first;  // (clang 14 cannot capture a structured binding)
      const AttrValue& value = attr.second;
      auto it = std::find_if(def.attrs.begin(), def.attrs.end(), [&](const AttrDecl& a) { return a.name == name; });
      if (it == def.attrs.end()) {
        ctx.fail(fmt::format("unknown attribute '{}'{}; {} has {}", name, core::did_you_mean(name, names), op.kind,
                             names.empty() ? "none" : core::quoted_list(names)));
      }
      if (!attr_matches(it->type, value)) {
        ctx.fail(fmt::format("attribute '{}' must be {}, found {}", name, to_string(it->type), attr_type_name(value)));
      }
    }
    for (const auto& a : def.attrs) {
      if (!a.default_value && !a.optional && !op.attrs.has(a.name)) {
        ctx.fail(fmt::format("missing required attribute '{}' ({})", a.name, to_string(a.type)));
      }
    }
  }
  return defs;
}

/// Largest output (in elements) whose values shape inference computes while it goes: enough
/// for the shape arithmetic exporters emit, small enough never to cost real time.
constexpr std::int64_t k_propagate_limit = 1 << 16;
/// And the most arithmetic it spends on one op (a pooling window of absurd size over a small
/// constant must not stall an import).
constexpr double k_propagate_flops = 1e8;

/// Whether the op's output values follow from what is known now: Shape reads only its input's
/// shape; other ops need every input to be a constant or already computed (never params or
/// inputs, which change between runs or training steps).
bool values_known(const Graph& g, const Op& op, const OpDef& def) {
  if (!def.kernel) return false;
  for (TensorId t : op.outputs) {
    if (checked_elements(g.tensor(t).shape).value_or(k_propagate_limit + 1) > k_propagate_limit) return false;
  }
  if (op.kind == "Shape") return true;
  for (TensorId t : op.inputs) {
    if (t == k_no_tensor) continue;
    const Tensor& in = g.tensor(t);
    const bool fixed = in.role == Role::constant || (in.role == Role::activation && in.producer >= 0);
    if (!fixed || !in.values) return false;
  }
  return def.flops(OpContext(g, op)) <= k_propagate_flops;
}

/// Computes an op's output values in double with its reference kernel.
void propagate_values(Graph& g, const Op& op, const OpDef& def) {
  std::vector<Array<double>> inputs;
  inputs.reserve(op.inputs.size());
  for (TensorId t : op.inputs) {
    Array<double> a;
    if (t != k_no_tensor) {
      a.shape = g.tensor(t).shape;
      if (g.tensor(t).values) a.data = *g.tensor(t).values;
    }
    inputs.push_back(std::move(a));
  }
  std::vector<const Array<double>*> in_ptrs;
  for (std::size_t i = 0; i < op.inputs.size(); ++i)
    in_ptrs.push_back(op.inputs[i] == k_no_tensor ? nullptr : &inputs[i]);
  std::vector<Array<double>> outputs;
  for (TensorId t : op.outputs) outputs.emplace_back(g.tensor(t).shape);
  std::vector<Array<double>*> out_ptrs;
  for (auto& o : outputs) out_ptrs.push_back(&o);
  def.kernel.f64(KernelIO<double>(op, in_ptrs, out_ptrs));
  for (std::size_t k = 0; k < op.outputs.size(); ++k) {
    Tensor& out = g.tensor(op.outputs[k]);
    for (auto& v : outputs[k].data) v = representable(out.dtype, v);
    out.values = std::move(outputs[k].data);
  }
}

/// Runs every shape rule in order. With `update` (the same graph, writable) the results are
/// written; without, they are compared with what the graph holds.
void run_shape_rules(const Graph& g, Graph* update) {
  for (const Tensor& t : g.tensors()) {
    if (t.producer < 0) check_tensor(g, t);
  }
  const auto defs = check_ops(g);
  for (OpId id : topological_order(g)) {
    const Op& op = g.op(id);
    const OpContext ctx(g, op);
    const auto infos = defs[static_cast<std::size_t>(id)]->infer(ctx);
    RDASIM_ASSERT(infos.size() == op.outputs.size(),
                  fmt::format("shape rule of {} gave {} outputs for {}", op.kind, infos.size(), op.outputs.size()));
    for (std::size_t k = 0; k < infos.size(); ++k) {
      const Tensor& out = g.tensor(op.outputs[k]);
      if (update) {
        Tensor& written = update->tensor(op.outputs[k]);
        written.shape = infos[k].shape;
        written.dim_names.assign(written.shape.size(), "");
        written.dtype = infos[k].dtype;
      } else if (out.shape != infos[k].shape || out.dtype != infos[k].dtype) {
        ctx.fail(fmt::format("output '{}' is {} {} but the shape rule gives {} {}", out.name, to_string(out.dtype),
                             to_string(out.shape), to_string(infos[k].dtype), to_string(infos[k].shape)));
      }
      check_tensor(g, out);
    }
    const OpDef& def = *defs[static_cast<std::size_t>(id)];
    if (update && values_known(g, op, def)) propagate_values(*update, op, def);
  }
}

}  // namespace

void infer_shapes(Graph& graph) { run_shape_rules(graph, &graph); }

void verify(const Graph& graph) { run_shape_rules(graph, nullptr); }

}  // namespace rdasim::graphs
