#include "graphs/autodiff.h"

#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/algorithms.h"
#include "graphs/op_registry.h"

namespace rdasim::graphs {

std::string GradientBuilder::name_of(const std::string& what) const {
  return fmt::format("grad/{}/{}", op().name, what);
}

TensorId GradientBuilder::emit(const std::string& kind, const std::string& what, std::vector<TensorId> inputs,
                               Attrs attrs) {
  return m_editor.op(kind, name_of(what), std::move(inputs), std::move(attrs));
}

std::vector<TensorId> GradientBuilder::emit_n(const std::string& kind, const std::string& what,
                                              std::vector<TensorId> inputs, std::size_t outputs, Attrs attrs) {
  return m_editor.op_n(kind, name_of(what), std::move(inputs), outputs, std::move(attrs));
}

TensorId GradientBuilder::ints(const std::string& what, const std::vector<std::int64_t>& values) {
  return m_editor.ints(name_of(what), values);
}

TensorId GradientBuilder::constant(const std::string& what, Shape shape, std::vector<double> values, DType dtype) {
  return m_editor.source(m_editor.unique(name_of(what)), std::move(shape), Role::constant, dtype, std::move(values));
}

TensorId GradientBuilder::scalar(const std::string& what, double value) {
  return m_editor.scalar(name_of(what), value, tensor(output(0)).dtype);  // the type the op's gradients have
}

TensorId GradientBuilder::grad_output_or_zeros(std::size_t i) {
  if (grad_output(i) != k_no_tensor) return grad_output(i);
  const Shape s = shape(output(i));
  return emit("Expand", fmt::format("zeros{}", i), {scalar("zero", 0.0), ints("zeros_shape", {s.begin(), s.end()})});
}

void GradientBuilder::set_grad(std::size_t i, TensorId grad) {
  RDASIM_ASSERT(i < m_input_grads.size(),
                fmt::format("{}: gradient for input {} of {}", op().kind, i, m_input_grads.size()));
  RDASIM_ASSERT(shape(grad) == shape(input(i)),
                fmt::format("gradient rule of {} ('{}'): input {} is {} but its gradient is {}", op().kind, op().name,
                            i, to_string(shape(input(i))), to_string(shape(grad))));
  m_input_grads[i] = grad;
}

TensorId GradientBuilder::sum_to(TensorId grad, const Shape& target) {
  if (shape(grad) == target) return grad;
  return emit("SumTo", "sum_to", {grad},
              make_attrs({{"shape", std::vector<std::int64_t>(target.begin(), target.end())}}));
}

TensorId GradientBuilder::reshape(TensorId grad, const Shape& target) {
  if (shape(grad) == target) return grad;
  return emit("Reshape", "reshape", {grad, ints("shape", {target.begin(), target.end()})});
}

void GradientBuilder::unsupported(const std::string& message) const {
  throw core::UnsupportedError(core::Location(graph().name(), 0, 0, op().name),
                               fmt::format("op '{}' ({}): no gradient: {}", op().name, op().kind, message));
}

Gradients add_gradients(Graph& graph, TensorId loss, const std::vector<TensorId>& wrt) {
  const auto order = topological_order(graph);
  const std::size_t forward_tensors = graph.tensors().size();
  // Tensors that depend on a param we differentiate for, and tensors the loss depends on.
  std::vector<bool> depends(forward_tensors, false), reaches(forward_tensors, false);
  for (TensorId p : wrt) depends[static_cast<std::size_t>(p)] = true;
  for (OpId id : order) {
    const Op& op = graph.op(id);
    bool any = false;
    for (TensorId t : op.inputs) any = any || (t != k_no_tensor && depends[static_cast<std::size_t>(t)]);
    for (TensorId t : op.outputs) depends[static_cast<std::size_t>(t)] = any && is_float(graph.tensor(t).dtype);
  }
  reaches[static_cast<std::size_t>(loss)] = true;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Op& op = graph.op(*it);
    bool any = false;
    for (TensorId t : op.outputs) any = any || reaches[static_cast<std::size_t>(t)];
    if (!any) continue;
    for (TensorId t : op.inputs) {
      if (t != k_no_tensor) reaches[static_cast<std::size_t>(t)] = true;
    }
  }

