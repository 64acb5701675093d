#include "mapper/place.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "core/random.h"
#include "mapper/partition.h"
#include "mapper/route.h"

namespace rdasim::mapper {

namespace {

/// A virtual stream between two virtual units (indices into the flat unit list); streams of
/// one `group` carry the same data from one source (multicast).
struct VStream {
  int src = 0, dst = 0;
  double bytes = 0;
  int group = 0;
};

}  // namespace

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
  for (int x = std::min(xa, xb); x < std::max(xa, xb); ++x) change += add_to(m_horizontal, ya * m_width + x, bytes);
  for (int y = std::min(ya, yb); y < std::max(ya, yb); ++y) change += add_to(m_vertical, y * m_width + xb, bytes);
  return change;
}

double ChannelLoad::overflow_cost() const {
  double c = 0;
  for (const auto* channel : {&m_horizontal, &m_vertical}) {
    for (double l : *channel) c += m_overflow_cost * std::max(0.0, l - m_capacity);
  }
  return c;
}

double ChannelLoad::add_to(std::vector<double>& load, int at, double bytes) {
  double& l = load[static_cast<std::size_t>(at)];
  const double before = std::max(0.0, l - m_capacity);
  l += bytes;
  return m_overflow_cost * (std::max(0.0, l - m_capacity) - before);
}

