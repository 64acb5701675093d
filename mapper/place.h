// Placement and routing of one section on a tenant's region: every PCU slice and PMU buffer of
// the section's ops gets a physical unit; every stream between them a path of links.
// Placement starts greedy (ops in pipeline order take the free units nearest their
// producers) and is refined by simulated annealing on bytes x hops, deterministic for a seed;
// routing is negotiated congestion (PathFinder): shortest paths whose links grow costlier
// while they carry more than their bandwidth, until none does or the rounds run out.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "arch/fabric.h"
#include "graphs/graph.h"
#include "mapper/lower.h"
#include "mapper/sections.h"

namespace rdasim::mapper {

/// Data flowing between two placed units while the section runs.
struct Stream {
  int src = -1;  ///< fabric unit ids
  int dst = -1;
  double bytes = 0;
  std::vector<int> links;  ///< fabric link ids, src to dst
};

struct SectionLayout {
  /// Per SectionOp (same order): its PCUs (parallel of them) then its PMUs (buffer_pmus).
  std::vector<std::vector<int>> units;
  std::vector<Stream> streams;
  double placement_cost = 0;  ///< sum of bytes x hops after annealing
  double max_link_bytes = 0;  ///< the most bytes any link carries
  int route_rounds = 0;       ///< negotiation rounds used
  int overused_links = 0;     ///< links still over their bandwidth when routing stopped
};

/// What placement and routing need to know of a region, computed once per tenant: its PCUs and
/// PMUs, every unit's chip coordinates, the links it may use and the units that forward.
class RegionIndex {
 public:
  RegionIndex(const arch::Fabric& fabric, const arch::Region& region);

  [[nodiscard]] const arch::Fabric& fabric() const { return m_fabric; }
  [[nodiscard]] int distance(int a, int b) const {
    return std::abs(x(a) - x(b)) + std::abs(y(a) - y(b));
  }
  [[nodiscard]] int x(int unit) const { return m_x[static_cast<std::size_t>(unit)]; }
  [[nodiscard]] int y(int unit) const { return m_y[static_cast<std::size_t>(unit)]; }
  [[nodiscard]] const std::vector<int>& pool(bool pcu) const { return pcu ? m_pcus : m_pmus; }
  [[nodiscard]] bool usable(int link) const { return m_usable[static_cast<std::size_t>(link)]; }
  [[nodiscard]] bool forwards(int unit) const { return m_forwards[static_cast<std::size_t>(unit)]; }

 private:
  const arch::Fabric& m_fabric;
  std::vector<int> m_pcus, m_pmus;
  std::vector<int> m_x, m_y;
  std::vector<bool> m_usable, m_forwards;
};

/// Places and routes `section` on the region, whose links alone it may use. `cycles` is the
/// section's time without the network, against which link bandwidth is a capacity.
[[nodiscard]] SectionLayout place_and_route(const graphs::Graph& graph, const std::vector<OpDemand>& demands,
                                            const Section& section, const RegionIndex& region, double cycles,
                                            std::uint64_t seed);

}  // namespace rdasim::mapper
