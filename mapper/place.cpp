#include "mapper/place.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <queue>
#include <tuple>

#include "core/random.h"

namespace rdasim::mapper {

namespace {

bool uses_pcus(Engine e) { return e == Engine::matrix || e == Engine::vector; }

/// A virtual stream between two virtual units (indices into the flat unit list); streams of
/// one `group` carry the same data from one source (multicast).
struct VStream {
  int src = 0, dst = 0;
  double bytes = 0;
  int group = 0;
};

}  // namespace

RegionIndex::RegionIndex(const arch::Fabric& fabric, const arch::Region& region) : m_fabric(fabric) {
  const auto units = fabric.units();
  m_x.assign(units.size(), 0);
  m_y.assign(units.size(), 0);
  m_forwards.assign(units.size(), false);
  for (const arch::Unit& u : units) {
    m_forwards[static_cast<std::size_t>(u.id)] = u.kind == arch::UnitKind::switch_box;
    if (u.kind == arch::UnitKind::memory) continue;
    m_x[static_cast<std::size_t>(u.id)] = fabric.global_x(u);
    m_y[static_cast<std::size_t>(u.id)] = fabric.global_y(u);
    if (u.kind != arch::UnitKind::pcu && u.kind != arch::UnitKind::pmu) continue;
    if (std::find(region.tiles.begin(), region.tiles.end(), u.tile) == region.tiles.end()) continue;
    (u.kind == arch::UnitKind::pcu ? m_pcus : m_pmus).push_back(u.id);
  }
  m_usable.assign(fabric.links().size(), false);
  for (const auto& l : fabric.links()) m_usable[static_cast<std::size_t>(l.id)] = fabric.contains(region, l);
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
      if (tensor.role == graphs::Role::param || tensor.role == graphs::Role::constant) continue;  // weights: below
      const auto from = holder(t);
      if (!from) continue;  // from DRAM: counted as memory traffic
      // Reader r takes its share from the producer's output PMU r mod n: one multicast group
      // per source PMU.
      const auto sources = output_pmus_of(*from);
      const double share = static_cast<double>(tensor.elements()) * bytes_per_element / static_cast<double>(readers.size());
      const int first_group = groups;
      groups += static_cast<int>(sources.size());
      for (std::size_t r = 0; r < readers.size(); ++r) {
        const std::size_t k = r % sources.size();
        vstreams.push_back({sources[k], readers[r], share, first_group + static_cast<int>(k)});
      }
    }
    // Each PCU slice writes its results into an output PMU; weights go from their PMUs to the
    // PCUs that use them.
    const double out_bytes = demands[static_cast<std::size_t>(section.ops[i].op)].output_bytes;
    for (std::size_t j = 0; j < pcus.size(); ++j) {
      vstreams.push_back({pcus[j], outputs[j % outputs.size()], out_bytes / static_cast<double>(pcus.size()), groups++});
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
  std::vector<int> owner;  // per physical unit id: the virtual unit on it, or -1
  owner.assign(fabric.units().size(), -1);
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
      const int u = nearest_free(is_pcu[static_cast<std::size_t>(v)], count > 0 ? cx / count : 0, count > 0 ? cy / count : 0,
                                 count > 0);
      if (u < 0) continue;  // the sectioning keeps within the region: cannot happen
      where[static_cast<std::size_t>(v)] = u;
      owner[static_cast<std::size_t>(u)] = static_cast<int>(v);
    }
  }
  // Simulated annealing on bytes x hops: move a unit to a free place or swap two of a kind.
  auto stream_cost = [&](const VStream& s) {
    return s.bytes * layout.distance(where[static_cast<std::size_t>(s.src)], where[static_cast<std::size_t>(s.dst)]);
  };
  auto unit_cost = [&](int v, int skip) {
    double c = 0;
    for (int s : incident[static_cast<std::size_t>(v)]) {
      const auto& st = vstreams[static_cast<std::size_t>(s)];
      if (skip >= 0 && (st.src == skip || st.dst == skip)) continue;  // counted with the partner
      c += stream_cost(st);
    }
    return c;
  };
  double cost = 0;
  for (const auto& s : vstreams) cost += stream_cost(s);
  core::SplitMix64 rng(seed);
  // Effort grows with the units to place, capped: sections of one op (o0) need little.
  const std::size_t moves = std::min<std::size_t>(100'000, 15 * n);
  double temperature = cost / std::max<double>(1.0, static_cast<double>(vstreams.size())) * 0.5;
  const double cooling = moves > 0 ? std::pow(1e-4, 1.0 / static_cast<double>(moves)) : 1.0;
  for (std::size_t m = 0; m < moves && n > 0; ++m, temperature *= cooling) {
    const auto v = static_cast<int>(rng.next() % n);
    const auto& pool = layout.pool(is_pcu[static_cast<std::size_t>(v)]);
    const int target = pool[static_cast<std::size_t>(rng.next() % pool.size())];
    const int from = where[static_cast<std::size_t>(v)];
    if (target == from) continue;
    const int other = owner[static_cast<std::size_t>(target)];
    const double before = unit_cost(v, -1) + (other >= 0 ? unit_cost(other, v) : 0.0);
    where[static_cast<std::size_t>(v)] = target;
    if (other >= 0) where[static_cast<std::size_t>(other)] = from;
    const double after = unit_cost(v, -1) + (other >= 0 ? unit_cost(other, v) : 0.0);
    const double delta = after - before;
    const double scaled = delta / std::max(temperature, 1e-12);
    if (delta <= 0 || (scaled < 30.0 && rng.uniform() < std::exp(-scaled))) {
      owner[static_cast<std::size_t>(target)] = v;
      owner[static_cast<std::size_t>(from)] = other;
      cost += delta;
    } else {
      where[static_cast<std::size_t>(v)] = from;
      if (other >= 0) where[static_cast<std::size_t>(other)] = target;
    }
  }

  SectionLayout out;
  out.units.resize(section.ops.size());
  for (std::size_t i = 0; i < section.ops.size(); ++i) {
    for (int v : op_units[i]) out.units[i].push_back(where[static_cast<std::size_t>(v)]);
  }
  out.placement_cost = cost;

  // Routing: negotiated congestion over the region's links. Each reader's path is an A*
  // search from the source; a multicast group loads the union of its paths once.
  const auto links = fabric.links();
  std::vector<double> history(links.size(), 0.0), load(links.size(), 0.0);
  const double budget = std::max(cycles, 1.0);
  std::map<int, std::vector<int>> by_group;
  for (std::size_t s = 0; s < vstreams.size(); ++s) by_group[vstreams[s].group].push_back(static_cast<int>(s));
  std::vector<std::vector<int>> paths(vstreams.size());
  const std::size_t units = fabric.units().size();
  std::vector<double> dist(units, std::numeric_limits<double>::max());
  std::vector<int> via(units, -1);
  std::vector<int> touched;
  auto route = [&](int src, int dst, double bytes) {
    for (int u : touched) {
      dist[static_cast<std::size_t>(u)] = std::numeric_limits<double>::max();
      via[static_cast<std::size_t>(u)] = -1;
    }
    touched.clear();
    // Switch to switch a link moves one cell, into a unit up to two: at least distance - 1
    // links remain. (Links between tiles jump the tile margin; there it may overestimate a
    // little, which only makes such paths slightly less preferred.)
    auto estimate = [&](int u) { return std::max(0.0, static_cast<double>(layout.distance(u, dst)) - 1.0); };
    // Ordered by estimated total, ties to the deeper node: on a mesh of equal costs this walks
    // one shortest path instead of filling the rectangle between the ends.
    using Entry = std::tuple<double, double, int>;  // estimated total, -cost so far, unit
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> frontier;
    dist[static_cast<std::size_t>(src)] = 0;
    touched.push_back(src);
    frontier.emplace(estimate(src), 0.0, src);
    while (!frontier.empty()) {
      const auto [f, negative_g, u] = frontier.top();
      frontier.pop();
      if (u == dst) break;
      const double d = dist[static_cast<std::size_t>(u)];
      if (-negative_g > d + 1e-12) continue;  // stale
      if (!layout.forwards(u) && u != src) continue;  // PCUs and PMUs are end points
      for (int l : fabric.out_links(u)) {
        if (!layout.usable(l)) continue;
        const auto& link = links[static_cast<std::size_t>(l)];
        const double capacity = link.bytes_per_cycle * budget;
        const double over = std::max(0.0, (load[static_cast<std::size_t>(l)] + bytes) / capacity - 1.0);
        const double next = d + (1.0 + history[static_cast<std::size_t>(l)]) * (1.0 + 4.0 * over);
        const auto v = static_cast<std::size_t>(link.dst);
        if (next < dist[v]) {
          if (dist[v] == std::numeric_limits<double>::max()) touched.push_back(link.dst);
          dist[v] = next;
          via[v] = l;
          frontier.emplace(next + estimate(link.dst), -next, link.dst);
        }
      }
    }
    std::vector<int> path;
    for (int u = dst; u != src;) {
      const int l = via[static_cast<std::size_t>(u)];
      if (l < 0) return std::vector<int>{};  // unreachable inside the region: check() reports it
      path.push_back(l);
      u = links[static_cast<std::size_t>(l)].src;
    }
    std::reverse(path.begin(), path.end());
    return path;
  };
  constexpr int k_rounds = 6;
  int previous_overused = std::numeric_limits<int>::max();
  for (int round = 0; round < k_rounds; ++round) {
    std::fill(load.begin(), load.end(), 0.0);
    for (const auto& [group, members] : by_group) {
      const int src = where[static_cast<std::size_t>(vstreams[static_cast<std::size_t>(members[0])].src)];
      double bytes = 0;
      for (int s : members) bytes += vstreams[static_cast<std::size_t>(s)].bytes;
      std::vector<int> tree;
      for (int s : members) {
        paths[static_cast<std::size_t>(s)] = route(src, where[static_cast<std::size_t>(vstreams[static_cast<std::size_t>(s)].dst)], bytes);
        tree.insert(tree.end(), paths[static_cast<std::size_t>(s)].begin(), paths[static_cast<std::size_t>(s)].end());
      }
      std::sort(tree.begin(), tree.end());
      tree.erase(std::unique(tree.begin(), tree.end()), tree.end());
      for (int l : tree) load[static_cast<std::size_t>(l)] += bytes;
    }
    int overused = 0;
    for (std::size_t l = 0; l < links.size(); ++l) {
      if (load[l] == 0.0) continue;
      const double ratio = load[l] / (links[l].bytes_per_cycle * budget);
      if (ratio > 1.0) {
        ++overused;
        history[l] += ratio - 1.0;
      }
    }
    out.route_rounds = round + 1;
    out.overused_links = overused;
    // Done when nothing is over capacity, or when negotiating stops helping (a hot spot at a
    // unit's own links that no detour avoids).
    if (overused == 0 || overused >= previous_overused) break;
    previous_overused = overused;
  }
  for (std::size_t s = 0; s < vstreams.size(); ++s) {
    const auto& v = vstreams[s];
    out.streams.push_back({where[static_cast<std::size_t>(v.src)], where[static_cast<std::size_t>(v.dst)], v.bytes, paths[s]});
  }
  out.max_link_bytes = *std::max_element(load.begin(), load.end());
  return out;
}

}  // namespace rdasim::mapper
