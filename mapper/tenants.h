// Tenants: applications mapped side by side on disjoint parts of one fabric. Each asks for whole
// tiles or for rows of a tile (tenants smaller than a tile share it in bands of rows); the
// allocation hands out regions in tile order and never lets two of them touch the same unit,
// switch or link.
#pragma once

#include <string>
#include <vector>

#include "arch/fabric.h"

namespace rdasim::mapper {

/// The share one application asks for. Both zero: an even share of what the explicit requests
/// leave (whole tiles while there are enough, bands of rows otherwise).
struct RegionRequest {
  int tiles = 0;
  int rows = 0;
};

/// Regions for applications named `names`, one request per name (or none: all default). Whole
/// tiles are handed out first, from tile 0; bands fill the following tiles top to bottom.
/// Throws core::InputError naming the application that does not fit, and why.
[[nodiscard]] std::vector<arch::Region> allocate_regions(const arch::Fabric& fabric,
                                                         const std::vector<std::string>& names,
                                                         const std::vector<RegionRequest>& requests);

/// "tiles 0-3", "tile 2", "tile 1 rows 4-5": a region as a person reads it.
[[nodiscard]] std::string describe(const arch::Region& region);

}  // namespace rdasim::mapper
