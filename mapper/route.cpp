#include "mapper/route.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <tuple>

namespace rdasim::mapper {

Routing route(const RegionIndex& layout, const std::vector<RouteDemand>& demands, double cycles) {
  const arch::Fabric& fabric = layout.fabric();
  const auto links = fabric.links();
  std::vector<double> history(links.size(), 0.0), load(links.size(), 0.0);
  const double budget = std::max(cycles, 1.0);
  std::map<int, std::vector<int>> by_group;
  for (std::size_t s = 0; s < demands.size(); ++s) by_group[demands[s].group].push_back(static_cast<int>(s));
  Routing out;
  auto& paths = out.paths;
  paths.resize(demands.size());
  const std::size_t units = fabric.units().size();
  std::vector<double> dist(units, std::numeric_limits<double>::max());
  std::vector<int> via(units, -1);
  std::vector<int> touched;
  std::vector<char> wanted(units, 0);
  // Shortest paths from `src` to every unit of `dsts` under the congestion-aware link costs.
  // One sink: A* towards it. Several (a multicast group): one Dijkstra search until all are
  // reached, so the group costs one search, and its paths share their first links.
  auto search = [&](int src, const std::vector<int>& dsts, double bytes) {
    for (int u : touched) {
      dist[static_cast<std::size_t>(u)] = std::numeric_limits<double>::max();
      via[static_cast<std::size_t>(u)] = -1;
    }
    touched.clear();
    const int single = dsts.size() == 1 ? dsts[0] : -1;
    std::size_t remaining = 0;
    for (int d : dsts) {
      if (!wanted[static_cast<std::size_t>(d)]) ++remaining;
      wanted[static_cast<std::size_t>(d)] = 1;
    }
    // Switch to switch a link moves one cell, into a unit up to two: at least distance - 1
    // links remain. (Links between tiles jump the tile margin; there it may overestimate a
    // little, which only makes such paths slightly less preferred.)
    auto estimate = [&](int u) {
      return single < 0 ? 0.0 : std::max(0.0, static_cast<double>(layout.distance(u, single)) - 1.0);
    };
    // Ordered by estimated total, ties to the deeper node: on a mesh of equal costs this walks
    // one shortest path instead of filling the rectangle between the ends.
    using Entry = std::tuple<double, double, int>;  // estimated total, -cost so far, unit
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> frontier;
    dist[static_cast<std::size_t>(src)] = 0;
    touched.push_back(src);
    frontier.emplace(estimate(src), 0.0, src);
    while (!frontier.empty() && remaining > 0) {
      const auto [f, negative_g, u] = frontier.top();
      frontier.pop();
      const double d = dist[static_cast<std::size_t>(u)];
      if (-negative_g > d + 1e-12) continue;  // stale
      if (wanted[static_cast<std::size_t>(u)]) {
        wanted[static_cast<std::size_t>(u)] = 0;
        if (--remaining == 0) break;
      }
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
    for (int d : dsts) wanted[static_cast<std::size_t>(d)] = 0;  // unreachable ones too
  };
  auto path_to = [&](int src, int dst) {
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
      const int src = demands[static_cast<std::size_t>(members[0])].src;
      double bytes = 0;
      for (int s : members) bytes += demands[static_cast<std::size_t>(s)].bytes;
      std::vector<int> sinks;
      for (int s : members) sinks.push_back(demands[static_cast<std::size_t>(s)].dst);
      search(src, sinks, bytes);
      std::vector<int> tree;
      for (int s : members) {
        paths[static_cast<std::size_t>(s)] = path_to(src, demands[static_cast<std::size_t>(s)].dst);
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
    out.rounds = round + 1;
    out.overused_links = overused;
    // Done when nothing is over capacity, or when negotiating stops helping (a hot spot at a
    // unit's own links that no detour avoids).
    if (overused == 0 || overused >= previous_overused) break;
    previous_overused = overused;
  }
  out.max_link_bytes = load.empty() ? 0.0 : *std::max_element(load.begin(), load.end());
  return out;
}

}  // namespace rdasim::mapper
