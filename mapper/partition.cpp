#include "mapper/partition.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "graphs/algorithms.h"

namespace rdasim::mapper {

namespace {

/// Bytes to METIS's integer weights: kibibytes, at least 1 so that every edge counts.
std::int64_t edge_weight(double bytes) { return std::max<std::int64_t>(1, static_cast<std::int64_t>(bytes / 1024.0)); }

}  // namespace

std::vector<int> section_labels(const graphs::Graph& g, const std::vector<std::int64_t>& load, int parts, int seed,
                                graphs::PartitionMemo* memo) {
  const auto n = static_cast<std::int64_t>(g.ops().size());
  std::vector<graphs::WeightedEdge> edges;
  for (std::int64_t id = 0; id < n; ++id) {
    for (graphs::TensorId t : g.op(static_cast<graphs::OpId>(id)).inputs) {
      if (t == graphs::k_no_tensor) continue;
      const auto& tensor = g.tensor(t);
      if (tensor.producer < 0) continue;
      edges.push_back({tensor.producer, id, edge_weight(static_cast<double>(tensor.bytes()))});
    }
  }
  // METIS divides by the total weight: an all-zero load (only views) counts every op alike.
  std::vector<std::int64_t> vertex_weights;
  if (std::accumulate(load.begin(), load.end(), std::int64_t{0}) > 0) vertex_weights = load;
  graphs::PartitionOptions options;
  options.parts = std::clamp<int>(parts, 1, static_cast<int>(n));
  options.imbalance = 1.10;
  options.seed = seed;
  const auto cut =
      graphs::partition(graphs::WeightedGraph::from_edges(n, std::move(vertex_weights), 1, edges), options, memo);

  // Rank the parts by where their ops sit in execution order, then push every op at least as
  // late as what it reads.
  const auto order = graphs::topological_order(g);
  std::vector<double> position_sum(static_cast<std::size_t>(options.parts), 0.0),
      count(static_cast<std::size_t>(options.parts), 0.0);
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto p = static_cast<std::size_t>(cut.part[static_cast<std::size_t>(order[k])]);
    position_sum[p] += static_cast<double>(k);
    count[p] += 1;
  }
  std::vector<int> by_position(static_cast<std::size_t>(options.parts));
  std::iota(by_position.begin(), by_position.end(), 0);
  std::stable_sort(by_position.begin(), by_position.end(), [&](int a, int b) {
    const auto mean = [&](int p) {
      const auto i = static_cast<std::size_t>(p);
      return count[i] > 0 ? position_sum[i] / count[i] : 0.0;
    };
    return mean(a) < mean(b);
  });
  std::vector<int> rank(static_cast<std::size_t>(options.parts));
  for (std::size_t r = 0; r < by_position.size(); ++r)
    rank[static_cast<std::size_t>(by_position[r])] = static_cast<int>(r);
  std::vector<int> label(static_cast<std::size_t>(n), 0);
  for (graphs::OpId id : order) {
    int l = rank[static_cast<std::size_t>(cut.part[static_cast<std::size_t>(id)])];
    for (graphs::TensorId t : g.op(id).inputs) {
      if (t == graphs::k_no_tensor || g.tensor(t).producer < 0) continue;
      l = std::max(l, label[static_cast<std::size_t>(g.tensor(t).producer)]);
    }
    label[static_cast<std::size_t>(id)] = l;
  }
  return label;
}

namespace {

/// Units in a part small enough to place without another cut.
constexpr std::size_t k_leaf = 6;

struct Bisection {
  const std::vector<bool>& is_pcu;
  /// Per virtual unit: (neighbour, weight), both directions.
  std::vector<std::vector<std::pair<int, std::int64_t>>> adjacent;
  int seed;
  graphs::PartitionMemo* memo;
  std::vector<int> result;
  std::vector<int> slot;  ///< per virtual unit: its index in the units being split

  /// The index of virtual unit `w` among `units`, or -1 (slots may be stale from other calls).
  int member(const std::vector<int>& units, int w) const {
    const int j = slot[static_cast<std::size_t>(w)];
    return j >= 0 && j < static_cast<int>(units.size()) && units[static_cast<std::size_t>(j)] == w ? j : -1;
  }

