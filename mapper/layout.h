// What placing and routing a section produces, as both the placer and the Mapping keep it: the
// streams between placed units with their routes, and the placement's figures.
#pragma once

#include <string>
#include <tuple>
#include <vector>

#include "core/json_fields.h"

namespace rdasim::mapper {

/// Data flowing between two placed units while the section runs.
struct Stream {
  int src = -1;  ///< fabric unit ids
  int dst = -1;
  double bytes = 0;
  std::vector<int> links;  ///< fabric link ids, src to dst
  int group = 0;           ///< streams of one multicast group carry the same data, once per link

  static constexpr auto json_fields() {
    using core::field;
    using T = Stream;
    return std::tuple{field("src", &T::src), field("dst", &T::dst), field("bytes", &T::bytes),
                      field("links", &T::links), field("group", &T::group)};
  }
};

/// How good a section's placement and routing came out.
struct PlacementFigures {
  std::string start;          ///< the start annealing refined: "greedy" or "bisection"
  double start_cost = 0;      ///< its bytes x hops
  double placement_cost = 0;  ///< sum of bytes x hops after annealing
  int route_rounds = 0;       ///< negotiation rounds used
  int overused_links = 0;     ///< links still over their bandwidth when routing stopped
};

}  // namespace rdasim::mapper
