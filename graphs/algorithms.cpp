// Dependency graph, topological order and cycle reports.
#include "graphs/algorithms.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <set>

#include <fmt/format.h>
#include <boost/graph/depth_first_search.hpp>

#include "core/error.h"

namespace rdasim::graphs {

DependencyGraph dependency_graph(const Graph& graph) {
  DependencyGraph g(graph.ops().size());
  std::set<std::pair<OpId, OpId>> seen;
  for (std::size_t b = 0; b < graph.ops().size(); ++b) {
    for (TensorId t : graph.ops()[b].inputs) {
      if (t == k_no_tensor) continue;
      const OpId a = graph.tensor(t).producer;
      if (a >= 0 && seen.insert({a, static_cast<OpId>(b)}).second) {
        boost::add_edge(static_cast<std::size_t>(a), b, g);
      }
    }
  }
  return g;
}

namespace {

using Vertex = DependencyGraph::vertex_descriptor;

/// Records the DFS tree parents and the first back edge.
struct CycleFinder : boost::default_dfs_visitor {
  std::vector<Vertex>* parent;
  std::pair<Vertex, Vertex>* back;
  bool* found;

  void tree_edge(DependencyGraph::edge_descriptor e, const DependencyGraph& g) const {
    (*parent)[boost::target(e, g)] = boost::source(e, g);
  }
  void back_edge(DependencyGraph::edge_descriptor e, const DependencyGraph& g) const {
    if (!*found) {
      *back = {boost::source(e, g), boost::target(e, g)};
      *found = true;
    }
  }
};

[[noreturn]] void report_cycle(const Graph& graph, const DependencyGraph& g) {
  const std::size_t n = boost::num_vertices(g);
  std::vector<Vertex> parent(n);
  for (std::size_t v = 0; v < n; ++v) parent[v] = v;
  std::pair<Vertex, Vertex> back{0, 0};
  bool found = false;
  CycleFinder visitor;
  visitor.parent = &parent;
  visitor.back = &back;
  visitor.found = &found;
  boost::depth_first_search(g, boost::visitor(visitor));
  RDASIM_ASSERT(found, "a graph without a topological order has a cycle");
  // back = (u, v) with v an ancestor of u: the cycle is v -> ... -> u -> v.
  std::vector<std::string> names;
  for (Vertex x = back.first;; x = parent[x]) {
    names.push_back(graph.op(static_cast<OpId>(x)).name);
    if (x == back.second || parent[x] == x) break;
  }
  std::reverse(names.begin(), names.end());
  names.push_back(names.front());
  std::string path;
  for (std::size_t i = 0; i < names.size(); ++i) path += (i ? " -> " : "") + names[i];
  throw core::InputError(core::Location(graph.name(), 0, 0, names.front()),
                         fmt::format("the ops form a cycle: {}", path));
}

}  // namespace

std::vector<OpId> topological_order(const Graph& graph) {
  // Kahn's algorithm, always taking the lowest ready id, so the order is deterministic and
  // independent ops keep the order they were added in.
  const DependencyGraph g = dependency_graph(graph);
  const std::size_t n = boost::num_vertices(g);
  std::vector<std::size_t> waiting(n);
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t v = 0; v < n; ++v) {
    waiting[v] = boost::in_degree(v, g);
    if (waiting[v] == 0) ready.push(v);
  }
  std::vector<OpId> order;
  order.reserve(n);
  while (!ready.empty()) {
    const std::size_t v = ready.top();
    ready.pop();
    order.push_back(static_cast<OpId>(v));
    for (auto [e, end] = boost::out_edges(v, g); e != end; ++e) {
      const std::size_t w = boost::target(*e, g);
      if (--waiting[w] == 0) ready.push(w);
    }
  }
  if (order.size() != n) report_cycle(graph, g);
  return order;
}

}  // namespace rdasim::graphs
