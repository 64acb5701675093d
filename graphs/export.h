// Views of a graph for people and programs: per-op cost table, totals, JSON and Graphviz DOT.
#pragma once

#include <string>

#include "core/json.h"
#include "graphs/graph.h"
#include "graphs/op_registry.h"

namespace rdasim::graphs {

/// Sums over a graph.
struct GraphTotals {
  std::int64_t ops = 0;
  std::int64_t params = 0;  ///< elements of param tensors
  double param_bytes = 0;   ///< params and constants
  double state_bytes = 0;   ///< optimizer state (training steps)
  double flops = 0;
  double bytes_read = 0;
  double bytes_written = 0;
  double input_bytes = 0;
  double output_bytes = 0;
};

[[nodiscard]] GraphTotals totals(const Graph& graph);

/// The graph with shapes, attributes and each op's cost; loadable by programs, stable order.
[[nodiscard]] core::Json to_json(const Graph& graph);

/// A Graphviz digraph: ops as boxes (kind, output shape, FLOPs), graph inputs and outputs as
/// ellipses, params folded into their op's label.
[[nodiscard]] std::string to_dot(const Graph& graph);

}  // namespace rdasim::graphs
