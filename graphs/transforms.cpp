#include "graphs/transforms.h"

#include <vector>

#include "graphs/verify.h"

namespace rdasim::graphs {

Graph fold_constants(const Graph& graph) {
  const auto ops = graph.ops();
  std::vector<bool> folded(ops.size(), false);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    bool all_known = true;
    for (TensorId t : ops[i].outputs) {
      const Tensor& out = graph.tensor(t);
      all_known = all_known && out.values.has_value() && out.role != Role::output;
    }
    folded[i] = all_known;
  }
  // A tensor survives when a kept op reads or writes it, or when it is an input, param or output.
  const auto tensors = graph.tensors();
  std::vector<bool> used(tensors.size(), false);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (folded[i]) continue;
    for (TensorId t : ops[i].inputs) {
      if (t != k_no_tensor) used[static_cast<std::size_t>(t)] = true;
    }
    for (TensorId t : ops[i].outputs) used[static_cast<std::size_t>(t)] = true;
  }
  Graph out(graph.name());
  for (const auto& [name, size] : graph.dims()) out.set_dim(name, size);
  std::vector<TensorId> remap(tensors.size(), k_no_tensor);
  for (std::size_t id = 0; id < tensors.size(); ++id) {
    const Tensor& t = tensors[id];
    const bool source = t.role == Role::input || t.role == Role::param || t.role == Role::output;
    if (!used[id] && !source) continue;
    Tensor copy = t;
    if (t.producer >= 0 && folded[static_cast<std::size_t>(t.producer)]) copy.role = Role::constant;
    remap[id] = out.add_tensor(std::move(copy));
  }
  for (TensorId id : graph.tensors_with(Role::output)) out.mark_output(remap[static_cast<std::size_t>(id)]);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (folded[i]) continue;
    Op op = ops[i];
    for (auto& t : op.inputs) t = t == k_no_tensor ? k_no_tensor : remap[static_cast<std::size_t>(t)];
    for (auto& t : op.outputs) t = remap[static_cast<std::size_t>(t)];
    out.add_op(std::move(op));
  }
  verify(out);
  return out;
}

}  // namespace rdasim::graphs