  /// Splits `units` between two halves of `sites` and recurses.
  void place(std::vector<int> units, std::vector<Site> sites) {
    if (units.empty()) return;
    // A few units: side by side in the sites' own order (annealing polishes the rest); METIS
    // calls on tiny graphs would cost more than they place.
    if (units.size() <= k_leaf) {
      std::vector<bool> taken(sites.size(), false);
      for (int v : units) {
        std::size_t i = 0;
        while (i < sites.size() && (taken[i] || sites[i].pcu != is_pcu[static_cast<std::size_t>(v)])) ++i;
        RDASIM_ASSERT(i < sites.size(), "bisection kept a unit without a site of its kind");
        taken[i] = true;
        result[static_cast<std::size_t>(v)] = sites[i].unit;
      }
      return;
    }
    // Halve the sites across their longer side.
    const auto [min_x, max_x] =
        std::minmax_element(sites.begin(), sites.end(), [](const Site& a, const Site& b) { return a.x < b.x; });
    const auto [min_y, max_y] =
        std::minmax_element(sites.begin(), sites.end(), [](const Site& a, const Site& b) { return a.y < b.y; });
    const bool across_x = max_x->x - min_x->x >= max_y->y - min_y->y;
    std::stable_sort(sites.begin(), sites.end(), [&](const Site& a, const Site& b) {
      return across_x ? std::tie(a.x, a.y) < std::tie(b.x, b.y) : std::tie(a.y, a.x) < std::tie(b.y, b.x);
    });
    const auto half = static_cast<std::ptrdiff_t>(sites.size() / 2);
    std::vector<Site> first(sites.begin(), sites.begin() + half), second(sites.begin() + half, sites.end());
    const auto capacity = [](const std::vector<Site>& s, bool pcu) {
      return static_cast<int>(std::count_if(s.begin(), s.end(), [&](const Site& x) { return x.pcu == pcu; }));
    };
    for (std::size_t i = 0; i < units.size(); ++i) slot[static_cast<std::size_t>(units[i])] = static_cast<int>(i);
    std::vector<int> side = split(units, static_cast<double>(first.size()) / static_cast<double>(sites.size()));
    // Repair: a half may not hold more units of a kind than it has sites of that kind. Move
    // those with the least pull to their side (bytes inside minus bytes across) over.
    for (const bool pcu : {true, false}) {
      for (int s = 0; s < 2; ++s) {
        const int room = capacity(s == 0 ? first : second, pcu);
        for (;;) {
          int on_side = 0, best = -1;
          std::int64_t best_pull = 0;
          for (std::size_t i = 0; i < units.size(); ++i) {
            if (side[i] != s || is_pcu[static_cast<std::size_t>(units[i])] != pcu) continue;
            ++on_side;
            std::int64_t pull = 0;
            for (const auto& [w, weight] : adjacent[static_cast<std::size_t>(units[i])]) {
              const int j = member(units, w);
              if (j < 0) continue;
              pull += side[static_cast<std::size_t>(j)] == s ? weight : -weight;
            }
            if (best < 0 || pull < best_pull) {
              best = static_cast<int>(i);
              best_pull = pull;
            }
          }
          if (on_side <= room) break;
          side[static_cast<std::size_t>(best)] = 1 - s;
        }
      }
    }
    std::vector<int> a, b;
    for (std::size_t i = 0; i < units.size(); ++i) (side[i] == 0 ? a : b).push_back(units[i]);
    place(std::move(a), std::move(first));
    place(std::move(b), std::move(second));
  }

  /// METIS bisection of `units` with `fraction` of the weight on side 0.
  std::vector<int> split(const std::vector<int>& units, double fraction) {
    const auto n = static_cast<std::int64_t>(units.size());
    std::vector<graphs::WeightedEdge> edges;
    for (std::size_t i = 0; i < units.size(); ++i) {
      for (const auto& [w, weight] : adjacent[static_cast<std::size_t>(units[i])]) {
        const int j = member(units, w);
        if (j > static_cast<int>(i)) edges.push_back({static_cast<std::int64_t>(i), j, weight});
      }
    }
    // One constraint, the unit count: the grid mixes PCUs and PMUs evenly, so halves balanced in
    // count are nearly balanced in each kind, and the repair above settles the rest. (METIS's
    // two-constraint refinement took most of the mapping time of many-tenant workloads.)
    graphs::PartitionOptions options;
    options.parts = 2;
    options.seed = seed;
    options.imbalance = 1.05;
    fraction = std::clamp(fraction, 0.05, 0.95);
    options.target_fractions = {fraction, 1.0 - fraction};
    return graphs::partition(graphs::WeightedGraph::from_edges(n, {}, 1, edges), options, memo).part;
  }
};

}  // namespace

std::vector<int> bisect_placement(const std::vector<bool>& is_pcu, const std::vector<graphs::WeightedEdge>& edges,
                                  const std::vector<Site>& sites, int seed, graphs::PartitionMemo* memo) {
  Bisection b{is_pcu,
              std::vector<std::vector<std::pair<int, std::int64_t>>>(is_pcu.size()),
              seed,
              memo,
              std::vector<int>(is_pcu.size(), -1),
              std::vector<int>(is_pcu.size(), -1)};
  for (const auto& e : edges) {
    if (e.u == e.v) continue;
    b.adjacent[static_cast<std::size_t>(e.u)].emplace_back(static_cast<int>(e.v), e.weight);
    b.adjacent[static_cast<std::size_t>(e.v)].emplace_back(static_cast<int>(e.u), e.weight);
  }
  // A compact window: squares grown from the sites' top-left corner until they hold the units
  // of each kind with a quarter to spare.
  int min_x = sites.front().x, min_y = sites.front().y;
  for (const auto& s : sites) {
    min_x = std::min(min_x, s.x);
    min_y = std::min(min_y, s.y);
  }
  std::vector<Site> ordered = sites;
  std::stable_sort(ordered.begin(), ordered.end(), [&](const Site& a, const Site& c) {
    return std::max(a.x - min_x, a.y - min_y) < std::max(c.x - min_x, c.y - min_y);
  });
  const auto need = [&](bool pcu) {
    const auto n = std::count(is_pcu.begin(), is_pcu.end(), pcu);
    return static_cast<std::ptrdiff_t>(std::ceil(static_cast<double>(n) * 1.25));
  };
  std::ptrdiff_t want_pcus = need(true), want_pmus = need(false);
  std::vector<Site> window;
  for (const auto& s : ordered) {
    auto& want = s.pcu ? want_pcus : want_pmus;
    if (want <= 0) continue;
    window.push_back(s);
    --want;
  }
  std::vector<int> all(is_pcu.size());
  std::iota(all.begin(), all.end(), 0);
  b.place(std::move(all), std::move(window));
  return b.result;
}

}  // namespace rdasim::mapper
