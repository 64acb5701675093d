// A text picture of one tile: cells, the switches at their corners and the AGCUs on the edges.
#pragma once

#include <string>

#include "arch/fabric.h"

namespace rdasim::arch {

/// Draws tile `tile` of the fabric, with a one-line legend. Rows end in '\n'.
[[nodiscard]] std::string tile_picture(const Fabric& fabric, int tile = 0);

}  // namespace rdasim::arch
