#include "mapper/place.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/json.h"
#include "core/random.h"
#include "core/worker.h"
#include "mapper/partition.h"
#include "mapper/route.h"
#include "mapper/verify.h"

namespace rdasim::mapper {

ChannelLoad::ChannelLoad(const RegionIndex& layout, double capacity, double overflow_cost)
    : m_layout(layout),
      m_capacity(capacity),
      m_overflow_cost(overflow_cost) {
  for (const bool pcu : {true, false}) {
    for (int u : layout.pool(pcu)) {
      m_width = std::max(m_width, layout.x(u) + 1);
      m_height = std::max(m_height, layout.y(u) + 1);
    }
  }
  m_horizontal.assign(static_cast<std::size_t>(m_width * m_height), 0.0);
  m_vertical.assign(static_cast<std::size_t>(m_width * m_height), 0.0);
}

double ChannelLoad::add(int a, int b, double bytes) {
  const int xa = m_layout.x(a), ya = m_layout.y(a), xb = m_layout.x(b), yb = m_layout.y(b);
  double change = 0;
  // Each segment's overflow before and after, added up in route order; inline, as annealing
  // calls this for every stream of every move it tries.
  const auto load = [&](double& l) {
    const double before = std::max(0.0, l - m_capacity);
    l += bytes;
    change += m_overflow_cost * (std::max(0.0, l - m_capacity) - before);
  };
  double* row = m_horizontal.data() + static_cast<std::ptrdiff_t>(ya) * m_width;
  for (int x = std::min(xa, xb); x < std::max(xa, xb); ++x) load(row[x]);
  double* column = m_vertical.data() + xb;
  for (int y = std::min(ya, yb); y < std::max(ya, yb); ++y) load(column[static_cast<std::ptrdiff_t>(y) * m_width]);
  return change;
}

double ChannelLoad::overflow_cost() const {
  double c = 0;
  for (const auto* channel : {&m_horizontal, &m_vertical}) {
    for (double l : *channel) c += m_overflow_cost * std::max(0.0, l - m_capacity);
  }
  return c;
}

VirtualSection virtual_section(const std::vector<OpDemand>& demands, const Section& section) {
  VirtualSection vs;
  auto& is_pcu = vs.is_pcu;
  auto& op_units = vs.op_units;
  op_units.resize(section.ops.size());
  std::map<graphs::OpId, std::size_t> index_of;
  for (std::size_t i = 0; i < section.ops.size(); ++i) {
    const auto& so = section.ops[i];
    index_of[so.op] = i;
    const auto& d = demands[static_cast<std::size_t>(so.op)];
    const int pcus = uses_pcus(d.engine) ? so.parallel : 0;
    for (int k = 0; k < pcus + so.buffer_pmus; ++k) {
      op_units[i].push_back(static_cast<int>(is_pcu.size()));
      is_pcu.push_back(k < pcus);
    }
  }
  auto units_of = [&](std::size_t i, bool pcu) {
    std::vector<int> out;
    for (int v : op_units[i]) {
      if (is_pcu[static_cast<std::size_t>(v)] == pcu) out.push_back(v);
    }
    return out;
  };
  auto output_pmus_of = [&](std::size_t i) {
    auto pmus = units_of(i, false);
    pmus.resize(static_cast<std::size_t>(std::max(1, section.ops[i].output_pmus)));
    return pmus;
  };
  auto& vstreams = vs.streams;
  int groups = 0;
  std::size_t edge = 0;  // section.edges run in op order
  for (std::size_t i = 0; i < section.ops.size(); ++i) {
    if (op_units[i].empty()) continue;
    const auto pcus = units_of(i, true);
    const auto pmus = units_of(i, false);
    const auto outputs = output_pmus_of(i);
    const auto& readers = pcus.empty() ? outputs : pcus;  // memory-engine ops read into their PMUs
    // Its inputs from other ops of the section (weights and optimizer state: below; inputs from
    // DRAM are memory traffic).
    for (; edge < section.edges.size() && section.edges[edge].consumer <= i; ++edge) {
      const auto& e = section.edges[edge];
      if (e.consumer < i || !e.producer || op_units[*e.producer].empty()) continue;
      // Reader r takes its share from the producer's output PMU r mod n: one multicast group
      // per source PMU.
      const auto sources = output_pmus_of(*e.producer);
      const double share = e.bytes / static_cast<double>(readers.size());
      const int first_group = groups;
      groups += static_cast<int>(sources.size());
      for (std::size_t r = 0; r < readers.size(); ++r) {
        const std::size_t k = r % sources.size();
        vstreams.push_back({sources[k], readers[r], share, first_group + static_cast<int>(k), e.need});
      }
    }
    // Each output split writes its results into an output PMU; with the reduction split, copy r
    // of output split o (PCU r * outputs + o) first sends its partial sums to copy 0. Weights go
    // from their PMUs to the PCUs that use them.
    const auto& demand = demands[static_cast<std::size_t>(section.ops[i].op)];
    const double out_bytes = demand.output_bytes;
    const auto split = split_of(demand, static_cast<std::int64_t>(std::max<std::size_t>(pcus.size(), 1)));
    const auto writers = std::min(pcus.size(), static_cast<std::size_t>(split.outputs));
    for (std::size_t j = 0; j < pcus.size(); ++j) {
      const double share = out_bytes / static_cast<double>(writers);
      if (j < writers) vstreams.push_back({pcus[j], outputs[j % outputs.size()], share, groups++, {}});
      else vstreams.push_back({pcus[j], pcus[j % writers], share, groups++, {}});
    }
    // Each PCU takes its own slice of every weight PMU's tile (its output columns, or its share
    // of the reduction): different data, so no multicast.
    const double weights = demand.weight_bytes;
    if (!pcus.empty() && pmus.size() > outputs.size() && weights > 0) {
      const std::size_t weight_pmus = pmus.size() - outputs.size();
      for (std::size_t w = outputs.size(); w < pmus.size(); ++w) {
        for (int p : pcus) {
          vstreams.push_back({pmus[w], p, weights / static_cast<double>(weight_pmus * pcus.size()), groups++, {}});
        }
      }
    }
  }
  vs.incident.resize(vs.size());
  for (std::size_t s = 0; s < vstreams.size(); ++s) {
    vs.incident[static_cast<std::size_t>(vstreams[s].src)].push_back(static_cast<int>(s));
    vs.incident[static_cast<std::size_t>(vstreams[s].dst)].push_back(static_cast<int>(s));
  }
  return vs;
}

double placement_cost(const VirtualSection& vs, const RegionIndex& layout, const Placement& where) {
  double c = 0;
  for (const auto& s : vs.streams) {
    c += s.bytes * layout.distance(where[static_cast<std::size_t>(s.src)], where[static_cast<std::size_t>(s.dst)]);
  }
  return c;
}

namespace {

/// Per fabric unit: the virtual unit on it, or -1.
std::vector<int> owners(const Placement& where, const RegionIndex& layout) {
  std::vector<int> owner(layout.fabric().units().size(), -1);
  for (std::size_t v = 0; v < where.size(); ++v) {
    if (where[v] >= 0) owner[static_cast<std::size_t>(where[v])] = static_cast<int>(v);
  }
  return owner;
}

/// Ops in pipeline order take the free units nearest to what they read from.
Placement greedy_placement(const VirtualSection& vs, const RegionIndex& layout) {
  const auto& vstreams = vs.streams;
  Placement where(vs.size(), -1);
  std::vector<int> owner(layout.fabric().units().size(), -1);
  auto nearest_free = [&](bool pcu, double cx, double cy, bool anchored) {
    int best = -1;
    double best_d = std::numeric_limits<double>::max();
    for (int u : layout.pool(pcu)) {
      if (owner[static_cast<std::size_t>(u)] >= 0) continue;
      if (!anchored) return u;  // in the region's own order: a compact start
      const double d = std::abs(layout.x(u) - cx) + std::abs(layout.y(u) - cy);
      if (d < best_d) {
        best_d = d;
        best = u;
      }
    }
    return best;
  };
  for (const auto& units : vs.op_units) {
    for (int v : units) {
      // The centre of the already placed units it exchanges data with.
      double cx = 0, cy = 0, count = 0;
      for (int s : vs.incident[static_cast<std::size_t>(v)]) {
        const auto& st = vstreams[static_cast<std::size_t>(s)];
        const int other = st.src == v ? st.dst : st.src;
        if (where[static_cast<std::size_t>(other)] < 0) continue;
        cx += layout.x(where[static_cast<std::size_t>(other)]);
        cy += layout.y(where[static_cast<std::size_t>(other)]);
        ++count;
      }
      const int u = nearest_free(vs.is_pcu[static_cast<std::size_t>(v)], count > 0 ? cx / count : 0,
                                 count > 0 ? cy / count : 0, count > 0);
      if (u < 0) continue;  // the sectioning keeps within the region; check_placement reports it
      where[static_cast<std::size_t>(v)] = u;
      owner[static_cast<std::size_t>(u)] = v;
    }
  }
  return where;
}

/// Annealing's objective: bytes x hops, a weak pull towards the region's first unit that keeps
/// lightly loaded units (a head's few bytes) from wandering off, worth a hundredth of an average
/// stream per hop, and congestion. Congestion: every stream is assumed to take its
/// dimension-order route (along its source's row, then down its sink's column), loading the
/// channel segments it crosses. A segment asked to carry more than its links can in the
/// section's time costs as much per excess byte as two extra hops; routing later spreads the
/// load over real paths, but a hot channel here is one that detours would have to work hard to
/// relieve.
class AnnealingObjective {
 public:
  AnnealingObjective(const VirtualSection& vs, const RegionIndex& layout, double cycles)
      : m_vs(vs),
        m_layout(layout),
        m_channels(layout, 2.0 * layout.fabric().spec().network().link_bytes_per_cycle * std::max(cycles, 1.0), 2.0),
        m_anchor(layout.pool(true).empty() ? layout.pool(false).front() : layout.pool(true).front()) {
    double stream_bytes = 0;
    for (const auto& st : vs.streams) stream_bytes += st.bytes;
    m_gravity = vs.streams.empty() ? 0.0 : 0.01 * stream_bytes / static_cast<double>(vs.streams.size());
  }

