// Graph algorithms on a Boost.Graph view of the op dependencies.
#pragma once

#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "graphs/graph.h"

namespace rdasim::graphs {

/// Vertex i is op i; an edge a -> b when b reads a tensor that a writes (once per pair).
using DependencyGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;

[[nodiscard]] DependencyGraph dependency_graph(const Graph& graph);

/// The ops ordered so that each comes after the producers of its inputs (ties keep insertion
/// order). Throws core::InputError naming the ops of a cycle.
[[nodiscard]] std::vector<OpId> topological_order(const Graph& graph);

}  // namespace rdasim::graphs
