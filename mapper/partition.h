// The mapper's two uses of METIS (through graphs/partition): cutting an op graph into sections
// (temporal) and cutting a section's unit graph onto halves of the grid, recursively, to seed
// placement (spatial). Both weigh edges by the bytes they carry, so METIS keeps heavy streams
// inside a section, or close together on the grid.
#pragma once

#include <cstdint>
#include <vector>

#include "graphs/graph.h"
#include "graphs/partition.h"

namespace rdasim::mapper {

/// Section labels for every op from a METIS k-way cut of the op graph (vertex weights: `load`,
/// each op's share of the budget in its scarcer unit kind; edge weights: the bytes between
/// ops), repaired into execution order:
/// parts are ranked by the mean topological position of their ops and an op never gets an
/// earlier label than any op it reads from, so that every tensor flows forward. Labels are
/// ranks, not yet sections: the caller still cuts where a label outgrows the budget. `memo`,
/// when given, remembers the cut for equal calls.
[[nodiscard]] std::vector<int> section_labels(const graphs::Graph& graph, const std::vector<std::int64_t>& load,
                                              int parts, int seed, graphs::PartitionMemo* memo = nullptr);

/// A physical place for a virtual unit: a PCU or PMU with its chip coordinates.
struct Site {
  int unit = -1;
  int x = 0, y = 0;
  bool pcu = true;
};

/// Places virtual units (each a PCU or a PMU, joined by edges weighted by bytes) on `sites` by
/// recursive bisection: the sites are halved across their longer side, METIS halves the units
/// in the same proportion, and each half recurses on its sites. The units first get a compact
/// window of sites (a square grown from the corner, with some slack) so that a small section
/// does not spread over a large region. Returns the unit id for each virtual unit; the sites
/// must hold enough of each kind. `memo`, when given, remembers the halvings for equal calls.
[[nodiscard]] std::vector<int> bisect_placement(const std::vector<bool>& is_pcu,
                                                const std::vector<graphs::WeightedEdge>& edges,
                                                const std::vector<Site>& sites, int seed,
                                                graphs::PartitionMemo* memo = nullptr);

}  // namespace rdasim::mapper
