// Placement of one section on a tenant's region: every PCU slice and PMU buffer of the
// section's ops gets a physical unit, then every stream between them a path (mapper/route).
// Two starts are built, a greedy one (ops in pipeline order take the free units nearest what
// they read) and METIS recursive bisection onto the grid (mapper/partition); the cheaper in
// bytes x hops is refined by simulated annealing on bytes x hops plus the overflow of the
// switches around busy units, deterministic for a seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graphs/graph.h"
#include "mapper/layout.h"
#include "mapper/lower.h"
#include "mapper/region_index.h"
#include "mapper/sections.h"

namespace rdasim::mapper {

/// A placed and routed section.
struct SectionLayout : PlacementFigures {
  /// Per SectionOp (same order): its PCUs (parallel of them) then its PMUs (buffer_pmus).
  std::vector<std::vector<int>> units;
  std::vector<Stream> streams;
  double max_link_bytes = 0;  ///< the most bytes any link carries
};

/// Estimated channel loads for annealing: every stream is assumed to take its dimension-order
/// route on the chip's cell grid (along its source's row, then down its sink's column), loading
/// the horizontal (x to x + 1) and vertical (y to y + 1) segments it crosses. Bytes over a
/// segment's capacity cost `overflow_cost` each, in the units of bytes x hops.
class ChannelLoad {
 public:
  ChannelLoad(const RegionIndex& layout, double capacity, double overflow_cost);
  /// Adds `bytes` (negative: takes them off) along the route from unit `a` to unit `b`;
  /// returns the change of the overflow cost.
  double add(int a, int b, double bytes);
  /// The overflow cost of all segments.
  [[nodiscard]] double overflow_cost() const;

 private:
  double add_to(std::vector<double>& load, int at, double bytes);

  const RegionIndex& m_layout;
  double m_capacity;
  double m_overflow_cost;
  int m_width = 0, m_height = 0;
  std::vector<double> m_horizontal, m_vertical;
};

/// Places and routes `section` on the region, whose links alone it may use. `cycles` is the
/// section's time without the network, against which link bandwidth is a capacity.
[[nodiscard]] SectionLayout place_and_route(const graphs::Graph& graph, const std::vector<OpDemand>& demands,
                                            const Section& section, const RegionIndex& region, double cycles,
                                            std::uint64_t seed);

}  // namespace rdasim::mapper
