// Routing of a placed section's streams on the switch mesh of its region. Negotiated congestion
// (PathFinder): every stream takes an A* shortest path whose links grow costlier while they
// carry more than their bandwidth allows in the section's time, repeated with a growing history
// cost until no link is over capacity or negotiation stops helping. A multicast group (one
// source read by several units) loads the union of its paths once.
#pragma once

#include <vector>

#include "mapper/region_index.h"

namespace rdasim::mapper {

/// A stream between two placed units; streams of one `group` carry the same data.
struct RouteDemand {
  int src = -1;  ///< fabric unit ids
  int dst = -1;
  double bytes = 0;  ///< the group's bytes travel once over the union of its members' paths
  int group = 0;
};

struct Routing {
  std::vector<std::vector<int>> paths;  ///< per demand: link ids, src to dst (empty when src == dst)
  double max_link_bytes = 0;            ///< the most bytes any link carries
  int rounds = 0;                       ///< negotiation rounds used
  int overused_links = 0;               ///< links still over capacity when routing stopped
};

/// Routes every demand inside the region; `cycles` is the section's time without the network,
/// against which a link's bytes per cycle is its capacity.
[[nodiscard]] Routing route(const RegionIndex& region, const std::vector<RouteDemand>& demands, double cycles);

}  // namespace rdasim::mapper
