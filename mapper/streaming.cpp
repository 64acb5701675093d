#include "mapper/streaming.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "graphs/op_registry.h"
#include "mapper/sections.h"

namespace rdasim::mapper {

using graphs::Dependency;

namespace {

/// Element-wise kinds keep an image's layout: what they read and write are held alike.
bool keeps_layout(const graphs::OpTraits& traits) {
  return traits.engine == Engine::vector && !traits.reduces && traits.gpu == graphs::GpuKernel::vector;
}

bool is_image(const graphs::Tensor& t) { return t.shape.size() >= 4; }

/// How many slices of its input a reader runs behind the position it emits: a slice's worth
/// when it needs each slice whole, the halo for a window.
double lag_slices(const TokenNeed& need) {
  switch (need.dependency) {
    case Dependency::slice: return 1.0;
    case Dependency::window: return static_cast<double>(need.halo);
    case Dependency::same:
    case Dependency::prefix:
    case Dependency::all: return 0.0;
  }
  return 0.0;
}

}  // namespace

std::vector<bool> channels_last_tensors(const graphs::Graph& g) {
  std::vector<bool> last(g.tensors().size(), false);
  std::vector<graphs::TensorId> pending;
  const auto mark = [&](graphs::TensorId t) {
    if (t == graphs::k_no_tensor || last[static_cast<std::size_t>(t)] || !is_image(g.tensor(t))) return;
    last[static_cast<std::size_t>(t)] = true;
    pending.push_back(t);
  };
  for (std::size_t i = 0; i < g.ops().size(); ++i) {
    const auto& op = g.ops()[i];
    if (!graphs::op_traits(g, static_cast<graphs::OpId>(i)).channels_last) continue;
    for (graphs::TensorId t : op.inputs) {
      if (t != graphs::k_no_tensor && !graphs::is_stored(g.tensor(t).role)) mark(t);
    }
    for (graphs::TensorId t : op.outputs) mark(t);
  }
  // Spread over element-wise ops, both ways: x + conv(x) holds x and the sum as the conv does.
  while (!pending.empty()) {
    const graphs::TensorId t = pending.back();
    pending.pop_back();
    const auto& tensor = g.tensor(t);
    std::vector<graphs::OpId> neighbours(tensor.consumers.begin(), tensor.consumers.end());
    if (tensor.producer >= 0) neighbours.push_back(tensor.producer);
    for (graphs::OpId n : neighbours) {
      if (!keeps_layout(graphs::op_traits(g, n))) continue;
      for (graphs::TensorId u : g.op(n).inputs) {
        if (u != graphs::k_no_tensor && !graphs::is_stored(g.tensor(u).role)) mark(u);
      }
      for (graphs::TensorId u : g.op(n).outputs) mark(u);
    }
  }
  return last;
}

StreamAxis streamed_axis(const graphs::Shape& shape, bool channels_last) {
  std::vector<std::size_t> order(shape.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::size_t first = 0;                     // where to look for the streamed axis
  if (channels_last && shape.size() >= 3) {  // N, spatial..., C: rows of every image in turn
    order.erase(order.begin() + 1);
    order.push_back(1);
    for (std::size_t i = 1; i + 1 < order.size(); ++i) {
      if (shape[order[i]] > 1) {
        first = i;
        break;
      }
    }
  }
  std::int64_t slices = 1;
  for (std::size_t i = 0; i < order.size(); ++i) {
    slices *= shape[order[i]];
    if (i >= first && shape[order[i]] > 1) return {static_cast<int>(order[i]), slices};
  }
  return {};
}

SectionStreaming stream_section(const graphs::Graph& g, const std::vector<OpDemand>& demands, const Section& section,
                                const std::vector<bool>& channels_last, const arch::Spec& spec, double dram_per_cycle) {
  const double bytes_per_element = element_bytes(spec);
  const double pmu_bytes = spec.pmu().capacity_kib * 1024.0;
  const auto& ops = section.ops;
  std::map<graphs::OpId, std::size_t> index_of;
  for (std::size_t i = 0; i < ops.size(); ++i) index_of[ops[i].op] = i;
  const auto demand = [&](std::size_t i) -> const OpDemand& { return demands[static_cast<std::size_t>(ops[i].op)]; };
  const auto bytes_of = [&](graphs::TensorId t) {
    return static_cast<double>(g.tensor(t).elements()) * bytes_per_element;
  };
  // The section op whose units hold tensor t (views pass their input through), and the
  // tensor it writes.
  const auto holder = [&](graphs::TensorId t) -> std::pair<std::optional<std::size_t>, graphs::TensorId> {
    for (;;) {
      const auto producer = g.tensor(t).producer;
      const auto it = index_of.find(producer);
      // From DRAM: made outside the section, or a cache written in place (read where it lives).
      if (producer < 0 || it == index_of.end() || graphs::updated_in_place(g, t)) return {std::nullopt, t};
      if (demand(it->second).engine != Engine::none) return {it->second, t};
      const auto& inputs = g.op(producer).inputs;
      if (inputs.empty() || inputs[0] == graphs::k_no_tensor) return {std::nullopt, t};
      t = inputs[0];
    }
  };
  const auto layout = [&](graphs::TensorId t) { return channels_last[static_cast<std::size_t>(t)]; };

  SectionStreaming out;
  double largest = -1;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (demand(i).engine == Engine::none) continue;
    const graphs::Op& op = g.op(ops[i].op);
    const graphs::TensorId result = op.outputs.front();
    if (bytes_of(result) > largest) {
      largest = bytes_of(result);
      const auto axis = streamed_axis(g.tensor(result).shape, layout(result));
      out.streamed = axis.axis < 0 ? fmt::format("{} (one token)", g.tensor(result).name)
                                   : fmt::format("axis {} of {} {} ({} slices{})", axis.axis, g.tensor(result).name,
                                                 graphs::to_string(g.tensor(result).shape), axis.slices,
                                                 layout(result) ? ", channels-last" : "");
    }
    const graphs::OpContext ctx(g, op);
    const StreamAxis out_axis = streamed_axis(g.tensor(result).shape, layout(result));
    const auto& rule = graphs::op_traits(g, ops[i].op).stream;
    for (std::size_t slot = 0; slot < op.inputs.size(); ++slot) {
      const graphs::TensorId t = op.inputs[slot];
      if (t == graphs::k_no_tensor || graphs::is_stored(g.tensor(t).role)) continue;  // weights: resident
      if (graphs::elements_read(g, ops[i].op, slot) <= 0) continue;                   // updated in place, unread
      SectionEdge e;
      e.consumer = i;
      e.tensor = t;
      std::tie(e.producer, e.source) = holder(t);
      e.bytes = bytes_of(t);
      graphs::StreamNeed need =
          out_axis.axis < 0 ? graphs::StreamNeed::whole() : rule(ctx, slot, static_cast<std::size_t>(out_axis.axis));
      if (need.dependency != Dependency::all && e.producer) {
        // From another op the input arrives in its own order: streamed along another axis, or
        // laid out otherwise, it must be gathered whole first. From DRAM it is read in the
        // order the op needs.
        const StreamAxis in_axis = streamed_axis(g.tensor(t).shape, layout(t));
        if (in_axis.axis != need.axis || layout(t) != layout(e.source)) need = graphs::StreamNeed::whole();
      }
      e.need.dependency = need.dependency;
      if (need.dependency == Dependency::slice || need.dependency == Dependency::window ||
          need.dependency == Dependency::prefix) {
        const StreamAxis in_axis = streamed_axis(g.tensor(t).shape, layout(t));
        e.need.slices =
            in_axis.axis == need.axis ? in_axis.slices : g.tensor(t).shape[static_cast<std::size_t>(need.axis)];
        e.need.halo = need.halo;
      }
      out.edges.push_back(e);
    }
  }

  // Barrier depth: how many inputs needed whole lie on the way to each op. An input from an op
  // at a shallower depth than its reader's (a skip past a barrier) is held whole like one.
  std::vector<int> depth(ops.size(), 0);
  for (const auto& e : out.edges) {
    if (!e.producer) continue;
    const int through = depth[*e.producer] + (e.need.dependency == Dependency::all ? 1 : 0);
    depth[e.consumer] = std::max(depth[e.consumer], through);
  }
  for (int d : depth) out.depth = std::max(out.depth, d);
  for (auto& e : out.edges) {
    if (!e.producer) continue;
    const bool all = e.need.dependency == Dependency::all;
    e.need.buffered = all || e.need.dependency == Dependency::prefix || depth[e.consumer] > depth[*e.producer];
    if (all) ++out.barriers;
    if (!e.need.buffered) continue;
    // The producer's output PMUs hold what fits; the rest goes out to DRAM and back.
    const double room = std::max(1, ops[*e.producer].output_pmus) * pmu_bytes;
    e.spill_bytes = std::max(0.0, bytes_of(e.source) - room);
  }

  // The critical path. An op's pass takes its stage, or longer where what feeds it comes slower
  // (`supply`: the slowest stage upstream along streams not held whole). It starts once what
  // it needs has arrived: a barrier's input whole (its producer's end, plus any spill back
  // from DRAM), a window's first halo slices at the pace they are supplied. It ends no sooner
  // than its stage after it starts, nor than its own work on the last halo slices after its
  // producers end.
  std::vector<double> start(ops.size(), 0), finish(ops.size(), 0), stage(ops.size(), 0), supply(ops.size(), 0);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].parallel > 0) stage[i] = stage_cycles(demand(i), ops[i].parallel);
  }
  std::size_t e = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    double ready = 0, end = 0;
    supply[i] = stage[i];
    for (; e < out.edges.size() && out.edges[e].consumer == i; ++e) {
      const auto& edge = out.edges[e];
      const bool all = edge.need.dependency == Dependency::all;
      if (!edge.producer) {
        if (all) ready = std::max(ready, edge.bytes / dram_per_cycle);
        continue;
      }
      const std::size_t p = *edge.producer;
      if (all) {
        ready = std::max(ready, finish[p] + edge.spill_bytes / dram_per_cycle);
        continue;
      }
      const double lag = lag_slices(edge.need) / static_cast<double>(edge.need.slices);
      ready = std::max(ready, start[p] + lag * supply[p]);
      end = std::max(end, finish[p] + lag * stage[i]);
      if (!edge.need.buffered) supply[i] = std::max(supply[i], supply[p]);
    }
    start[i] = ready;
    finish[i] = std::max(ready + stage[i], end);
    out.critical_cycles = std::max(out.critical_cycles, finish[i]);
  }
  return out;
}

}  // namespace rdasim::mapper
