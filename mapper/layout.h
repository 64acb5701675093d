// What placing and routing a section produces, as both the placer and the Mapping keep it: the
// streams between placed units with their routes, and the placement's figures.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "core/json_fields.h"
#include "graphs/op_traits.h"

namespace rdasim::mapper {

/// What the reader of a stream needs of it as the tokens flow (mapper/streaming.h).
struct TokenNeed {
  graphs::Dependency dependency = graphs::Dependency::same;
  std::int64_t slices = 1;  ///< of the tensor along its streamed axis (slice, window and prefix)
  std::int64_t halo = 0;    ///< window: slices past the reader's output position
  bool buffered = false;    ///< held whole before use: needed all at once, a prefix, or a skip past a barrier

  bool operator==(const TokenNeed&) const = default;

  static constexpr auto json_fields() {
    using core::optional_field;
    using T = TokenNeed;
    return std::tuple{optional_field("dependency", &T::dependency), optional_field("slices", &T::slices),
                      optional_field("halo", &T::halo), optional_field("buffered", &T::buffered)};
  }
};

/// Data flowing between two placed units while the section runs.
struct Stream {
  int src = -1;  ///< fabric unit ids
  int dst = -1;
  double bytes = 0;
  std::vector<int> links;  ///< fabric link ids, src to dst
  int group = 0;           ///< streams of one multicast group carry the same data, once per link
  TokenNeed need;          ///< what its reader waits for (element-wise unless said)

  static constexpr auto json_fields() {
    using core::field;
    using T = Stream;
    return std::tuple{field("src", &T::src),     field("dst", &T::dst),     field("bytes", &T::bytes),
                      field("links", &T::links), field("group", &T::group), core::optional_field("need", &T::need)};
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