SectionLayout place_and_route(const graphs::Graph& g, const std::vector<OpDemand>& demands, const Section& section,
                              const RegionIndex& layout, double cycles, std::uint64_t seed) {
  const arch::Fabric& fabric = layout.fabric();
  const double bytes_per_element = element_bytes(fabric.spec());
  // Virtual units: per op, its PCU slices then its PMU buffers (the first PMU holds its output).
  std::vector<bool> is_pcu;
  std::vector<std::vector<int>> op_units(section.ops.size());
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
  auto pcus_of = [&](std::size_t i) {
    std::vector<int> out;
    for (int v : op_units[i]) {
      if (is_pcu[static_cast<std::size_t>(v)]) out.push_back(v);
    }
    return out;
  };
  auto pmus_of = [&](std::size_t i) {
    std::vector<int> out;
    for (int v : op_units[i]) {
      if (!is_pcu[static_cast<std::size_t>(v)]) out.push_back(v);
    }
    return out;
  };
  // The op whose PMU holds a tensor: views pass their input through.
  auto holder = [&](graphs::TensorId t) -> std::optional<std::size_t> {
    for (;;) {
      const auto producer = g.tensor(t).producer;
      auto it = index_of.find(producer);
      if (producer < 0 || it == index_of.end()) return std::nullopt;
      if (!op_units[it->second].empty()) return it->second;
      const auto& inputs = g.op(producer).inputs;
      if (inputs.empty() || inputs[0] == graphs::k_no_tensor) return std::nullopt;
      t = inputs[0];
    }
  };
  auto output_pmus_of = [&](std::size_t i) {
    auto pmus = pmus_of(i);
    pmus.resize(static_cast<std::size_t>(std::max(1, section.ops[i].output_pmus)));
    return pmus;
  };
  std::vector<VStream> vstreams;
  int groups = 0;
  for (std::size_t i = 0; i < section.ops.size(); ++i) {
    if (op_units[i].empty()) continue;
    const graphs::Op& op = g.op(section.ops[i].op);
    const auto pcus = pcus_of(i);
    const auto pmus = pmus_of(i);
    const auto outputs = output_pmus_of(i);
    const auto& readers = pcus.empty() ? outputs : pcus;  // memory-engine ops read into their PMUs
    for (graphs::TensorId t : op.inputs) {
      if (t == graphs::k_no_tensor) continue;
      const auto& tensor = g.tensor(t);
      if (graphs::is_stored(tensor.role)) continue;  // weights and optimizer state: below
      const auto from = holder(t);
      if (!from) continue;  // from DRAM: counted as memory traffic
      // Reader r takes its share from the producer's output PMU r mod n: one multicast group
      // per source PMU.
      const auto sources = output_pmus_of(*from);
      const double share =
          static_cast<double>(tensor.elements()) * bytes_per_element / static_cast<double>(readers.size());
      const int first_group = groups;
      groups += static_cast<int>(sources.size());
      for (std::size_t r = 0; r < readers.size(); ++r) {
        const std::size_t k = r % sources.size();
        vstreams.push_back({sources[k], readers[r], share, first_group + static_cast<int>(k)});
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
      if (j < writers) vstreams.push_back({pcus[j], outputs[j % outputs.size()], share, groups++});
      else vstreams.push_back({pcus[j], pcus[j % writers], share, groups++});
    }
    const double weights = demands[static_cast<std::size_t>(section.ops[i].op)].weight_bytes;
    if (!pcus.empty() && pmus.size() > outputs.size() && weights > 0) {
      const std::size_t weight_pmus = pmus.size() - outputs.size();
      for (std::size_t w = outputs.size(); w < pmus.size(); ++w) {
        const int group = groups++;
        for (int p : pcus) {
          vstreams.push_back({pmus[w], p, weights / static_cast<double>(weight_pmus * pcus.size()), group});
        }
      }
    }
  }
  // Multicast: a group's bytes travel once to all its readers; per reader they are the share.
  const std::size_t n = is_pcu.size();
  std::vector<std::vector<int>> incident(n);
  for (std::size_t s = 0; s < vstreams.size(); ++s) {
    incident[static_cast<std::size_t>(vstreams[s].src)].push_back(static_cast<int>(s));
    incident[static_cast<std::size_t>(vstreams[s].dst)].push_back(static_cast<int>(s));
  }

  // Greedy start: ops in pipeline order take the free units nearest to what they read from.
  std::vector<int> where(n, -1);
  std::vector<int> owner(fabric.units().size(), -1);  // per physical unit: the virtual unit on it, or -1
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
  for (std::size_t i = 0; i < section.ops.size(); ++i) {
    for (int v : op_units[i]) {
      // The centre of the already placed units it exchanges data with.
      double cx = 0, cy = 0, count = 0;
      for (int s : incident[static_cast<std::size_t>(v)]) {
        const int other = vstreams[static_cast<std::size_t>(s)].src == v ? vstreams[static_cast<std::size_t>(s)].dst
                                                                         : vstreams[static_cast<std::size_t>(s)].src;
        if (where[static_cast<std::size_t>(other)] < 0) continue;
        cx += layout.x(where[static_cast<std::size_t>(other)]);
        cy += layout.y(where[static_cast<std::size_t>(other)]);
        ++count;
      }
      const int u = nearest_free(is_pcu[static_cast<std::size_t>(v)], count > 0 ? cx / count : 0,
                                 count > 0 ? cy / count : 0, count > 0);
      if (u < 0) continue;  // the sectioning keeps within the region: cannot happen
      where[static_cast<std::size_t>(v)] = u;
      owner[static_cast<std::size_t>(u)] = static_cast<int>(v);
    }
  }
  auto total_cost = [&] {
    double c = 0;
    for (const auto& s : vstreams) {
      c += s.bytes * layout.distance(where[static_cast<std::size_t>(s.src)], where[static_cast<std::size_t>(s.dst)]);
    }
    return c;
  };
  SectionLayout out;
  out.start = "greedy";
  out.start_cost = total_cost();
  // Bisection start: METIS halves the unit graph onto halves of the grid, recursively.
  if (n > 2) {
    std::vector<Site> sites;
    for (const bool pcu : {true, false}) {
      for (int u : layout.pool(pcu)) sites.push_back({u, layout.x(u), layout.y(u), pcu});
    }
    std::vector<graphs::WeightedEdge> edges;
    for (const auto& s : vstreams) {
      edges.push_back({s.src, s.dst, std::max<std::int64_t>(1, static_cast<std::int64_t>(s.bytes / 1024.0))});
    }
    const auto greedy_where = where;
    where = bisect_placement(is_pcu, edges, sites, static_cast<int>(seed % 1'000'000'007));
    if (const double c = total_cost(); c < out.start_cost) {
      out.start = "bisection";
      out.start_cost = c;
      std::fill(owner.begin(), owner.end(), -1);
      for (std::size_t v = 0; v < n; ++v) owner[static_cast<std::size_t>(where[v])] = static_cast<int>(v);
    } else {
      where = greedy_where;
    }
  }
  // Simulated annealing on bytes x hops plus congestion (below): move a unit to a free place or
  // swap two of a kind.
  auto stream_cost = [&](const VStream& s) {
    return s.bytes * layout.distance(where[static_cast<std::size_t>(s.src)], where[static_cast<std::size_t>(s.dst)]);
  };
  // A weak pull towards the region's first unit keeps lightly loaded units (a head's few bytes)
  // from wandering off: worth a hundredth of an average stream per hop.
  double stream_bytes = 0;
  for (const auto& st : vstreams) stream_bytes += st.bytes;
  const double gravity = vstreams.empty() ? 0.0 : 0.01 * stream_bytes / static_cast<double>(vstreams.size());
  const int anchor = layout.pool(true).empty() ? layout.pool(false).front() : layout.pool(true).front();
  auto unit_cost = [&](int v, int skip) {
    double c = gravity * layout.distance(where[static_cast<std::size_t>(v)], anchor);
    for (int s : incident[static_cast<std::size_t>(v)]) {
      const auto& st = vstreams[static_cast<std::size_t>(s)];
      if (skip >= 0 && (st.src == skip || st.dst == skip)) continue;  // counted with the partner
      c += stream_cost(st);
    }
    return c;
  };
  // Congestion: every stream is assumed to take its dimension-order route (along its source's
  // row, then down its sink's column), loading the channel segments it crosses. A segment asked
  // to carry more than its links can in the section's time costs as much per excess byte as two
  // extra hops; routing later spreads the load over real paths, but a hot channel here is one
  // that detours would have to work hard to relieve.
  ChannelLoad channels(layout, 2.0 * fabric.spec().network().link_bytes_per_cycle * std::max(cycles, 1.0), 2.0);
  auto load_stream = [&](int s, double sign) {
    const auto& st = vstreams[static_cast<std::size_t>(s)];
    return channels.add(where[static_cast<std::size_t>(st.src)], where[static_cast<std::size_t>(st.dst)],
                        sign * st.bytes);
  };
  std::vector<int> moved;  // the streams of the units a move touches, each once
  auto streams_of = [&](int v, int other) {
    moved = incident[static_cast<std::size_t>(v)];
    if (other >= 0) {
      for (int s : incident[static_cast<std::size_t>(other)]) {
        const auto& st = vstreams[static_cast<std::size_t>(s)];
        if (st.src != v && st.dst != v) moved.push_back(s);
      }
    }
  };
  double cost = out.start_cost;
  for (std::size_t v = 0; v < n; ++v) cost += gravity * layout.distance(where[v], anchor);
  for (std::size_t s = 0; s < vstreams.size(); ++s) cost += load_stream(static_cast<int>(s), 1.0);
  core::SplitMix64 rng(seed);
  // Effort grows with the units to place, capped: sections of one op (o0) need little.
  const std::size_t moves = std::min<std::size_t>(100'000, 15 * n);
  // The start is already good: a low temperature refines it rather than scrambling it. Moves
  // are range-limited (as in VPR): a unit only jumps within a window that shrinks as the
  // temperature falls, so that lightly loaded units do not drift across the region.
  const double start_temperature = cost / std::max<double>(1.0, static_cast<double>(vstreams.size())) * 0.05;
  double temperature = start_temperature;
  const double cooling = moves > 0 ? std::pow(1e-4, 1.0 / static_cast<double>(moves)) : 1.0;
  int span = 1;
  for (const bool pcu : {true, false}) {
    for (int u : layout.pool(pcu)) span = std::max(span, layout.distance(u, layout.pool(pcu).front()));
  }
  for (std::size_t m = 0; m < moves && n > 0; ++m, temperature *= cooling) {
    const auto v = static_cast<int>(rng.next() % n);
    const auto& pool = layout.pool(is_pcu[static_cast<std::size_t>(v)]);
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
      for (int s : moved) change += load_stream(s, -1.0);
      where[static_cast<std::size_t>(v)] = to_v;
      if (other >= 0) where[static_cast<std::size_t>(other)] = to_other;
      for (int s : moved) change += load_stream(s, 1.0);
      return change;
    };
    const double before = unit_cost(v, -1) + (other >= 0 ? unit_cost(other, v) : 0.0);
    const double congestion = relocate(target, from);
    const double after = unit_cost(v, -1) + (other >= 0 ? unit_cost(other, v) : 0.0);
    const double delta = after - before + congestion;
    const double scaled = delta / std::max(temperature, 1e-12);
    if (delta <= 0 || (scaled < 30.0 && rng.uniform() < std::exp(-scaled))) {
      owner[static_cast<std::size_t>(target)] = v;
      owner[static_cast<std::size_t>(from)] = other;
      cost += delta;
    } else {
      (void)relocate(from, target);
    }
  }

  out.units.resize(section.ops.size());
  for (std::size_t i = 0; i < section.ops.size(); ++i) {
    for (int v : op_units[i]) out.units[i].push_back(where[static_cast<std::size_t>(v)]);
  }
  out.placement_cost = total_cost();  // bytes x hops alone, without the pull

  std::vector<RouteDemand> demands_to_route;
  for (const auto& v : vstreams) {
    demands_to_route.push_back(
        {where[static_cast<std::size_t>(v.src)], where[static_cast<std::size_t>(v.dst)], v.bytes, v.group});
  }
  auto routing = route(layout, demands_to_route, cycles);
  out.route_rounds = routing.rounds;
  out.overused_links = routing.overused_links;
  out.max_link_bytes = routing.max_link_bytes;
  for (std::size_t s = 0; s < vstreams.size(); ++s) {
    const auto& v = vstreams[s];
    out.streams.push_back({where[static_cast<std::size_t>(v.src)], where[static_cast<std::size_t>(v.dst)], v.bytes,
                           std::move(routing.paths[s]), v.group});
  }
  return out;
}

}  // namespace rdasim::mapper
