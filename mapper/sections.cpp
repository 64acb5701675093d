#include "mapper/sections.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <queue>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "graphs/algorithms.h"
#include "graphs/op_registry.h"
#include "mapper/infeasible.h"
#include "mapper/partition.h"

namespace rdasim::mapper {

const char* to_string(Mode mode) { return mode == Mode::o0 ? "o0" : "o1"; }

std::optional<Mode> mode_from_string(std::string_view name) {
  if (name == "o0") return Mode::o0;
  if (name == "o1") return Mode::o1;
  return std::nullopt;
}

const char* to_string(Bound bound) {
  switch (bound) {
    case Bound::compute: return "compute";
    case Bound::memory: return "memory";
    case Bound::network: return "network";
  }
  return "?";
}

std::optional<Bound> bound_from_string(std::string_view name) {
  for (Bound b : {Bound::compute, Bound::memory, Bound::network}) {
    if (name == to_string(b)) return b;
  }
  return std::nullopt;
}

double SectionFigures::cycles() const {
  return std::max({compute_cycles, memory_cycles, network_cycles}) + reconfig_cycles;
}

Bound SectionFigures::bound() const {
  if (network_cycles > compute_cycles && network_cycles > memory_cycles) return Bound::network;
  return compute_cycles >= memory_cycles ? Bound::compute : Bound::memory;
}

std::size_t dram_tier(const arch::Spec& spec) {
  const auto& tiers = spec.memory_tiers();
  std::size_t best = 0;
  for (std::size_t i = 1; i < tiers.size(); ++i) {
    if (tiers[i].bandwidth_gbps * tiers[i].efficiency > tiers[best].bandwidth_gbps * tiers[best].efficiency) best = i;
  }
  return best;
}

double dram_bytes_per_cycle(const arch::Spec& spec) {
  const auto& tier = spec.memory_tiers().at(dram_tier(spec));
  return tier.bandwidth_gbps * tier.efficiency / spec.clock_ghz();  // GB/s over Gcycles/s
}

namespace {

/// PMUs an op needs when placed: its buffers, or (when its weights stream from DRAM) the PMUs
/// its weight tiles pass through plus the output buffer.
int min_pmus(const OpDemand& d, const Budget& budget) {
  if (d.engine == Engine::none) return 0;
  const int memory_engine = d.engine == Engine::memory ? 1 : 0;
  if (d.buffer_pmus <= budget.pmus - memory_engine) return d.buffer_pmus + memory_engine;
  return std::min(d.stream_pmus + 1, std::max(3, budget.pmus - memory_engine)) + memory_engine;
}

/// Cycles of an op's stage on `parallel` PCUs: its compute, and no less than its weights'
/// passage from their PMUs into the PCUs, one link each (mapper/place: each pass reads them
/// once). A decode step's GEMVs use each weight once: the links, not the FUs, set their pace.
double stage_with_ingress(const OpDemand& d, std::int64_t parallel, double link_bytes) {
  const double compute = stage_cycles(d, parallel);
  if (parallel <= 0 || d.weight_bytes <= 0) return compute;
  return std::max(compute, d.weight_bytes / (static_cast<double>(parallel) * link_bytes));
}

/// Deals out `pcus` to minimize the slowest stage (stage_cycles), each op at least one PCU: always
/// give the current slowest stage its next faster split (one more PCU on its outputs, or one
/// more copy sharing its reduction). Stops
/// once that stage is no slower than `floor_cycles` (the section's off-chip time): more PCUs
/// would not shorten the section.
void deal_pcus(Section& s, const std::vector<OpDemand>& demands, int pcus, double floor_cycles, double link_bytes) {
  using Entry = std::pair<double, std::size_t>;  // time per PCU, index into s.ops
  std::priority_queue<Entry> slowest;
  int used = 0;
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    const auto& d = demands[static_cast<std::size_t>(s.ops[i].op)];
    if (!uses_pcus(d.engine)) continue;
    s.ops[i].parallel = 1;
    ++used;
    slowest.emplace(stage_with_ingress(d, 1, link_bytes), i);
  }
  while (used < pcus && !slowest.empty()) {
    const auto [time, i] = slowest.top();
    if (time <= floor_cycles) break;
    slowest.pop();
    auto& op = s.ops[i];
    const auto& d = demands[static_cast<std::size_t>(op.op)];
    const auto next = static_cast<int>(next_parallel(d, op.parallel));
    if (next == 0 || used + next - op.parallel > pcus) continue;  // no faster split fits: leave it out
    used += next - op.parallel;
    op.parallel = next;
    slowest.emplace(stage_with_ingress(d, op.parallel, link_bytes), i);
  }
  s.pcus = used;
}

/// Spreads each op's output over more PMUs while the budget has PMUs to spare: one PMU serves
/// `banks` words per cycle, so a large tensor read by many PCUs needs several. The op with the
/// most bytes per output PMU gets the next one, up to one per PCU slice.
void deal_output_pmus(Section& s, const std::vector<OpDemand>& demands, int pmus) {
  using Entry = std::pair<double, std::size_t>;
  std::priority_queue<Entry> busiest;
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    auto& op = s.ops[i];
    const auto& d = demands[static_cast<std::size_t>(op.op)];
    if (d.engine == Engine::none) continue;
    op.output_pmus = 1;
    busiest.emplace(d.output_bytes, i);
  }
  int spare = pmus - s.pmus;
  while (spare > 0 && !busiest.empty()) {
    const auto [bytes, i] = busiest.top();
    busiest.pop();
    auto& op = s.ops[i];
    const auto& d = demands[static_cast<std::size_t>(op.op)];
    if (op.output_pmus >= std::max(op.parallel, 1)) continue;
    ++op.output_pmus;
    ++op.buffer_pmus;
    ++s.pmus;
    --spare;
    busiest.emplace(d.output_bytes / op.output_pmus, i);
  }
}

}  // namespace

