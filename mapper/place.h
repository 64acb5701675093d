// Placement of one section on a tenant's region, in stages that each have their own tests: the
// section's ops become virtual units (every PCU slice and PMU buffer) and streams; two starts
// are built, a greedy one and METIS recursive bisection onto the grid (mapper/partition); the
// cheaper in bytes x hops is refined by simulated annealing on bytes x hops plus the overflow of
// the channels around busy units, deterministic for a seed; then every stream gets a path
// (mapper/route).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "graphs/graph.h"
#include "graphs/partition.h"
#include "mapper/layout.h"
#include "mapper/lower.h"
#include "mapper/region_index.h"
#include "mapper/route.h"
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
  const RegionIndex& m_layout;
  double m_capacity;
  double m_overflow_cost;
  int m_width = 0, m_height = 0;
  std::vector<double> m_horizontal, m_vertical;
};

/// A stream between two virtual units (indices into VirtualSection's units); streams of one
/// `group` carry the same data from one source (multicast).
struct VirtualStream {
  int src = 0, dst = 0;
  double bytes = 0;
  int group = 0;
  TokenNeed need;  ///< what its reader waits for
};

/// A section as units still to be placed: per op its PCU slices then its PMU buffers (the first
/// output_pmus of them hold its output), and the streams between them.
struct VirtualSection {
  std::vector<bool> is_pcu;                ///< per virtual unit: a PCU (else a PMU)
  std::vector<std::vector<int>> op_units;  ///< per SectionOp (same order): its virtual units
  std::vector<VirtualStream> streams;
  std::vector<std::vector<int>> incident;  ///< per virtual unit: the streams it sends or receives
  [[nodiscard]] std::size_t size() const { return is_pcu.size(); }
};

/// Stage 1 of placement: the section's ops as virtual units and streams, its inputs from other
/// ops as Section::edges says (with what their readers wait for). Inputs from DRAM and stored
/// tensors (weights, optimizer state) make no stream here; weights go from their PMUs to the
/// PCUs that use them, partial sums of a split reduction to the first copy.
[[nodiscard]] VirtualSection virtual_section(const std::vector<OpDemand>& demands, const Section& section);

/// Per virtual unit, the fabric unit it sits on.
using Placement = std::vector<int>;

/// Bytes x hops of every stream under `where`.
[[nodiscard]] double placement_cost(const VirtualSection& section, const RegionIndex& region, const Placement& where);

/// A placement to refine, and how it was made.
struct StartPlacement {
  Placement where;
  std::string method;  ///< "greedy" or "bisection"
  double cost = 0;     ///< its bytes x hops
};

/// Stage 2: two starts, a greedy one (ops in pipeline order take the free units nearest what
/// they read) and METIS recursive bisection onto the grid (sections of three units or more);
/// the cheaper in bytes x hops. `memo`, when given, remembers METIS's cuts for equal calls.
[[nodiscard]] StartPlacement start_placement(const VirtualSection& section, const RegionIndex& region,
                                             std::uint64_t seed, graphs::PartitionMemo* memo = nullptr);

/// What annealing made of a start.
struct Annealing {
  Placement where;
  double start_objective = 0;  ///< the start's bytes x hops + pull + congestion
  double objective = 0;        ///< the result's, never above start_objective
};

/// Stage 3: simulated annealing on bytes x hops, a weak pull towards the region's first unit,
/// and the overflow of the channels around busy units against their capacity in `cycles`
/// (ChannelLoad). Moves a unit to a free place or swaps two of a kind; deterministic for a seed;
/// returns the start itself if the walk ends worse.
[[nodiscard]] Annealing anneal(const VirtualSection& section, const RegionIndex& region, const Placement& start,
                               double cycles, std::uint64_t seed);

/// The demands routing takes for a placed section: its streams between fabric units.
[[nodiscard]] std::vector<RouteDemand> route_demands(const VirtualSection& section, const Placement& where);

/// Places and routes `section` on the region, whose links alone it may use: virtual_section,
/// start_placement, anneal, then route (mapper/route). `cycles` is the section's time without
/// the network, against which link bandwidth is a capacity. In verifying builds each stage's
/// output is checked (mapper/verify.h). `memo`: as for start_placement.
[[nodiscard]] SectionLayout place_and_route(const std::vector<OpDemand>& demands, const Section& section,
                                            const RegionIndex& region, double cycles, std::uint64_t seed,
                                            graphs::PartitionMemo* memo = nullptr);

/// Every section of a plan placed and routed on the region, with section k's time budget
/// max(compute, memory) and seed `seed + k`. A section alike to an earlier one (the same
/// virtual units and streams, bytes and token needs included, and the same budget) takes that
/// one's layout: a model's repeated layers compile once, as a vendor's compiler reuses a
/// section's configuration. The distinct ones are placed in `jobs` forked workers side by side
/// (placement is deterministic for its seed, so the layouts do not depend on `jobs`); `memo`
/// serves the placements made in this process (a worker's cuts stay in the worker).
struct PlacedSections {
  std::vector<SectionLayout> layouts;  ///< per section
  std::size_t reused = 0;              ///< sections that took an earlier one's layout
};
[[nodiscard]] PlacedSections place_sections(const std::vector<OpDemand>& demands, const std::vector<Section>& sections,
                                            const RegionIndex& region, std::uint64_t seed, int jobs,
                                            graphs::PartitionMemo* memo = nullptr);

}  // namespace rdasim::mapper
