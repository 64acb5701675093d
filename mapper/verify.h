// Checks between the mapper's stages, as MLIR verifies after each pass: what sectioning, the
// placer and the router hand on must hold before the next stage builds on it. Each check returns
// its problems (empty when the result holds); verify_stage runs one in verifying builds (debug
// and test builds: CMake's RDASIM_VERIFY_STAGES) and throws core::InternalError on a problem,
// since a stage's invalid result is rdasim's bug, not the user's. check() (mapper/mapping.h)
// checks the whole Mapping at the end.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "graphs/graph.h"
#include "mapper/lower.h"
#include "mapper/place.h"
#include "mapper/route.h"
#include "mapper/sections.h"

namespace rdasim::mapper {

/// Whether this build checks between stages (CMake's RDASIM_VERIFY_STAGES when the mapper was
/// compiled).
[[nodiscard]] bool verifying_stages();

/// Sectioning: every op in exactly one section; no op before what it reads (sections run in
/// order); each section's PCUs and PMUs the sum of its ops' and within `budget`.
[[nodiscard]] std::vector<std::string> check_sections(const graphs::Graph& graph, const std::vector<OpDemand>& demands,
                                                      const std::vector<Section>& sections, const Budget& budget);

/// Placement: every virtual unit on a unit of its kind in the region, no unit holding two.
[[nodiscard]] std::vector<std::string> check_placement(const VirtualSection& section, const RegionIndex& region,
                                                       const Placement& where);

/// Routing: a path per demand, each a chain of the region's links from its source to its sink.
[[nodiscard]] std::vector<std::string> check_routing(const RegionIndex& region, const std::vector<RouteDemand>& demands,
                                                     const Routing& routing);

/// Throws core::InternalError naming the stage and its problems.
[[noreturn]] void fail_stage(std::string_view stage, const std::vector<std::string>& problems);

/// In verifying builds, runs `check` (it returns the problems of a stage's result) and fails the
/// stage on any; elsewhere returns without running it.
void verify_stage(std::string_view stage, const std::function<std::vector<std::string>()>& check);

}  // namespace rdasim::mapper
