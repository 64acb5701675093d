#include "workloads/road_network.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include <fmt/format.h>

#include "core/error.h"
#include "core/random.h"

namespace rdasim::workloads {

namespace {

constexpr std::size_t k_candidates = 12;  // nearest sensors considered per sensor
constexpr double k_threshold = 0.1;       // DCRNN's sparsity threshold on kernel weights

struct Link {
  std::int64_t from, to;
  double weight;
};

Csr to_csr(std::int64_t n, std::vector<Link> links) {
  std::sort(links.begin(), links.end(),
            [](const Link& a, const Link& b) { return std::tie(a.from, a.to) < std::tie(b.from, b.to); });
  Csr m;
  m.rows = m.cols = n;
  m.row_ptr.assign(static_cast<std::size_t>(n + 1), 0);
  for (const auto& l : links) {
    ++m.row_ptr[static_cast<std::size_t>(l.from + 1)];
    m.col_idx.push_back(l.to);
    m.values.push_back(l.weight);
  }
  std::partial_sum(m.row_ptr.begin(), m.row_ptr.end(), m.row_ptr.begin());
  return m;
}

}  // namespace

RoadNetwork generate_road_network(const RoadOptions& options) {
  const std::int64_t n = options.sensors;
  const std::int64_t target = options.nonzeros > 0
                                  ? options.nonzeros
                                  : static_cast<std::int64_t>(std::llround(static_cast<double>(n) * 1722.0 / 207.0));
  if (n < 2)
    throw core::InputError(core::Location("sensors"),
                           fmt::format("a road network needs at least 2 sensors, got {}", n));
  const std::int64_t most =
      n + n * static_cast<std::int64_t>(std::min<std::size_t>(k_candidates, static_cast<std::size_t>(n - 1)));
  if (target < n || target > most) {
    throw core::InputError(
        core::Location("nonzeros"),
        fmt::format("{} sensors can have {} to {} nonzeros (self loops and up to {} links each), not {}", n, n, most,
                    k_candidates, target));
  }
  RoadNetwork net;
  core::SplitMix64 rng(options.seed);
  const double side = std::sqrt(static_cast<double>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    net.x.push_back(side * rng.uniform());
    net.y.push_back(side * rng.uniform());
  }
  // The nearest candidates of every sensor (a grid of buckets keeps this near-linear).
  const auto cells = std::max<std::int64_t>(1, static_cast<std::int64_t>(side / 2));
  const double cell = side / static_cast<double>(cells);
  std::vector<std::vector<std::int64_t>> grid(static_cast<std::size_t>(cells * cells));
  auto cell_of = [&](double v) { return std::min<std::int64_t>(cells - 1, static_cast<std::int64_t>(v / cell)); };
  for (std::int64_t i = 0; i < n; ++i) {
    grid[static_cast<std::size_t>(cell_of(net.y[static_cast<std::size_t>(i)]) * cells +
                                  cell_of(net.x[static_cast<std::size_t>(i)]))]
        .push_back(i);
  }
  const std::size_t k = std::min<std::size_t>(k_candidates, static_cast<std::size_t>(n - 1));
  std::vector<std::tuple<double, std::int64_t, std::int64_t>> pairs;  // squared distance, from, to
  for (std::int64_t i = 0; i < n; ++i) {
    const double xi = net.x[static_cast<std::size_t>(i)], yi = net.y[static_cast<std::size_t>(i)];
    std::vector<std::pair<double, std::int64_t>> near;
    for (std::int64_t radius = 1;; ++radius) {
      near.clear();
      const std::int64_t cx = cell_of(xi), cy = cell_of(yi);
      for (std::int64_t gy = std::max<std::int64_t>(0, cy - radius); gy <= std::min(cells - 1, cy + radius); ++gy) {
        for (std::int64_t gx = std::max<std::int64_t>(0, cx - radius); gx <= std::min(cells - 1, cx + radius); ++gx) {
          for (std::int64_t j : grid[static_cast<std::size_t>(gy * cells + gx)]) {
            if (j == i) continue;
            const double dx = net.x[static_cast<std::size_t>(j)] - xi, dy = net.y[static_cast<std::size_t>(j)] - yi;
            near.emplace_back(dx * dx + dy * dy, j);
          }
        }
      }
      // Enough candidates, and the k-th is closer than any sensor outside the searched square.
      if (near.size() >= k) {
        std::nth_element(near.begin(), near.begin() + static_cast<std::ptrdiff_t>(k - 1), near.end());
        const double reach = static_cast<double>(radius) * cell;
        if (near[k - 1].first <= reach * reach || radius >= cells) break;
      } else if (radius >= cells) {
        break;
      }
    }
    std::sort(near.begin(), near.end());
    for (std::size_t c = 0; c < k && c < near.size(); ++c) pairs.emplace_back(near[c].first, i, near[c].second);
  }
  // sigma: the RMS length of the candidate links, so that a typical link weighs exp(-1) and
  // the 0.1 threshold drops those longer than 1.5 sigma.
  double sum_d2 = 0;
  for (const auto& p : pairs) sum_d2 += std::get<0>(p);
  const double sigma2 = std::max(sum_d2 / static_cast<double>(pairs.size()), 1e-12);
  std::vector<Link> links;
  for (std::int64_t i = 0; i < n; ++i) links.push_back({i, i, 1.0});
  std::vector<Link> candidates;
  for (const auto& [d2, from, to] : pairs) {
    const double w = std::exp(-d2 / sigma2);
    if (w >= k_threshold) candidates.push_back({from, to, w});
  }
  if (static_cast<std::int64_t>(candidates.size()) < target - n) {
    throw core::InputError(
        core::Location("nonzeros"),
        fmt::format("only {} links of {} sensors pass the 0.1 weight threshold; {} nonzeros cannot be reached",
                    candidates.size(), n, target));
  }
  // The strongest links first; ties by position so the order is total.
  std::sort(candidates.begin(), candidates.end(), [](const Link& a, const Link& b) {
    return std::tie(b.weight, a.from, a.to) < std::tie(a.weight, b.from, b.to);
  });
  // Road-like rows of 5 to 10 nonzeros where the budget allows: every sensor first gets its 4
  // strongest links, then the strongest remaining ones go to rows under 9 links, and only
  // then to any row.
  std::vector<std::int64_t> row_links(static_cast<std::size_t>(n), 0);
  std::vector<bool> taken(candidates.size(), false);
  std::int64_t budget = target - n;
  auto take_while = [&](auto&& allowed) {
    for (std::size_t c = 0; c < candidates.size() && budget > 0; ++c) {
      const auto row = static_cast<std::size_t>(candidates[c].from);
      if (taken[c] || !allowed(row_links[row])) continue;
      taken[c] = true;
      ++row_links[row];
      --budget;
      links.push_back(candidates[c]);
    }
  };
  take_while([](std::int64_t count) { return count < 4; });
  take_while([](std::int64_t count) { return count < 9; });
  take_while([](std::int64_t) { return true; });
  net.weights = to_csr(n, std::move(links));
  return net;
}

std::vector<Csr> diffusion_supports(const Csr& w, bool dual) {
  const std::int64_t n = w.rows;
  std::vector<double> out_degree(static_cast<std::size_t>(n), 0.0), in_degree(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    for (auto e = w.row_ptr[static_cast<std::size_t>(i)]; e < w.row_ptr[static_cast<std::size_t>(i + 1)]; ++e) {
      out_degree[static_cast<std::size_t>(i)] += w.values[static_cast<std::size_t>(e)];
      in_degree[static_cast<std::size_t>(w.col_idx[static_cast<std::size_t>(e)])] +=
          w.values[static_cast<std::size_t>(e)];
    }
  }
  // S1[j][i] = W[i][j] / out_degree(i); S2[i][j] = W[i][j] / in_degree(j).
  std::vector<Link> s1, s2;
  for (std::int64_t i = 0; i < n; ++i) {
    for (auto e = w.row_ptr[static_cast<std::size_t>(i)]; e < w.row_ptr[static_cast<std::size_t>(i + 1)]; ++e) {
      const std::int64_t j = w.col_idx[static_cast<std::size_t>(e)];
      const double v = w.values[static_cast<std::size_t>(e)];
      s1.push_back({j, i, v / out_degree[static_cast<std::size_t>(i)]});
      s2.push_back({i, j, v / in_degree[static_cast<std::size_t>(j)]});
    }
  }
  std::vector<Csr> supports{to_csr(n, std::move(s1))};
  if (dual) supports.push_back(to_csr(n, std::move(s2)));
  return supports;
}

Csr subgraph(const Csr& w, const std::vector<std::int64_t>& nodes) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(w.rows), -1);
  for (std::size_t i = 0; i < nodes.size(); ++i)
    index[static_cast<std::size_t>(nodes[i])] = static_cast<std::int64_t>(i);
  std::vector<Link> links;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::int64_t u = nodes[i];
    for (auto e = w.row_ptr[static_cast<std::size_t>(u)]; e < w.row_ptr[static_cast<std::size_t>(u + 1)]; ++e) {
      const std::int64_t v = index[static_cast<std::size_t>(w.col_idx[static_cast<std::size_t>(e)])];
      if (v >= 0) links.push_back({static_cast<std::int64_t>(i), v, w.values[static_cast<std::size_t>(e)]});
    }
  }
  return to_csr(static_cast<std::int64_t>(nodes.size()), std::move(links));
}

