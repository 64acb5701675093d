#include "mapper/tenants.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/text.h"
#include "mapper/infeasible.h"

namespace rdasim::mapper {

std::vector<arch::Region> allocate_regions(const arch::Fabric& fabric, const std::vector<std::string>& names,
                                           const std::vector<RegionRequest>& given) {
  const int tiles = fabric.spec().tiles();
  const int rows = fabric.spec().tile().rows;
  const std::size_t n = names.size();
  if (!given.empty() && given.size() != n) {
    throw core::InternalError(fmt::format("{} region requests for {} applications", given.size(), n));
  }
  std::vector<RegionRequest> requests = given.empty() ? std::vector<RegionRequest>(n) : given;
  const auto where = [&](std::size_t a) { return core::Location(fmt::format("application '{}'", names[a])); };
  for (std::size_t a = 0; a < n; ++a) {
    const auto& r = requests[a];
    if (r.tiles < 0 || r.rows < 0 || (r.tiles > 0 && r.rows > 0)) {
      throw core::InputError(where(a), "expected either a number of tiles or a number of rows, not both");
    }
    if (r.rows > rows) {
      throw Infeasible("the applications do not fit the fabric",
                       {fmt::format("application '{}': asks for {} rows; a tile of '{}' has {} (ask for tiles instead)",
                                    names[a], r.rows, fabric.spec().name(), rows)});
    }
  }
  // Defaults share what the explicit requests leave: whole tiles if there are enough, else bands.
  int explicit_tiles = 0, explicit_rows = 0;
  std::size_t defaults = 0;
  for (const auto& r : requests) {
    explicit_tiles += r.tiles;
    explicit_rows += r.rows;
    defaults += r.tiles == 0 && r.rows == 0 ? 1 : 0;
  }
  if (defaults > 0) {
    const int left = tiles - explicit_tiles - (explicit_rows + rows - 1) / rows;
    if (left <= 0) {
      throw Infeasible("the applications do not fit the fabric",
                       {fmt::format("the applications given a size take all {} tiles of '{}'; {} left without room",
                                    tiles, fabric.spec().name(), core::plural(defaults, "application"))});
    }
    RegionRequest share;
    if (defaults <= static_cast<std::size_t>(left)) share.tiles = left / static_cast<int>(defaults);
    else
      share.rows =
          rows / static_cast<int>((defaults + static_cast<std::size_t>(left) - 1) / static_cast<std::size_t>(left));
    if (share.tiles == 0 && share.rows == 0) {
      throw Infeasible(
          "the applications do not fit the fabric",
          {fmt::format("{} applications on {} of '{}' ({} rows each) leave less than a row each", defaults,
                       core::plural(static_cast<std::size_t>(left), "free tile"), fabric.spec().name(), rows)});
    }
    for (auto& r : requests) {
      if (r.tiles == 0 && r.rows == 0) r = share;
    }
  }
  std::vector<arch::Region> regions(n);
  std::vector<std::string> reasons;
  int next_tile = 0;
  for (std::size_t a = 0; a < n; ++a) {
    if (requests[a].tiles == 0) continue;
    if (next_tile + requests[a].tiles > tiles) {
      reasons.push_back(fmt::format("application '{}': asks for {}{}; '{}' has {}", names[a],
                                    core::plural(static_cast<std::size_t>(requests[a].tiles), "tile"),
                                    next_tile > 0 ? fmt::format(" after {} are taken", next_tile) : "",
                                    fabric.spec().name(), tiles));
      continue;
    }
    std::vector<int> mine;
    for (int k = 0; k < requests[a].tiles; ++k) mine.push_back(next_tile++);
    regions[a] = fabric.region(names[a], std::move(mine));
  }
  int row = 0;  // next free row of next_tile
  for (std::size_t a = 0; a < n; ++a) {
    const int want = requests[a].rows;
    if (want == 0) continue;
    if (row + want > rows) {
      ++next_tile;
      row = 0;
    }
    if (next_tile >= tiles) {
      reasons.push_back(fmt::format("application '{}': asks for {} rows, but every tile of '{}' is taken", names[a],
                                    want, fabric.spec().name()));
      continue;
    }
    regions[a] = fabric.band(names[a], next_tile, row, row + want);
    row += want;
  }
  if (!reasons.empty()) throw Infeasible("the applications do not fit the fabric", std::move(reasons));
  return regions;
}

std::string describe(const arch::Region& region) {
  const auto& t = region.tiles;
  std::string tiles = t.size() == 1 ? fmt::format("tile {}", t[0])
                      : t.back() - t.front() + 1 == static_cast<int>(t.size())
                          ? fmt::format("tiles {}-{}", t.front(), t.back())
                          : fmt::format("tiles {}", fmt::join(t, ","));
  if (!region.is_band()) return tiles;
  if (region.end_row - region.first_row == 1) return fmt::format("{} row {}", tiles, region.first_row);
  return fmt::format("{} rows {}-{}", tiles, region.first_row, region.end_row - 1);
}

}  // namespace rdasim::mapper