  /// Loads every stream under `where` into the channels (from empty); returns the whole
  /// objective, given its bytes x hops.
  double load_all(const Placement& where, double bytes_hops) {
    double cost = bytes_hops;
    for (std::size_t v = 0; v < m_vs.size(); ++v) cost += m_gravity * m_layout.distance(where[v], m_anchor);
    for (std::size_t s = 0; s < m_vs.streams.size(); ++s) cost += load_stream(where, static_cast<int>(s), 1.0);
    return cost;
  }

  /// Adds (sign 1) or takes off (-1) stream s's channel load; returns the congestion's change.
  double load_stream(const Placement& where, int s, double sign) {
    const auto& st = m_vs.streams[static_cast<std::size_t>(s)];
    return m_channels.add(where[static_cast<std::size_t>(st.src)], where[static_cast<std::size_t>(st.dst)],
                          sign * st.bytes);
  }

  /// Unit v's pull and the bytes x hops of its streams, less those shared with `skip`.
  [[nodiscard]] double unit_cost(const Placement& where, int v, int skip) const {
    double c = m_gravity * m_layout.distance(where[static_cast<std::size_t>(v)], m_anchor);
    for (int s : m_vs.incident[static_cast<std::size_t>(v)]) {
      const auto& st = m_vs.streams[static_cast<std::size_t>(s)];
      if (skip >= 0 && (st.src == skip || st.dst == skip)) continue;  // counted with the partner
      c += st.bytes *
           m_layout.distance(where[static_cast<std::size_t>(st.src)], where[static_cast<std::size_t>(st.dst)]);
    }
    return c;
  }