std::vector<std::int64_t> with_halo(const Csr& w, const std::vector<std::int64_t>& nodes) {
  std::vector<bool> inside(static_cast<std::size_t>(w.rows), false), halo(static_cast<std::size_t>(w.rows), false);
  for (auto v : nodes) inside[static_cast<std::size_t>(v)] = true;
  for (std::int64_t u = 0; u < w.rows; ++u) {
    for (auto e = w.row_ptr[static_cast<std::size_t>(u)]; e < w.row_ptr[static_cast<std::size_t>(u + 1)]; ++e) {
      const auto v = w.col_idx[static_cast<std::size_t>(e)];
      if (inside[static_cast<std::size_t>(u)] && !inside[static_cast<std::size_t>(v)])
        halo[static_cast<std::size_t>(v)] = true;
      if (inside[static_cast<std::size_t>(v)] && !inside[static_cast<std::size_t>(u)])
        halo[static_cast<std::size_t>(u)] = true;
    }
  }
  std::vector<std::int64_t> out = nodes;
  for (std::int64_t v = 0; v < w.rows; ++v) {
    if (halo[static_cast<std::size_t>(v)]) out.push_back(v);
  }
  return out;
}

graphs::Partition partition_road_network(const Csr& w, int parts, int seed) {
  // Undirected, without self loops: weight(u, v) = w(u, v) + w(v, u), scaled to integers.
  std::vector<std::vector<std::pair<std::int64_t, double>>> adjacency(static_cast<std::size_t>(w.rows));
  for (std::int64_t u = 0; u < w.rows; ++u) {
    for (auto e = w.row_ptr[static_cast<std::size_t>(u)]; e < w.row_ptr[static_cast<std::size_t>(u + 1)]; ++e) {
      const auto v = w.col_idx[static_cast<std::size_t>(e)];
      if (v == u) continue;
      adjacency[static_cast<std::size_t>(u)].emplace_back(v, w.values[static_cast<std::size_t>(e)]);
      adjacency[static_cast<std::size_t>(v)].emplace_back(u, w.values[static_cast<std::size_t>(e)]);
    }
  }
  graphs::WeightedGraph g;
  g.row_ptr.push_back(0);
  for (auto& list : adjacency) {
    std::sort(list.begin(), list.end());
    for (std::size_t i = 0; i < list.size();) {
      double sum = 0;
      std::size_t j = i;
      for (; j < list.size() && list[j].first == list[i].first; ++j) sum += list[j].second;
      g.neighbours.push_back(list[i].first);
      g.edge_weights.push_back(std::max<std::int64_t>(1, std::llround(1000.0 * sum)));
      i = j;
    }
    g.row_ptr.push_back(static_cast<std::int64_t>(g.neighbours.size()));
  }
  graphs::PartitionOptions options;
  options.parts = parts;
  options.seed = seed;
  return graphs::partition(g, options);
}

}  // namespace rdasim::workloads
