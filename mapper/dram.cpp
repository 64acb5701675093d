#include "mapper/dram.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/text.h"
#include "graphs/op_registry.h"
#include "mapper/infeasible.h"
#include "mapper/sections.h"

namespace rdasim::mapper {

namespace {

/// Params, constants and optimizer state: preloaded into their PMUs, not streamed.
bool is_weight(const graphs::Tensor& t) { return graphs::is_stored(t.role); }

}  // namespace

Footprint footprint(const graphs::Graph& g, double bytes_per_element) {
  Footprint f;
  for (graphs::TensorId t = 0; t < static_cast<graphs::TensorId>(g.tensors().size()); ++t) {
    const auto& tensor = g.tensor(t);
    const double bytes = static_cast<double>(tensor.elements()) * bytes_per_element;
    if (graphs::is_stored(tensor.role)) f.weights += bytes;
    else if (tensor.role == graphs::Role::input) f.inputs += bytes;
    else if (tensor.role == graphs::Role::output && !graphs::updated_in_place(g, t)) f.outputs += bytes;
  }
  return f;
}

void check_capacity(const std::vector<graphs::Graph>& apps, const arch::Spec& spec) {
  const auto& tier = spec.memory_tiers().at(dram_tier(spec));
  const double holds = tier.capacity_gib * 1024.0 * 1024.0 * 1024.0;
  std::vector<std::string> reasons;
  double needed = 0;
  for (const auto& g : apps) {
    const Footprint f = footprint(g, element_bytes(spec));
    needed += f.total();
    reasons.push_back(fmt::format("'{}' keeps {} in {}: weights {}, inputs {}, outputs {}", g.name(),
                                  core::format_bytes(f.total()), tier.name, core::format_bytes(f.weights),
                                  core::format_bytes(f.inputs), core::format_bytes(f.outputs)));
  }
  if (holds <= 0 || needed <= holds) return;
  throw Infeasible(
      fmt::format("{} needs {} in {}, which holds {} ({} short); split it over more devices "
                  "(--system with --tp or --pp)",
                  apps.size() == 1 ? fmt::format("'{}'", apps[0].name()) : core::plural(apps.size(), "application"),
                  core::format_bytes(needed), tier.name, core::format_bytes(holds), core::format_bytes(needed - holds)),
      std::move(reasons));
}

std::vector<DramStream> dram_streams(const graphs::Graph& g, const std::vector<OpDemand>& demands,
                                     const Section& section, const std::vector<std::vector<int>>& units,
                                     double bytes_per_element) {
  std::map<graphs::OpId, std::size_t> index_of;
  for (std::size_t i = 0; i < section.ops.size(); ++i) index_of[section.ops[i].op] = i;
  const auto inside = [&](graphs::OpId op) { return op >= 0 && index_of.count(op) > 0; };
  const auto has_units = [&](std::size_t i) { return i < units.size() && !units[i].empty(); };
  const auto pcus_of = [&](std::size_t i) {
    const auto& d = demands[static_cast<std::size_t>(section.ops[i].op)];
    return uses_pcus(d.engine) ? section.ops[i].parallel : 0;
  };
  // The units of op i that take a tensor from DRAM: weights land in its weight PMUs (after the
  // output PMUs), activations in its PCUs; ops without PCUs take both into their PMUs.
  const auto takers = [&](std::size_t i, bool weight) {
    const auto& u = units[i];
    const auto pcus = static_cast<std::size_t>(std::min<int>(pcus_of(i), static_cast<int>(u.size())));
    const auto outputs = static_cast<std::size_t>(std::max(1, section.ops[i].output_pmus));
    if (weight && u.size() > pcus + outputs)
      return std::vector<int>(u.begin() + static_cast<long>(pcus + outputs), u.end());
    if (pcus > 0) return std::vector<int>(u.begin(), u.begin() + static_cast<long>(pcus));
    return std::vector<int>(u.begin() + static_cast<long>(pcus), u.end());
  };

  std::vector<DramStream> out;
  // `bytes` shared out over units `to`; those in `whole` need their share whole before they emit.
  const auto share = [&](const std::vector<int>& to, double bytes, bool write, bool preload,
                         const std::vector<int>& whole = {}) {
    if (to.empty()) {
      out.push_back({-1, bytes, write, false});
      return;
    }
    for (int u : to) {
      const bool all = std::find(whole.begin(), whole.end(), u) != whole.end();
      out.push_back({u, bytes / static_cast<double>(to.size()), write, preload,
                     all ? graphs::Dependency::all : graphs::Dependency::same});
    }
  };
  // Whether op i needs tensor t, read from DRAM, whole before its first result.
  const auto needs_whole = [&](std::size_t i, graphs::TensorId t) {
    return std::any_of(section.edges.begin(), section.edges.end(), [&](const SectionEdge& e) {
      return e.consumer == i && e.tensor == t && !e.producer && e.need.dependency == graphs::Dependency::all;
    });
  };

  // Reads: every tensor an op of the section takes from outside it, once. Its readers are the
  // units of the ops consuming it, through views.
  // A cache written in place is read where it lives; an embedding only its rows.
  std::map<graphs::TensorId, double> read;
  for (const auto& so : section.ops) {
    const auto& inputs = g.op(so.op).inputs;
    for (std::size_t slot = 0; slot < inputs.size(); ++slot) {
      const graphs::TensorId t = inputs[slot];
      if (t == graphs::k_no_tensor) continue;
      if (inside(g.tensor(t).producer) && !graphs::updated_in_place(g, t)) continue;
      const double elements = graphs::elements_read(g, so.op, slot);
      if (elements <= 0) continue;
      auto [it, fresh] = read.emplace(t, elements);
      if (!fresh) it->second = std::max(it->second, elements);
    }
  }
  for (const auto& [t, elements] : read) {
    const auto& tensor = g.tensor(t);
    const bool weight = is_weight(tensor);
    std::vector<int> to, whole;  // its readers; those that need it whole
    bool preload = weight;
    std::vector<graphs::TensorId> pending{t};
    std::set<graphs::TensorId> seen;
    while (!pending.empty()) {
      const graphs::TensorId at = pending.back();
      pending.pop_back();
      if (!seen.insert(at).second) continue;
      for (graphs::OpId c : g.tensor(at).consumers) {
        auto it = index_of.find(c);
        if (it == index_of.end()) continue;
        if (has_units(it->second)) {
          const auto taken = takers(it->second, weight);
          to.insert(to.end(), taken.begin(), taken.end());
          if (needs_whole(it->second, at)) whole.insert(whole.end(), taken.begin(), taken.end());
          preload = preload && !section.ops[it->second].weights_streamed;
        } else {
          for (graphs::TensorId o : g.op(c).outputs) pending.push_back(o);  // a view: its readers read it
        }
      }
    }
    std::sort(to.begin(), to.end());
    to.erase(std::unique(to.begin(), to.end()), to.end());
    share(to, elements * bytes_per_element, false, preload && !to.empty(), whole);
  }

  const auto output_units = [&](std::size_t holder) {
    const auto& u = units[holder];
    const auto pcus = static_cast<std::size_t>(std::min<int>(pcus_of(holder), static_cast<int>(u.size())));
    const auto outputs =
        std::min(u.size() - pcus, static_cast<std::size_t>(std::max(1, section.ops[holder].output_pmus)));
    std::vector<int> from(u.begin() + static_cast<long>(pcus), u.begin() + static_cast<long>(pcus + outputs));
    if (from.empty()) from.assign(u.begin(), u.begin() + static_cast<long>(pcus));
    return from;
  };

  // Spills: a tensor held whole that outgrows its producer's output PMUs, out once and back to
  // each reader that holds it.
  std::set<std::pair<std::size_t, graphs::TensorId>> spilled;
  for (const auto& e : section.edges) {
    if (e.spill_bytes <= 0 || !has_units(e.consumer) || !has_units(*e.producer)) continue;
    if (spilled.emplace(*e.producer, e.source).second) share(output_units(*e.producer), e.spill_bytes, true, false);
    const auto readers = takers(e.consumer, false);
    share(readers, e.spill_bytes, false, false, readers);  // needed whole
  }

  // Writes: tensors produced here that are outputs or read by a later section, from the output
  // PMUs of the op holding them (views hold their input's).
  for (std::size_t i = 0; i < section.ops.size(); ++i) {
    const auto& outputs = g.op(section.ops[i].op).outputs;
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      const graphs::TensorId t = outputs[k];
      const auto& tensor = g.tensor(t);
      bool leaves = tensor.role == graphs::Role::output || graphs::updated_in_place(g, t);
      for (graphs::OpId c : tensor.consumers) leaves = leaves || !inside(c);
      if (!leaves) continue;
      std::size_t holder = i;
      while (!has_units(holder)) {
        const auto& inputs = g.op(section.ops[holder].op).inputs;
        if (inputs.empty() || inputs[0] == graphs::k_no_tensor || !inside(g.tensor(inputs[0]).producer)) break;
        holder = index_of.at(g.tensor(inputs[0]).producer);
      }
      share(has_units(holder) ? output_units(holder) : std::vector<int>{},
            graphs::elements_written(g, section.ops[i].op, k) * bytes_per_element, true, false);
    }
  }
  return out;
}

}  // namespace rdasim::mapper