 private:
  const VirtualSection& m_vs;
  const RegionIndex& m_layout;
  ChannelLoad m_channels;
  int m_anchor;
  double m_gravity = 0;
};

}  // namespace

StartPlacement start_placement(const VirtualSection& vs, const RegionIndex& layout, std::uint64_t seed,
                               graphs::PartitionMemo* memo) {
  StartPlacement out{greedy_placement(vs, layout), "greedy", 0};
  out.cost = placement_cost(vs, layout, out.where);
  // Bisection: METIS halves the unit graph onto halves of the grid, recursively.
  if (vs.size() > 2) {
    std::vector<Site> sites;
    for (const bool pcu : {true, false}) {
      for (int u : layout.pool(pcu)) sites.push_back({u, layout.x(u), layout.y(u), pcu});
    }
    std::vector<graphs::WeightedEdge> edges;
    for (const auto& s : vs.streams) {
      edges.push_back({s.src, s.dst, std::max<std::int64_t>(1, static_cast<std::int64_t>(s.bytes / 1024.0))});
    }
    auto bisected = bisect_placement(vs.is_pcu, edges, sites, static_cast<int>(seed % 1'000'000'007), memo);
    if (const double c = placement_cost(vs, layout, bisected); c < out.cost) {
      out = {std::move(bisected), "bisection", c};
    }
  }
  return out;
}

Annealing anneal(const VirtualSection& vs, const RegionIndex& layout, const Placement& start, double cycles,
                 std::uint64_t seed) {
  const std::size_t n = vs.size();
  Annealing out{start, 0, 0};
  auto& where = out.where;
  std::vector<int> owner = owners(where, layout);
  AnnealingObjective objective(vs, layout, cycles);
  out.start_objective = objective.load_all(where, placement_cost(vs, layout, where));
  std::vector<int> moved;  // the streams of the units a move touches, each once
  auto streams_of = [&](int v, int other) {
    moved = vs.incident[static_cast<std::size_t>(v)];
    if (other >= 0) {
      for (int s : vs.incident[static_cast<std::size_t>(other)]) {
        const auto& st = vs.streams[static_cast<std::size_t>(s)];
        if (st.src != v && st.dst != v) moved.push_back(s);
      }
    }
  };
  core::SplitMix64 rng(seed);
  // Effort grows with the units to place, capped: sections of one op (o0) need little.
  const std::size_t moves = std::min<std::size_t>(100'000, 15 * n);
  // The start is already good: a low temperature refines it rather than scrambling it. Moves
  // are range-limited (as in VPR): a unit only jumps within a window that shrinks as the
  // temperature falls, so that lightly loaded units do not drift across the region.
  const double start_temperature =
      out.start_objective / std::max<double>(1.0, static_cast<double>(vs.streams.size())) * 0.05;
  double temperature = start_temperature;
  const double cooling = moves > 0 ? std::pow(1e-4, 1.0 / static_cast<double>(moves)) : 1.0;
  int span = 1;
  for (const bool pcu : {true, false}) {
    for (int u : layout.pool(pcu)) span = std::max(span, layout.distance(u, layout.pool(pcu).front()));
  }
  for (std::size_t m = 0; m < moves && n > 0; ++m, temperature *= cooling) {
    const auto v = static_cast<int>(rng.next() % n);
    const auto& pool = layout.pool(vs.is_pcu[static_cast<std::size_t>(v)]);
    const int from = where[static_cast<std::size_t>(v)];
    const double reach = std::max(3.0, static_cast<double>(span) * std::sqrt(temperature / start_temperature));
    int target = -1;
    for (int attempt = 0; attempt < 8 && target < 0; ++attempt) {
      const int candidate = pool[static_cast<std::size_t>(rng.next() % pool.size())];
      if (layout.distance(candidate, from) <= reach) target = candidate;
    }
    if (target < 0 || target == from) continue;
    const int other = owner[static_cast<std::size_t>(target)];
    streams_of(v, other);
    // Returns the change of congestion cost.
    auto relocate = [&](int to_v, int to_other) {
      double change = 0;
      for (int s : moved) change += objective.load_stream(where, s, -1.0);
      where[static_cast<std::size_t>(v)] = to_v;
      if (other >= 0) where[static_cast<std::size_t>(other)] = to_other;
      for (int s : moved) change += objective.load_stream(where, s, 1.0);
      return change;
    };
    const double before = objective.unit_cost(where, v, -1) + (other >= 0 ? objective.unit_cost(where, other, v) : 0.0);
    const double congestion = relocate(target, from);
    const double after = objective.unit_cost(where, v, -1) + (other >= 0 ? objective.unit_cost(where, other, v) : 0.0);
    const double delta = after - before + congestion;
    const double scaled = delta / std::max(temperature, 1e-12);
    if (delta <= 0 || (scaled < 30.0 && rng.uniform() < std::exp(-scaled))) {
      owner[static_cast<std::size_t>(target)] = v;
      owner[static_cast<std::size_t>(from)] = other;
    } else {
      (void)relocate(from, target);
    }
  }
  // The walk's objective, recomputed from scratch rather than summed move by move.
  out.objective = AnnealingObjective(vs, layout, cycles).load_all(where, placement_cost(vs, layout, where));
  if (out.objective > out.start_objective) {
    out.where = start;
    out.objective = out.start_objective;
  }
  return out;
}

std::vector<RouteDemand> route_demands(const VirtualSection& vs, const Placement& where) {
  std::vector<RouteDemand> out;
  out.reserve(vs.streams.size());
  for (const auto& v : vs.streams) {
    out.push_back({where[static_cast<std::size_t>(v.src)], where[static_cast<std::size_t>(v.dst)], v.bytes, v.group});
  }
  return out;
}

SectionLayout place_and_route(const std::vector<OpDemand>& demands, const Section& section, const RegionIndex& layout,
                              double cycles, std::uint64_t seed, graphs::PartitionMemo* memo) {
  const auto vs = virtual_section(demands, section);
  const auto start = start_placement(vs, layout, seed, memo);
  verify_stage("placement (start)", [&] { return check_placement(vs, layout, start.where); });
  const auto annealed = anneal(vs, layout, start.where, cycles, seed);
  verify_stage("placement (annealed)", [&] { return check_placement(vs, layout, annealed.where); });
  const auto& where = annealed.where;

  SectionLayout out;
  out.start = start.method;
  out.start_cost = start.cost;
  out.placement_cost = placement_cost(vs, layout, where);  // bytes x hops alone, without the pull
  out.units.resize(section.ops.size());
  for (std::size_t i = 0; i < section.ops.size(); ++i) {
    for (int v : vs.op_units[i]) out.units[i].push_back(where[static_cast<std::size_t>(v)]);
  }
  const auto to_route = route_demands(vs, where);
  auto routing = route(layout, to_route, cycles);
  verify_stage("routing", [&] { return check_routing(layout, to_route, routing); });
  out.route_rounds = routing.rounds;
  out.overused_links = routing.overused_links;
  out.max_link_bytes = routing.max_link_bytes;
  for (std::size_t s = 0; s < to_route.size(); ++s) {
    const auto& d = to_route[s];
    out.streams.push_back({d.src, d.dst, d.bytes, std::move(routing.paths[s]), d.group, vs.streams[s].need});
  }
  return out;
}

namespace {

/// Everything placement and routing read of a section: its virtual units and streams, and its
/// time budget.
core::JsonDigest::Value layout_key(const VirtualSection& vs, double cycles) {
  core::JsonDigest d;
  const auto add = [&d](const auto& value) { d.add_bytes(&value, sizeof value); };
  add(cycles);
  add(vs.is_pcu.size());
  for (const bool pcu : vs.is_pcu) add(pcu);
  for (const auto& units : vs.op_units) {
    add(units.size());
    for (const int u : units) add(u);
  }
  add(vs.streams.size());
  for (const auto& st : vs.streams) {
    for (const auto v : {st.src, st.dst, st.group, static_cast<int>(st.need.dependency)}) add(v);
    for (const auto v : {st.need.slices, st.need.halo}) add(v);
    add(st.bytes);
    add(st.need.buffered);
  }
  return d.value();
}

/// A layout as a placement worker sends it back: its numbers in flat binary arrays. As JSON
/// objects, a section's ten thousand streams cost as much to send as to place.
template <class T>
std::vector<std::uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<std::uint8_t> out(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}
template <class T>
std::vector<T> values_of(const core::Json& j) {
  const auto& bytes = j.get_binary();
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

core::Json pack(const SectionLayout& l) {
  std::vector<std::int64_t> ints;  // per op: units, then they; per stream: src, dst, group, need, links, then they
  std::vector<double> reals{l.start_cost, l.placement_cost, l.max_link_bytes};
  for (const auto& units : l.units) {
    ints.push_back(static_cast<std::int64_t>(units.size()));
    ints.insert(ints.end(), units.begin(), units.end());
  }
  for (const auto& st : l.streams) {
    ints.insert(ints.end(), {st.src, st.dst, st.group, static_cast<std::int64_t>(st.need.dependency), st.need.slices,
                             st.need.halo, st.need.buffered ? 1 : 0, static_cast<std::int64_t>(st.links.size())});
    ints.insert(ints.end(), st.links.begin(), st.links.end());
    reals.push_back(st.bytes);
  }
  return {{"start", l.start},
          {"rounds", {l.route_rounds, l.overused_links, l.units.size(), l.streams.size()}},
          {"ints", core::Json::binary(bytes_of(ints))},
          {"reals", core::Json::binary(bytes_of(reals))}};
}

SectionLayout unpack(const core::Json& j) {
  SectionLayout l;
  l.start = j.at("start").get<std::string>();
  const auto& rounds = j.at("rounds");
  l.route_rounds = rounds[0].get<int>();
  l.overused_links = rounds[1].get<int>();
  const auto ints = values_of<std::int64_t>(j.at("ints"));
  const auto reals = values_of<double>(j.at("reals"));
  l.start_cost = reals.at(0);
  l.placement_cost = reals.at(1);
  l.max_link_bytes = reals.at(2);
  std::size_t at = 0;
  const auto next = [&] { return static_cast<int>(ints.at(at++)); };
  l.units.resize(rounds[2].get<std::size_t>());
  for (auto& units : l.units) {
    units.resize(static_cast<std::size_t>(next()));
    for (auto& u : units) u = next();
  }
  l.streams.resize(rounds[3].get<std::size_t>());
  for (std::size_t s = 0; s < l.streams.size(); ++s) {
    auto& st = l.streams[s];
    st.src = next();
    st.dst = next();
    st.group = next();
    st.need.dependency = static_cast<graphs::Dependency>(next());
    st.need.slices = ints.at(at++);
    st.need.halo = ints.at(at++);
    st.need.buffered = next() != 0;
    st.links.resize(static_cast<std::size_t>(next()));
    for (auto& link : st.links) link = next();
    st.bytes = reals.at(3 + s);
  }
  return l;
}

}  // namespace

PlacedSections place_sections(const std::vector<OpDemand>& demands, const std::vector<Section>& sections,
                              const RegionIndex& region, std::uint64_t seed, int jobs, graphs::PartitionMemo* memo) {
  const auto budget = [&](std::size_t k) { return std::max(sections[k].compute_cycles, sections[k].memory_cycles); };
  // Each section's first alike one, and the work of placing the distinct ones.
  std::map<core::JsonDigest::Value, std::size_t> first_of;
  std::vector<std::size_t> same(sections.size());
  std::vector<std::pair<double, std::size_t>> work;  // (virtual units + streams, section)
  for (std::size_t k = 0; k < sections.size(); ++k) {
    const auto vs = virtual_section(demands, sections[k]);
    const auto [at, fresh] = first_of.emplace(layout_key(vs, budget(k)), k);
    same[k] = at->second;
    if (fresh) work.emplace_back(static_cast<double>(vs.size() + vs.streams.size()), k);
  }
  PlacedSections out;
  out.layouts.resize(sections.size());
  const auto place = [&](std::size_t k) {
    return place_and_route(demands, sections[k], region, budget(k), seed + k, memo);
  };
  const auto workers = std::min(static_cast<std::size_t>(std::max(jobs, 1)), work.size());
  if (workers < 2) {
    for (const auto& [size, k] : work) out.layouts[k] = place(k);
  } else {
    const auto shares = core::share_out(work, workers);
    std::vector<std::unique_ptr<core::Worker>> running;
    for (const auto& share : shares) {
      running.push_back(std::make_unique<core::Worker>([&, share] {
        core::Json layouts = core::Json::array();
        for (std::size_t k : share) layouts.push_back(pack(place(k)));
        return layouts;
      }));
    }
    for (std::size_t j = 0; j < workers; ++j) {
      const auto layouts = running[j]->wait();
      for (std::size_t i = 0; i < shares[j].size(); ++i) out.layouts[shares[j][i]] = unpack(layouts.at(i));
    }
  }
  for (std::size_t k = 0; k < sections.size(); ++k) {
    if (same[k] == k) continue;
    out.layouts[k] = out.layouts[same[k]];
    ++out.reused;
  }
  return out;
}

}  // namespace rdasim::mapper
