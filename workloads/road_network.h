// Road-like sensor graphs for DCRNN (no traffic data can be downloaded here; shared/WORKLOADS.md
// §3): sensors on a plane, links to nearby sensors weighted by a Gaussian kernel of distance
// with small weights dropped, and the random-walk diffusion supports built from them.
#pragma once

#include <cstdint>
#include <vector>

#include "graphs/partition.h"

namespace rdasim::workloads {

/// A sparse matrix in compressed sparse rows.
struct Csr {
  std::int64_t rows = 0, cols = 0;
  std::vector<std::int64_t> row_ptr;  ///< rows + 1 entries
  std::vector<std::int64_t> col_idx;
  std::vector<double> values;
  [[nodiscard]] std::int64_t nonzeros() const { return static_cast<std::int64_t>(col_idx.size()); }
};

struct RoadNetwork {
  std::vector<double> x, y;  ///< sensor positions
  Csr weights;               ///< W: directed link weights in (0, 1], self loops included
  [[nodiscard]] std::int64_t sensors() const { return weights.rows; }
};

struct RoadOptions {
  std::int64_t sensors = 207;
  /// Nonzeros of W, self loops included; 0 for METR-LA's density (1,722 for 207 sensors).
  std::int64_t nonzeros = 0;
  std::uint64_t seed = 1;
};

/// Points uniform in a square of unit density; every sensor links to its 12 nearest, weighted
/// exp(-d^2 / sigma^2) (sigma: the RMS length of those links); weights under 0.1
/// are dropped, then links are kept, strongest first and rows of 5 to 10 nonzeros preferred,
/// until W has `nonzeros` entries. The same
/// options give the same network on every platform.
[[nodiscard]] RoadNetwork generate_road_network(const RoadOptions& options);

/// The sensors of W that are `nodes`, in that order (links to others dropped).
[[nodiscard]] Csr subgraph(const Csr& weights, const std::vector<std::int64_t>& nodes);

/// `nodes` followed by their neighbours outside `nodes` (either link direction), sorted.
[[nodiscard]] std::vector<std::int64_t> with_halo(const Csr& weights, const std::vector<std::int64_t>& nodes);

/// METIS k-way partition of the road graph (links made undirected, weighted by strength).
[[nodiscard]] graphs::Partition partition_road_network(const Csr& weights, int parts, int seed);

/// DCRNN's supports: random_walk gives S1 = (D_O^-1 W)^T; dual adds S2 = (D_I^-1 W^T)^T.
[[nodiscard]] std::vector<Csr> diffusion_supports(const Csr& weights, bool dual);

}  // namespace rdasim::workloads
