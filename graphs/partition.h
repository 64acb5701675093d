// Partitioning any weighted graph with METIS (k-way, multi-constraint): road networks into
// GP-DCRNN's subgraphs, op graphs into sections and regions (the mapper). The only place that
// includes metis.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace rdasim::graphs {

/// An undirected edge {u, v} of the given weight.
struct WeightedEdge {
  std::int64_t u = 0, v = 0;
  std::int64_t weight = 1;
};

/// An undirected graph in METIS's form: adjacency in compressed rows (each edge listed from
/// both ends, no self loops), `constraints` weights per vertex (row-major), one weight per
/// listed edge. Empty weight vectors mean 1 everywhere.
struct WeightedGraph {
  std::vector<std::int64_t> row_ptr;  ///< vertices + 1 entries
  std::vector<std::int64_t> neighbours;
  std::vector<std::int64_t> vertex_weights;
  std::vector<std::int64_t> edge_weights;
  int constraints = 1;
  [[nodiscard]] std::int64_t vertices() const { return static_cast<std::int64_t>(row_ptr.size()) - 1; }
  /// From an edge list (vertex ids in [0, vertices)): both directions listed, parallel edges
  /// merged by adding their weights, self loops dropped.
  [[nodiscard]] static WeightedGraph from_edges(std::int64_t vertices, std::vector<std::int64_t> vertex_weights,
                                                int constraints, const std::vector<WeightedEdge>& edges);
};

struct PartitionOptions {
  int parts = 2;
  double imbalance = 1.03;  ///< largest part weight allowed over the average, per constraint
  int seed = 1;
  /// Per part, the fraction of every constraint's total it should get (summing to 1); empty:
  /// equal parts. For bisections onto halves of unequal size.
  std::vector<double> target_fractions;
};

struct Partition {
  std::vector<int> part;            ///< per vertex, 0 .. parts-1
  std::int64_t edge_cut = 0;        ///< total weight of edges between parts
  std::vector<double> imbalance;    ///< per constraint: heaviest part over the average
  std::vector<std::int64_t> sizes;  ///< vertices per part
};

/// k-way partition minimizing the edge cut under the balance bound. Throws core::InputError
/// for a malformed graph (asymmetric adjacency, self loops, weights of the wrong length) or
/// more parts than vertices.
[[nodiscard]] Partition partition(const WeightedGraph& graph, const PartitionOptions& options);

/// partition() that remembers its cuts. METIS is deterministic for its input and options (the
/// seed among them), so a call equal to an earlier one, compared whole, returns the earlier
/// cut without running METIS. A mapping repeats many: the members of an ensemble cut their
/// graphs and halve their sections' units alike (mapping the 32-member ensemble calls METIS
/// 18,336 times with 572 distinct inputs, GP-DCRNN 6,432 times with 1,458).
class PartitionMemo {
 public:
  [[nodiscard]] Partition partition(const WeightedGraph& graph, const PartitionOptions& options);
  [[nodiscard]] std::size_t calls() const { return m_calls; }
  [[nodiscard]] std::size_t computed() const { return m_cuts.size(); }

 private:
  struct KeyHash {
    std::size_t operator()(const std::vector<std::int64_t>& key) const;
  };
  std::unordered_map<std::vector<std::int64_t>, Partition, KeyHash> m_cuts;  ///< by the whole input
  std::size_t m_calls = 0;
};

/// memo->partition(graph, options), or partition(graph, options) when `memo` is null.
[[nodiscard]] Partition partition(const WeightedGraph& graph, const PartitionOptions& options, PartitionMemo* memo);

}  // namespace rdasim::graphs