namespace {

/// The units an op needs at least when placed: a PCU (compute ops) and min_pmus.
struct Need {
  int pcus = 0;
  int pmus = 0;
};

/// Gives each op whose result is held whole (a barrier's input) output PMUs enough to hold it,
/// from the PMUs the section leaves spare, in op order; what still does not fit spills. Whether
/// any op got more.
bool hold_whole(Section& s, const SectionStreaming& streaming, const arch::Spec& spec, int pmus) {
  const double pmu_bytes = spec.pmu().capacity_kib * 1024.0;
  bool grew = false;
  std::set<std::pair<std::size_t, graphs::TensorId>> held;  // each tensor once, however many read it
  for (const auto& e : streaming.edges) {
    if (e.spill_bytes <= 0 || s.pmus >= pmus || !held.emplace(*e.producer, e.source).second) continue;
    auto& op = s.ops[*e.producer];
    const int more = std::min(pmus - s.pmus, static_cast<int>(std::ceil(e.spill_bytes / pmu_bytes)));
    op.output_pmus = std::max(op.output_pmus, 1) + more;
    op.buffer_pmus += more;
    s.pmus += more;
    grew = true;
  }
  return grew;
}

/// Cuts ops, visited in `order`, into groups within the budget: a new group when the next op
/// does not fit, in o0 for every op that occupies units, and wherever `labels` (if given) change.
std::vector<std::vector<graphs::OpId>> fill(const std::vector<graphs::OpId>& order, const std::vector<int>* labels,
                                            const std::vector<Need>& needs, const std::vector<OpDemand>& demands,
                                            const Budget& budget, Mode mode) {
  std::vector<std::vector<graphs::OpId>> groups;
  int pcus = 0, pmus = 0, label = -1;
  for (graphs::OpId id : order) {
    const auto& need = needs[static_cast<std::size_t>(id)];
    const int next_label = labels ? (*labels)[static_cast<std::size_t>(id)] : 0;
    const bool fresh = groups.empty() || next_label != label ||
                       (mode == Mode::o0 && demands[static_cast<std::size_t>(id)].engine != Engine::none) ||
                       pcus + need.pcus > budget.pcus || pmus + need.pmus > budget.pmus;
    if (fresh) {
      groups.emplace_back();
      pcus = pmus = 0;
      label = next_label;
    }
    groups.back().push_back(id);
    pcus += need.pcus;
    pmus += need.pmus;
  }
  return groups;
}

/// The sections of a cut: DRAM traffic from what crosses it, PCUs and PMUs dealt out, times.
SectionPlan estimate(const graphs::Graph& g, const std::vector<OpDemand>& demands, const arch::Spec& spec,
                     const Budget& budget, Mode mode, const std::vector<std::vector<graphs::OpId>>& groups,
                     const std::vector<bool>& channels_last) {
  SectionPlan plan;
  plan.mode = mode;
  std::vector<int> section_of(g.ops().size(), -1);
  for (std::size_t k = 0; k < groups.size(); ++k) {
    for (graphs::OpId id : groups[k]) section_of[static_cast<std::size_t>(id)] = static_cast<int>(k);
  }
  const double bytes_per_element = element_bytes(spec);
  const double dram_per_cycle = dram_bytes_per_cycle(spec);
  for (std::size_t k = 0; k < groups.size(); ++k) {
    Section s;
    // Off-chip bytes per tensor: what its readers read of it (an embedding's rows, all of the
    // rest), what its writer writes (a cache written in place: the new entries).
    std::map<graphs::TensorId, double> read, written, weights;
    std::set<graphs::TensorId> streamed;
    const auto most = [](std::map<graphs::TensorId, double>& m, graphs::TensorId t, double bytes) {
      auto [it, fresh] = m.emplace(t, bytes);
      if (!fresh) it->second = std::max(it->second, bytes);
      return fresh;
    };
    for (graphs::OpId id : groups[k]) {
      const auto& d = demands[static_cast<std::size_t>(id)];
      SectionOp so;
      so.op = id;
      so.buffer_pmus = min_pmus(d, budget);
      so.weights_streamed =
          d.engine != Engine::none && d.buffer_pmus > budget.pmus - (d.engine == Engine::memory ? 1 : 0);
      if (d.engine == Engine::memory) so.parallel = 1;
      s.ops.push_back(so);
      s.pmus += so.buffer_pmus;
      s.flops += d.flops;
      const graphs::Op& op = g.op(id);
      for (std::size_t slot = 0; slot < op.inputs.size(); ++slot) {
        const graphs::TensorId t = op.inputs[slot];
        if (t == graphs::k_no_tensor) continue;
        const auto& tensor = g.tensor(t);
        const double bytes = graphs::elements_read(g, id, slot) * bytes_per_element;
        // The section's weights, each tensor once however many of its ops read it (a training
        // step's forward, backward and update ops share a param).
        if (graphs::is_stored(tensor.role)) {
          most(weights, t, bytes);
          if (so.weights_streamed) streamed.insert(t);
        }
        // Inputs from outside the section come from DRAM: graph inputs, weights, earlier
        // results, and a cache written in place, which its readers read where it lives.
        const bool inside = tensor.producer >= 0 &&
                            section_of[static_cast<std::size_t>(tensor.producer)] == static_cast<int>(k) &&
                            !graphs::updated_in_place(g, t);
        if (!inside && bytes > 0) most(read, t, bytes);
      }
      for (std::size_t out = 0; out < op.outputs.size(); ++out) {
        const graphs::TensorId t = op.outputs[out];
        const auto& tensor = g.tensor(t);
        bool leaves = tensor.role == graphs::Role::output || graphs::updated_in_place(g, t);
        for (graphs::OpId c : tensor.consumers)
          leaves = leaves || section_of[static_cast<std::size_t>(c)] != static_cast<int>(k);
        if (leaves) most(written, t, graphs::elements_written(g, id, out) * bytes_per_element);
      }
    }
    for (const auto& [t, bytes] : weights) {
      s.weight_bytes += bytes;
      if (g.tensor(t).role == graphs::Role::state) s.state_bytes += bytes;
      if (streamed.contains(t)) s.streamed_weight_bytes += bytes;
    }
    for (const auto& [t, bytes] : read) s.dram_read_bytes += bytes;
    for (const auto& [t, bytes] : written) s.dram_write_bytes += bytes;
    s.memory_cycles = s.dram_bytes() / dram_per_cycle;
    // PCUs go to the slowest stage until it is no slower than the off-chip time, shared out
    // over the passes that barriers put one after another.
    const int depth = stream_section(g, demands, s, channels_last, spec, dram_per_cycle).depth;
    deal_pcus(s, demands, budget.pcus, s.memory_cycles / (depth + 1), spec.network().link_bytes_per_cycle);
    deal_output_pmus(s, demands, budget.pmus);
    auto streaming = stream_section(g, demands, s, channels_last, spec, dram_per_cycle);
    if (hold_whole(s, streaming, spec, budget.pmus))
      streaming = stream_section(g, demands, s, channels_last, spec, dram_per_cycle);
    // Tensors held whole that outgrow their PMUs go out to DRAM once and come back per reader.
    std::set<std::pair<std::size_t, graphs::TensorId>> spilled;
    for (const auto& e : streaming.edges) {
      if (e.spill_bytes <= 0) continue;
      s.dram_read_bytes += e.spill_bytes;
      if (spilled.emplace(*e.producer, e.source).second) s.dram_write_bytes += e.spill_bytes;
    }
    s.memory_cycles = s.dram_bytes() / dram_per_cycle;
    s.compute_cycles = streaming.critical_cycles;
    s.barriers = streaming.barriers;
    s.streamed = std::move(streaming.streamed);
    s.edges = std::move(streaming.edges);
    s.reconfig_cycles = static_cast<double>(spec.reconfig_cycles());
    plan.sections.push_back(std::move(s));
  }
  return plan;
}

}  // namespace