  GraphEditor editor(graph);
  Gradients result;
  std::map<TensorId, std::vector<TensorId>> pending;  // tensor -> gradient contributions
  const std::size_t ops_before = graph.ops().size();
  // The gradient of a tensor: its contributions summed (one Add per extra consumer).
  auto gradient_of = [&](TensorId t) -> TensorId {
    auto it = pending.find(t);
    if (it == pending.end() || it->second.empty()) return k_no_tensor;
    auto& parts = it->second;
    TensorId sum = parts.front();
    for (std::size_t k = 1; k < parts.size(); ++k) {
      sum = editor.op("Add", fmt::format("grad/{}/sum", graph.tensor(t).name), {sum, parts[k]});
    }
    parts.assign(1, sum);
    return sum;
  };
  {
    const Shape loss_shape = graph.tensor(loss).shape;
    TensorId seed = editor.scalar("grad/" + graph.tensor(loss).name + "/seed", 1.0, graph.tensor(loss).dtype);
    if (!loss_shape.empty()) {
      seed = editor.op("Expand", "grad/" + graph.tensor(loss).name + "/ones",
                       {seed, editor.ints("grad/loss_shape", {loss_shape.begin(), loss_shape.end()})});
    }
    pending[loss].push_back(seed);
  }
  const auto& registry = OpRegistry::instance();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const OpId id = *it;
    const Op op = graph.op(id);  // a copy: the editor adds ops while the rule runs
    std::vector<bool> wanted(op.inputs.size(), false);
    bool any_wanted = false;
    for (std::size_t i = 0; i < op.inputs.size(); ++i) {
      const TensorId t = op.inputs[i];
      wanted[i] = t != k_no_tensor && depends[static_cast<std::size_t>(t)] && reaches[static_cast<std::size_t>(t)];
      any_wanted = any_wanted || wanted[i];
    }
    if (!any_wanted) continue;
    std::vector<TensorId> output_grads;
    bool any_grad = false;
    for (TensorId t : op.outputs) {
      output_grads.push_back(gradient_of(t));
      any_grad = any_grad || output_grads.back() != k_no_tensor;
    }
    if (!any_grad) continue;
    const OpDef& def = *registry.find(op.kind);
    GradientBuilder builder(editor, id, std::move(output_grads), wanted);
    if (!def.gradient) builder.unsupported("the op kind has no gradient rule");
    def.gradient(builder);
    for (std::size_t i = 0; i < op.inputs.size(); ++i) {
      const TensorId g = builder.input_grads()[i];
      RDASIM_ASSERT(!wanted[i] || g != k_no_tensor,
                    fmt::format("gradient rule of {} ('{}') left input {} without a gradient", op.kind, op.name, i));
      if (wanted[i]) pending[op.inputs[i]].push_back(g);
    }
  }
  for (TensorId p : wrt) {
    TensorId g = gradient_of(p);
    if (g == k_no_tensor) {  // the param does not reach the loss: its gradient is zero
      const Shape s = graph.tensor(p).shape;
      g = editor.op("Expand", "grad/" + graph.tensor(p).name + "/zeros",
                    {editor.scalar("grad/zero", 0.0, graph.tensor(p).dtype),
                     editor.ints("grad/zeros_shape", {s.begin(), s.end()})});
    }
    result.of[p] = g;
  }
  std::set<TensorId> read;
  for (std::size_t id = ops_before; id < graph.ops().size(); ++id) {
    result.backward_ops.push_back(static_cast<OpId>(id));
    for (TensorId t : graph.ops()[id].inputs) {
      if (t != k_no_tensor && static_cast<std::size_t>(t) < forward_tensors && graph.tensor(t).producer >= 0 &&
          static_cast<std::size_t>(graph.tensor(t).producer) < ops_before) {
        read.insert(t);
      }
    }
  }
  for (TensorId t : read) {
    const OpDef* def = registry.find(graph.op(graph.tensor(t).producer).kind);
    (def->is_view ? result.recomputed : result.saved).push_back(t);
  }
  return result;
}

}  // namespace rdasim::graphs
