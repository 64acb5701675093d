// arch::Fabric: the physical instance of a Spec: units with coordinates, the switch mesh and
// its links, AGCUs on tile edges, and regions (sets of tiles) for tenants.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "arch/spec.h"

namespace rdasim::arch {

enum class UnitKind : std::uint8_t { pcu, pmu, switch_box, agcu, memory };
[[nodiscard]] const char* to_string(UnitKind kind);

/// One physical unit. PCUs and PMUs sit at grid cells (x in [0, cols), y in [0, rows)); switches
/// at the corners between cells (x in [0, cols], y in [0, rows]); AGCUs just outside the left
/// (x = -1) or right (x = cols) edge of a row. Coordinates are local to the tile. A memory unit
/// stands for one off-chip tier (x = its index in Spec::memory_tiers()); it belongs to no tile
/// (tile = -1) and every AGCU of the chip has a link to it and back.
struct Unit {
  int id = 0;
  UnitKind kind = UnitKind::pcu;
  int tile = 0;
  int x = 0;
  int y = 0;
};

/// A directed link; every connection has one link in each direction. Links between an AGCU and
/// a memory tier have the tier's latency; the tier's bandwidth is shared by all of them.
struct Link {
  int id = 0;
  int src = 0;  ///< unit id
  int dst = 0;  ///< unit id
  double bytes_per_cycle = 0;
  int latency_cycles = 0;
};

/// What one tenant is given: whole tiles, or a band of rows of one tile (a rectangle the width
/// of the tile, for tenants smaller than a tile). Units, switches and links inside it are the
/// tenant's alone; the memory tiers and their links are shared by every tenant, as on the chip.
/// A band owns its cells' rows, the AGCUs on those rows and the switch rows above its cells
/// (the last band of a tile also the tile's bottom switch row), so bands never share a switch.
struct Region {
  std::string name;
  std::vector<int> tiles;  ///< sorted tile indices
  int first_row = 0;       ///< a band: rows [first_row, end_row) of its single tile
  int end_row = 0;         ///< 0: whole tiles
  [[nodiscard]] bool is_band() const { return end_row > 0; }
};

/// The fabric of a Spec. Built once; read-only afterwards. Ids index units() and links().
class Fabric {
 public:
  explicit Fabric(Spec spec);

  [[nodiscard]] const Spec& spec() const { return m_spec; }
  [[nodiscard]] std::span<const Unit> units() const { return m_units; }
  [[nodiscard]] std::span<const Link> links() const { return m_links; }
  [[nodiscard]] const Unit& unit(int id) const;
  [[nodiscard]] int count(UnitKind kind) const;
  /// Ids of the links leaving a unit.
  [[nodiscard]] std::span<const int> out_links(int unit_id) const;

  /// The unit standing for memory tier `tier` (an index into Spec::memory_tiers()).
  [[nodiscard]] int memory_unit(int tier) const;

  /// The PCU or PMU at a grid cell, or -1 where the layout leaves the cell empty.
  [[nodiscard]] int cell_unit(int tile, int x, int y) const;
  /// The switch at a corner of the grid, 0 <= x <= cols, 0 <= y <= rows.
  [[nodiscard]] int switch_at(int tile, int x, int y) const;

  /// Tiles are laid out in a grid of tile_grid_rows() x tile_grid_cols(), row-major.
  [[nodiscard]] int tile_grid_rows() const { return m_tile_grid_rows; }
  [[nodiscard]] int tile_grid_cols() const { return m_tile_grid_cols; }
  /// Chip-wide coordinates of a unit on a tile, in cells: each tile spans tile_span_x() columns
  /// (a margin column for the left AGCUs, cols + 1 switch columns, a margin column for the right
  /// AGCUs) and tile_span_y() rows (rows + 1 switch rows and a gap). Not for memory units.
  [[nodiscard]] int global_x(const Unit& u) const;
  [[nodiscard]] int global_y(const Unit& u) const;
  [[nodiscard]] int tile_span_x() const { return m_spec.tile().cols + 3; }
  [[nodiscard]] int tile_span_y() const { return m_spec.tile().rows + 2; }

  /// A region of the given tiles; throws core::InputError on an unknown or repeated tile.
  [[nodiscard]] Region region(std::string name, std::vector<int> tiles) const;
  /// A band of rows [first_row, end_row) of one tile; throws core::InputError when it is empty
  /// or leaves the tile.
  [[nodiscard]] Region band(std::string name, int tile, int first_row, int end_row) const;
  /// Consecutive, disjoint regions of the given sizes, in tile order. Throws core::InputError
  /// when the sizes need more tiles than the fabric has.
  [[nodiscard]] std::vector<Region> split(std::span<const int> tiles_per_region) const;
  [[nodiscard]] bool contains(const Region& region, const Unit& unit) const;
  /// PCUs or PMUs (or any kind) inside a region.
  [[nodiscard]] int count(const Region& region, UnitKind kind) const;
  /// A link belongs to a region when both its ends do.
  [[nodiscard]] bool contains(const Region& region, const Link& link) const;

 private:
  int add_unit(UnitKind kind, int tile, int x, int y);
  /// Links a and b both ways; latency -1 means the network's hop latency.
  void connect(int a, int b, int latency_cycles = -1);
  void build_tile(int tile);
  void connect_tiles();
  void attach_memory();
  void index_links();

  Spec m_spec;
  int m_tile_grid_rows = 1;
  int m_tile_grid_cols = 1;
  std::vector<Unit> m_units;
  std::vector<Link> m_links;
  std::vector<int> m_out_offsets;  ///< per unit, into m_out_ids (one extra at the end)
  std::vector<int> m_out_ids;      ///< link ids grouped by source unit
  std::vector<int> m_cells;        ///< per tile, row-major: unit id or -1
  std::vector<int> m_switches;     ///< per tile, (rows+1) x (cols+1), row-major
  std::vector<int> m_counts;       ///< per UnitKind
  int m_first_memory_unit = 0;     ///< memory units are the last, one per tier
};

}  // namespace rdasim::arch