SectionPlan plan_sections(const graphs::Graph& g, const std::vector<OpDemand>& demands, const arch::Spec& spec,
                          const Budget& budget, Mode mode, int seed, graphs::PartitionMemo* memo) {
  std::vector<Need> needs(g.ops().size());
  std::vector<std::string> reasons;
  const double pmu_bytes = spec.pmu().capacity_kib * 1024.0;
  for (std::size_t i = 0; i < needs.size(); ++i) {
    const auto& d = demands[i];
    needs[i] = {uses_pcus(d.engine) ? 1 : 0, min_pmus(d, budget)};
    if (needs[i].pcus <= budget.pcus && needs[i].pmus <= budget.pmus) continue;
    const graphs::Op& op = g.ops()[i];
    std::string what = needs[i].pmus <= budget.pmus ? fmt::format("needs a PCU, the region has none")
                       : d.buffer_pmus > budget.pmus
                           ? fmt::format("{} of weights would fill {} PMUs; streaming them needs {} PMUs",
                                         core::format_bytes(d.weight_bytes),
                                         static_cast<int>(std::ceil(d.weight_bytes / pmu_bytes)), needs[i].pmus)
                           : fmt::format("needs {} PMUs for {} of weights and its output", needs[i].pmus,
                                         core::format_bytes(d.weight_bytes));
    reasons.push_back(fmt::format("op {} ({}): {}; the region has {} PCUs and {} PMUs", op.name, op.kind, what,
                                  budget.pcus, budget.pmus));
  }
  if (!reasons.empty()) {
    const std::string summary = fmt::format("{} of '{}' cannot fit", core::plural(reasons.size(), "op"), g.name());
    throw Infeasible(summary, std::move(reasons));
  }
  const auto order = graphs::topological_order(g);
  const auto channels_last = channels_last_tensors(g);
  SectionPlan best =
      estimate(g, demands, spec, budget, mode, fill(order, nullptr, needs, demands, budget, mode), channels_last);
  best.candidates.push_back({"greedy", best.sections.size(), best.totals().cycles, best.totals().dram_bytes});
  if (mode == Mode::o0 || best.sections.size() < 2) return best;
  // METIS cuts into about as many sections as the greedy fill, and a few more (smaller parts
  // leave room to repair the cut without spilling), each repaired into execution order.
  // One balance constraint, the scarcer of an op's PCU and PMU shares of the budget (in
  // thousandths): METIS's multi-constraint refinement costs several times more, for little.
  std::vector<std::int64_t> load(needs.size());
  for (std::size_t i = 0; i < needs.size(); ++i) {
    const double share = std::max(static_cast<double>(needs[i].pcus) / std::max(budget.pcus, 1),
                                  static_cast<double>(needs[i].pmus) / std::max(budget.pmus, 1));
    load[i] = static_cast<std::int64_t>(std::ceil(1000.0 * share));
  }
  std::vector<std::size_t> positions(g.ops().size());
  for (std::size_t k = 0; k < order.size(); ++k) positions[static_cast<std::size_t>(order[k])] = k;
  const std::size_t greedy_sections = best.sections.size();
  std::set<int> tried;
  for (const double factor : {1.0, 1.25, 1.5}) {
    const int parts = std::min(static_cast<int>(std::ceil(static_cast<double>(greedy_sections) * factor)),
                               static_cast<int>(g.ops().size()));
    if (!tried.insert(parts).second) continue;
    const auto labels = section_labels(g, load, parts, seed, memo);
    auto sorted = order;
    std::stable_sort(sorted.begin(), sorted.end(), [&](graphs::OpId a, graphs::OpId b) {
      return std::pair(labels[static_cast<std::size_t>(a)], positions[static_cast<std::size_t>(a)]) <
             std::pair(labels[static_cast<std::size_t>(b)], positions[static_cast<std::size_t>(b)]);
    });
    auto plan =
        estimate(g, demands, spec, budget, mode, fill(sorted, &labels, needs, demands, budget, mode), channels_last);
    const std::string method = fmt::format("metis k={}", parts);
    best.candidates.push_back({method, plan.sections.size(), plan.totals().cycles, plan.totals().dram_bytes});
    if (plan.totals().cycles < best.totals().cycles) {
      plan.candidates = std::move(best.candidates);
      plan.method = method;
      best = std::move(plan);
    }
  }
  return best;
}

}  // namespace rdasim::mapper
