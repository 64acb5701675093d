#include "graphs/partition.h"

#include <metis.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>
#include <boost/container_hash/hash.hpp>

#include "core/error.h"

namespace rdasim::graphs {

namespace {

[[noreturn]] void bad(const std::string& message) { throw core::InputError(core::Location("partition"), message); }

std::vector<idx_t> to_idx(const std::vector<std::int64_t>& v) {
  std::vector<idx_t> out;
  out.reserve(v.size());
  for (auto x : v) {
    if (x < std::numeric_limits<idx_t>::min() || x > std::numeric_limits<idx_t>::max()) {
      bad(fmt::format("value {} does not fit METIS's {}-bit integers", x, IDXTYPEWIDTH));
    }
    out.push_back(static_cast<idx_t>(x));
  }
  return out;
}

void check(const WeightedGraph& g, const PartitionOptions& o) {
  const std::int64_t n = g.vertices();
  if (n < 1) bad("the graph has no vertices");
  if (o.parts < 1 || o.parts > n) bad(fmt::format("cannot cut {} vertices into {} parts", n, o.parts));
  if (g.row_ptr.front() != 0 || g.row_ptr.back() != static_cast<std::int64_t>(g.neighbours.size())) {
    bad("row_ptr must run from 0 to the number of listed neighbours");
  }
  if (!g.vertex_weights.empty() && static_cast<std::int64_t>(g.vertex_weights.size()) != n * g.constraints) {
    bad(fmt::format("{} vertex weights for {} vertices and {} constraints", g.vertex_weights.size(), n, g.constraints));
  }
  if (!o.target_fractions.empty()) {
    double sum = 0;
    for (double f : o.target_fractions) sum += f;
    if (static_cast<int>(o.target_fractions.size()) != o.parts || std::abs(sum - 1.0) > 1e-6) {
      bad(fmt::format("{} target fractions summing to {} for {} parts; expected one per part, summing to 1",
                      o.target_fractions.size(), sum, o.parts));
    }
  }
  if (!g.edge_weights.empty() && g.edge_weights.size() != g.neighbours.size()) {
    bad(fmt::format("{} edge weights for {} listed edges", g.edge_weights.size(), g.neighbours.size()));
  }
  // Symmetry: every listed edge u -> v must be listed as v -> u, with the same weight.
  for (std::int64_t u = 0; u < n; ++u) {
    for (auto e = g.row_ptr[static_cast<std::size_t>(u)]; e < g.row_ptr[static_cast<std::size_t>(u + 1)]; ++e) {
      const std::int64_t v = g.neighbours[static_cast<std::size_t>(e)];
      if (v < 0 || v >= n) bad(fmt::format("vertex {} lists neighbour {}, outside 0..{}", u, v, n - 1));
      if (v == u) bad(fmt::format("vertex {} lists itself; METIS takes no self loops", u));
      const auto begin = g.neighbours.begin() + g.row_ptr[static_cast<std::size_t>(v)];
      const auto end = g.neighbours.begin() + g.row_ptr[static_cast<std::size_t>(v + 1)];
      if (std::find(begin, end, u) == end) bad(fmt::format("edge {} -> {} has no reverse {} -> {}", u, v, v, u));
    }
  }
}

}  // namespace

WeightedGraph WeightedGraph::from_edges(std::int64_t vertices, std::vector<std::int64_t> vertex_weights,
                                        int constraints, const std::vector<WeightedEdge>& edges) {
  // Both directions of every edge, duplicates merged by adding their weights.
  std::vector<std::map<std::int64_t, std::int64_t>> adjacent(static_cast<std::size_t>(vertices));
  for (const auto& e : edges) {
    if (e.u == e.v) continue;
    adjacent[static_cast<std::size_t>(e.u)][e.v] += e.weight;
    adjacent[static_cast<std::size_t>(e.v)][e.u] += e.weight;
  }
  WeightedGraph g;
  g.constraints = constraints;
  g.vertex_weights = std::move(vertex_weights);
  g.row_ptr.push_back(0);
  for (const auto& row : adjacent) {
    for (const auto& [v, w] : row) {
      g.neighbours.push_back(v);
      g.edge_weights.push_back(w);
    }
    g.row_ptr.push_back(static_cast<std::int64_t>(g.neighbours.size()));
  }
  return g;
}

Partition partition(const WeightedGraph& g, const PartitionOptions& o) {
  check(g, o);
  const std::int64_t n = g.vertices();
  Partition result;
  result.part.assign(static_cast<std::size_t>(n), 0);
  if (o.parts > 1) {
    idx_t nvtxs = static_cast<idx_t>(n), ncon = g.constraints, nparts = o.parts, objval = 0;
    auto xadj = to_idx(g.row_ptr), adjncy = to_idx(g.neighbours);
    auto vwgt = to_idx(g.vertex_weights), adjwgt = to_idx(g.edge_weights);
    std::vector<real_t> ubvec(static_cast<std::size_t>(ncon), static_cast<real_t>(o.imbalance));
    idx_t options[METIS_NOPTIONS];
    METIS_SetDefaultOptions(options);
    options[METIS_OPTION_SEED] = o.seed;
    options[METIS_OPTION_NUMBERING] = 0;
    std::vector<real_t> tpwgts;
    for (double f : o.target_fractions) {
      for (idx_t c = 0; c < ncon; ++c) tpwgts.push_back(static_cast<real_t>(f));
    }
    std::vector<idx_t> part(static_cast<std::size_t>(n));
    const int status =
        METIS_PartGraphKway(&nvtxs, &ncon, xadj.data(), adjncy.data(), vwgt.empty() ? nullptr : vwgt.data(), nullptr,
                            adjwgt.empty() ? nullptr : adjwgt.data(), &nparts, tpwgts.empty() ? nullptr : tpwgts.data(),
                            ubvec.data(), options, &objval, part.data());
    if (status != METIS_OK) {
      throw core::InternalError(
          fmt::format("METIS_PartGraphKway failed with status {} on {} vertices into {} parts", status, n, o.parts));
    }
    for (std::size_t i = 0; i < part.size(); ++i) result.part[i] = static_cast<int>(part[i]);
  }
  // Edge cut and balance, measured rather than trusted.
  for (std::int64_t u = 0; u < n; ++u) {
    for (auto e = g.row_ptr[static_cast<std::size_t>(u)]; e < g.row_ptr[static_cast<std::size_t>(u + 1)]; ++e) {
      const auto v = g.neighbours[static_cast<std::size_t>(e)];
      if (result.part[static_cast<std::size_t>(u)] != result.part[static_cast<std::size_t>(v)]) {
        result.edge_cut += g.edge_weights.empty() ? 1 : g.edge_weights[static_cast<std::size_t>(e)];
      }
    }
  }
  result.edge_cut /= 2;  // each edge is listed from both ends
  result.sizes.assign(static_cast<std::size_t>(o.parts), 0);
  for (int p : result.part) ++result.sizes[static_cast<std::size_t>(p)];
  for (int c = 0; c < g.constraints; ++c) {
    std::vector<double> weight(static_cast<std::size_t>(o.parts), 0.0);
    double total = 0;
    for (std::int64_t v = 0; v < n; ++v) {
      const double w = g.vertex_weights.empty()
                           ? 1.0
                           : static_cast<double>(g.vertex_weights[static_cast<std::size_t>(v * g.constraints + c)]);
      weight[static_cast<std::size_t>(result.part[static_cast<std::size_t>(v)])] += w;
      total += w;
    }
    result.imbalance.push_back(*std::max_element(weight.begin(), weight.end()) / (total / o.parts));
  }
  return result;
}

Partition PartitionMemo::partition(const WeightedGraph& graph, const PartitionOptions& options) {
  ++m_calls;
  // Everything METIS reads, lengths first so that no two inputs run together.
  std::vector<std::int64_t> key{graph.constraints,
                                options.parts,
                                options.seed,
                                std::bit_cast<std::int64_t>(options.imbalance),
                                static_cast<std::int64_t>(graph.row_ptr.size()),
                                static_cast<std::int64_t>(graph.neighbours.size()),
                                static_cast<std::int64_t>(graph.vertex_weights.size()),
                                static_cast<std::int64_t>(graph.edge_weights.size()),
                                static_cast<std::int64_t>(options.target_fractions.size())};
  key.reserve(key.size() + graph.row_ptr.size() + graph.neighbours.size() + graph.vertex_weights.size() +
              graph.edge_weights.size() + options.target_fractions.size());
  for (const auto* part : {&graph.row_ptr, &graph.neighbours, &graph.vertex_weights, &graph.edge_weights}) {
    key.insert(key.end(), part->begin(), part->end());
  }
  for (double f : options.target_fractions) key.push_back(std::bit_cast<std::int64_t>(f));
  if (const auto found = m_cuts.find(key); found != m_cuts.end()) return found->second;
  auto cut = graphs::partition(graph, options);
  m_cuts.emplace(std::move(key), cut);
  return cut;
}

std::size_t PartitionMemo::KeyHash::operator()(const std::vector<std::int64_t>& key) const {
  return boost::hash_range(key.begin(), key.end());
}

Partition partition(const WeightedGraph& graph, const PartitionOptions& options, PartitionMemo* memo) {
  return memo != nullptr ? memo->partition(graph, options) : partition(graph, options);
}

}  // namespace rdasim::graphs
