// The graph as a mapping computes it: see sim/functional/mapped.h.
#include "sim/functional/mapped.h"

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/algorithms.h"
#include "graphs/editor.h"
#include "graphs/op_registry.h"
#include "graphs/parallel.h"
#include "graphs/verify.h"

namespace rdasim::sim::functional {

using graphs::Graph;
using graphs::Op;
using graphs::TensorId;

void add_reduction_splits(const mapper::Mapping& mapping, MappedNumerics& numerics) {
  for (const auto& tenant : mapping.tenants) {
    for (const auto& section : tenant.sections) {
      for (const auto& op : section.ops) {
        if (op.reduction_split > 1) numerics.reduction_splits[op.name] = op.reduction_split;
      }
    }
  }
}

namespace {

class Rewriter {
 public:
  Rewriter(const Graph& graph, const MappedNumerics& numerics)
      : m_src(graph),
        m_numerics(numerics),
        m_editor(m_out.graph) {
    m_out.graph.set_name(graph.name());
    for (const auto& [name, size] : graph.dims()) m_out.graph.set_dim(name, size);
  }

  MappedGraph run() {
    for (const TensorId t : m_src.tensors_with(graphs::Role::input)) source(t);
    for (const auto id : graphs::topological_order(m_src)) copy(id);
    for (const TensorId t : m_src.tensors_with(graphs::Role::output)) m_out.graph.mark_output(tensor(t));
    graphs::verify(m_out.graph);
    return std::move(m_out);
  }

 private:
  TensorId source(TensorId t) {
    if (const auto found = m_map.find(t); found != m_map.end()) return found->second;
    graphs::Tensor copy = m_src.tensor(t);
    copy.producer = -1;
    copy.consumers.clear();
    const TensorId id = m_out.graph.add_tensor(std::move(copy));
    m_map.emplace(t, id);
    return id;
  }

  TensorId tensor(TensorId t) {
    if (t == graphs::k_no_tensor) return t;
    if (m_src.tensor(t).producer < 0) return source(t);
    return m_map.at(t);
  }

  void copy(graphs::OpId id) {
    const Op& op = m_src.op(id);
    const graphs::OpTraits& traits = graphs::op_traits(m_src, id);
    m_editor.place_on(op.device);
    const auto split = m_numerics.reduction_splits.find(op.name);
    if (split != m_numerics.reduction_splits.end() && split->second > 1) {
      const auto cut = traits.reduction_cut ? traits.reduction_cut(graphs::OpContext(m_src, op)) : std::nullopt;
      if (cut) return split_reduction(op, *cut, split->second);
      m_out.unsplit_ops.push_back(op.name);
    }
    std::vector<TensorId> inputs;
    for (const TensorId t : op.inputs) inputs.push_back(tensor(t));
    graphs::Attrs attrs = op.attrs;
    if (traits.link == graphs::LinkKind::all_reduce) {
      if (const auto a = m_numerics.all_reduce_algorithms.find(op.name); a != m_numerics.all_reduce_algorithms.end()) {
        attrs.values["algorithm"] = a->second;
      }
      attrs.values["link_dtype"] = std::string(m_numerics.bf16_links ? "bf16" : "f32");
    }
    std::vector<std::string> names;
    for (const TensorId t : op.outputs) names.push_back(m_src.tensor(t).name);
    const auto outs = m_editor.op_named(op.kind, op.name, inputs, names, attrs);
    for (std::size_t k = 0; k < op.outputs.size(); ++k) m_map.emplace(op.outputs[k], outs[k]);
  }

  TensorId slice(TensorId t, int axis, std::int64_t begin, std::int64_t end, const std::string& name) {
    return m_editor.op(std::string(graphs::kind::slice), name,
                       {t, m_editor.ints(name + "/starts", {begin}), m_editor.ints(name + "/ends", {end}),
                        m_editor.ints(name + "/axes", {axis})});
  }

  void split_reduction(const Op& op, const graphs::ReductionCut& cut, int ways) {
    // The reduction's extent: the first input's along its cut axis.
    const std::int64_t extent = m_src.tensor(op.inputs[0]).shape.at(static_cast<std::size_t>(cut.axes.at(0)));
    const auto parts = graphs::even_split(extent, static_cast<int>(std::min<std::int64_t>(ways, extent)));
    const std::string out_name = m_src.tensor(op.outputs[0]).name;
    std::vector<TensorId> partials;
    std::int64_t begin = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const std::int64_t end = begin + parts[i];
      const std::string base = fmt::format("{}/k{}", op.name, i);
      std::vector<TensorId> inputs;
      for (std::size_t slot = 0; slot < op.inputs.size(); ++slot) {
        const int axis = slot < cut.axes.size() ? cut.axes[slot] : -1;
        const bool once = std::find(cut.once.begin(), cut.once.end(), slot) != cut.once.end();
        if (op.inputs[slot] == graphs::k_no_tensor || (once && i > 0)) {
          inputs.push_back(graphs::k_no_tensor);
        } else if (axis >= 0) {
          inputs.push_back(slice(tensor(op.inputs[slot]), axis, begin, end, fmt::format("{}/in{}", base, slot)));
        } else {
          inputs.push_back(tensor(op.inputs[slot]));
        }
      }
      while (!inputs.empty() && inputs.back() == graphs::k_no_tensor) inputs.pop_back();
      const std::string partial = fmt::format("{}/partial{}", out_name, i);
      partials.push_back(m_editor.op_named(op.kind, base, inputs, {partial}, op.attrs).front());
      m_out.fp32_tensors.insert(partial);
      begin = end;
    }
    // The partial-sum tree: pairs at each level, the last sum the op's own output.
    int level = 0;
    while (partials.size() > 1) {
      std::vector<TensorId> next;
      for (std::size_t i = 0; i + 1 < partials.size(); i += 2) {
        const bool last = partials.size() == 2;
        const std::string name = last ? out_name : fmt::format("{}/sum{}_{}", out_name, level, i / 2);
        next.push_back(m_editor
                           .op_named(std::string(graphs::kind::add), fmt::format("{}/add{}_{}", op.name, level, i / 2),
                                     {partials[i], partials[i + 1]}, {name})
                           .front());
        if (!last) m_out.fp32_tensors.insert(name);
      }
      if (partials.size() % 2 == 1) next.push_back(partials.back());
      partials = std::move(next);
      ++level;
    }
    m_map.emplace(op.outputs[0], partials.front());
    ++m_out.split_ops;
  }

  const Graph& m_src;
  const MappedNumerics& m_numerics;
  MappedGraph m_out;
  graphs::GraphEditor m_editor;
  std::map<TensorId, TensorId> m_map;
};

}  // namespace

MappedGraph as_mapped(const Graph& graph, const MappedNumerics& numerics) { return Rewriter(graph, numerics).run(); }

}  // namespace rdasim::sim::functional
