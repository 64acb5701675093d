// The numerics of a mapping, not only of its graph (DESIGN.md, "Numerics"): a graph rewritten
// to compute as the fabric computes it. A matrix op whose reduction the mapper split r ways
// (MappedOp::reduction_split) becomes r partial products, each accumulated over its share of
// the reduction, summed in a binary tree in fp32 (partial sums cross the network as 32-bit
// words); an all-reduce sums in its algorithm's order with what crosses a link in the link's
// precision. Run in bf16, the result is what the chip (or the system) would produce.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "graphs/graph.h"
#include "mapper/mapping.h"

namespace rdasim::sim::functional {

struct MappedNumerics {
  /// Op name -> ways its reduction is split (from the mappings).
  std::map<std::string, int, std::less<>> reduction_splits;
  /// AllReduce op name -> "ring" or "direct" (the order the algorithm sums in).
  std::map<std::string, std::string, std::less<>> all_reduce_algorithms;
  bool bf16_links = false;  ///< links carry bf16 (a bf16 fabric's activations)
};

/// The reduction splits of every op of a mapping, by op name.
void add_reduction_splits(const mapper::Mapping& mapping, MappedNumerics& numerics);

struct MappedGraph {
  graphs::Graph graph;
  std::set<std::string, std::less<>> fp32_tensors;  ///< partial sums, held in fp32 in a bf16 run
  int split_ops = 0;                                ///< ops cut into partial products
  /// Ops with a split reduction whose kind has no rewrite here (they run as one chain).
  std::vector<std::string> unsplit_ops;
};

/// The graph as the mapping computes it; outputs keep their names. Verified.
[[nodiscard]] MappedGraph as_mapped(const graphs::Graph& graph, const MappedNumerics& numerics);

}  // namespace rdasim::sim::functional
