// Building the fabric: cells from the layout, a switch at every cell corner, a mesh of switch
// links, every PCU/PMU wired to its four corner switches (Plasticine's interleaved networks),
// AGCUs on the tile edges, and links between the facing edges of neighbouring tiles.
#include "arch/fabric.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace rdasim::arch {

const char* to_string(UnitKind kind) {
  switch (kind) {
    case UnitKind::pcu: return "pcu";
    case UnitKind::pmu: return "pmu";
    case UnitKind::switch_box: return "switch";
    case UnitKind::agcu: return "agcu";
    case UnitKind::memory: return "memory";
  }
  return "?";
}

namespace {
/// The most square arrangement of n tiles: rows is the largest divisor of n not above sqrt(n).
int tile_rows_for(int n) {
  int rows = 1;
  for (int r = 1; r * r <= n; ++r) {
    if (n % r == 0) rows = r;
  }
  return rows;
}
}  // namespace

Fabric::Fabric(Spec spec) : m_spec(std::move(spec)), m_counts(5, 0) {
  m_tile_grid_rows = tile_rows_for(m_spec.tiles());
  m_tile_grid_cols = m_spec.tiles() / m_tile_grid_rows;
  const auto& t = m_spec.tile();
  const auto tiles = static_cast<std::size_t>(m_spec.tiles());
  m_cells.assign(tiles * static_cast<std::size_t>(t.rows * t.cols), -1);
  m_switches.assign(tiles * static_cast<std::size_t>((t.rows + 1) * (t.cols + 1)), -1);
  // Upper bounds of the counts (every cell filled), so building never reallocates.
  const auto switches = static_cast<std::size_t>((t.rows + 1) * (t.cols + 1));
  const auto cells = static_cast<std::size_t>(t.rows * t.cols);
  const auto agcus = static_cast<std::size_t>(m_spec.agcu().count);
  const auto mesh = static_cast<std::size_t>(t.rows * (t.cols + 1) + t.cols * (t.rows + 1));
  const auto between = static_cast<std::size_t>(2 * (t.rows + t.cols + 2));
  const std::size_t memory_tiers = m_spec.memory_tiers().size();
  m_units.reserve(tiles * (switches + cells + agcus) + memory_tiers);
  m_links.reserve(2 * tiles * (mesh + 4 * cells + agcus * (1 + memory_tiers) + between));
  for (int tile = 0; tile < m_spec.tiles(); ++tile) build_tile(tile);
  connect_tiles();
  attach_memory();
  index_links();
}

void Fabric::attach_memory() {
  m_first_memory_unit = static_cast<int>(m_units.size());
  const auto& tiers = m_spec.memory_tiers();
  const std::size_t on_chip = m_units.size();
  for (std::size_t tier = 0; tier < tiers.size(); ++tier) {
    const int memory = add_unit(UnitKind::memory, -1, static_cast<int>(tier), 0);
    const int latency = static_cast<int>(std::ceil(tiers[tier].latency_ns * m_spec.clock_ghz()));
    for (std::size_t u = 0; u < on_chip; ++u) {
      if (m_units[u].kind == UnitKind::agcu) connect(static_cast<int>(u), memory, latency);
    }
  }
}

void Fabric::index_links() {
  // Compressed rows: the links leaving unit u are m_out_ids[m_out_offsets[u] .. [u + 1]).
  m_out_offsets.assign(m_units.size() + 1, 0);
  for (const auto& link : m_links) ++m_out_offsets[static_cast<std::size_t>(link.src) + 1];
  for (std::size_t u = 0; u < m_units.size(); ++u) m_out_offsets[u + 1] += m_out_offsets[u];
  m_out_ids.resize(m_links.size());
  std::vector<int> next(m_out_offsets.begin(), m_out_offsets.end() - 1);
  for (const auto& link : m_links)
    m_out_ids[static_cast<std::size_t>(next[static_cast<std::size_t>(link.src)]++)] = link.id;
}

int Fabric::add_unit(UnitKind kind, int tile, int x, int y) {
  const int id = static_cast<int>(m_units.size());
  m_units.push_back(Unit{id, kind, tile, x, y});
  ++m_counts[static_cast<std::size_t>(kind)];
  return id;
}

void Fabric::connect(int a, int b, int latency_cycles) {
  const auto& net = m_spec.network();
  const int latency = latency_cycles < 0 ? net.hop_latency_cycles : latency_cycles;
  for (auto [src, dst] : {std::pair{a, b}, std::pair{b, a}}) {
    const int id = static_cast<int>(m_links.size());
    m_links.push_back(Link{id, src, dst, net.link_bytes_per_cycle, latency});
  }
}

void Fabric::build_tile(int tile) {
  const auto& t = m_spec.tile();
  const std::size_t cell_base = static_cast<std::size_t>(tile * t.rows * t.cols);
  const std::size_t switch_base = static_cast<std::size_t>(tile * (t.rows + 1) * (t.cols + 1));

  for (int y = 0; y <= t.rows; ++y) {
    for (int x = 0; x <= t.cols; ++x) {
      m_switches[switch_base + static_cast<std::size_t>(y * (t.cols + 1) + x)] =
          add_unit(UnitKind::switch_box, tile, x, y);
    }
  }
  for (int y = 0; y <= t.rows; ++y) {
    for (int x = 0; x <= t.cols; ++x) {
      if (x < t.cols) connect(switch_at(tile, x, y), switch_at(tile, x + 1, y));
      if (y < t.rows) connect(switch_at(tile, x, y), switch_at(tile, x, y + 1));
    }
  }
  for (int y = 0; y < t.rows; ++y) {
    for (int x = 0; x < t.cols; ++x) {
      const char kind = m_spec.unit_at(x, y);
      if (kind == '.') continue;
      const int id = add_unit(kind == 'C' ? UnitKind::pcu : UnitKind::pmu, tile, x, y);
      m_cells[cell_base + static_cast<std::size_t>(y * t.cols + x)] = id;
      for (auto [dx, dy] : {std::pair{0, 0}, std::pair{1, 0}, std::pair{0, 1}, std::pair{1, 1}}) {
        connect(id, switch_at(tile, x + dx, y + dy));
      }
    }
  }
  // AGCUs alternate between the left and right edges and spread evenly down each edge.
  const int count = m_spec.agcu().count;
  const int left = (count + 1) / 2;
  const int right = count / 2;
  for (int side = 0; side < 2; ++side) {
    const int n = side == 0 ? left : right;
    for (int i = 0; i < n; ++i) {
      const int row = static_cast<int>((2 * i + 1) * t.rows / (2 * n));
      const int x = side == 0 ? -1 : t.cols;
      const int id = add_unit(UnitKind::agcu, tile, x, row);
      connect(id, switch_at(tile, side == 0 ? 0 : t.cols, row));
    }
  }
}

void Fabric::connect_tiles() {
  const auto& t = m_spec.tile();
  for (int tile = 0; tile < m_spec.tiles(); ++tile) {
    const int tr = tile / m_tile_grid_cols;
    const int tc = tile % m_tile_grid_cols;
    if (tc + 1 < m_tile_grid_cols) {  // right neighbour: facing columns of switches
      for (int y = 0; y <= t.rows; ++y) connect(switch_at(tile, t.cols, y), switch_at(tile + 1, 0, y));
    }
    if (tr + 1 < m_tile_grid_rows) {  // neighbour below: facing rows of switches
      const int below = tile + m_tile_grid_cols;
      for (int x = 0; x <= t.cols; ++x) connect(switch_at(tile, x, t.rows), switch_at(below, x, 0));
    }
  }
}

const Unit& Fabric::unit(int id) const {
  RDASIM_ASSERT(id >= 0 && id < static_cast<int>(m_units.size()), fmt::format("unit id {}", id));
  return m_units[static_cast<std::size_t>(id)];
}

int Fabric::count(UnitKind kind) const { return m_counts[static_cast<std::size_t>(kind)]; }

std::span<const int> Fabric::out_links(int unit_id) const {
  const auto u = static_cast<std::size_t>(unit(unit_id).id);
  const auto begin = static_cast<std::size_t>(m_out_offsets[u]);
  const auto end = static_cast<std::size_t>(m_out_offsets[u + 1]);
  return std::span<const int>(m_out_ids).subspan(begin, end - begin);
}

int Fabric::memory_unit(int tier) const {
  RDASIM_ASSERT(tier >= 0 && tier < static_cast<int>(m_spec.memory_tiers().size()),
                fmt::format("memory tier {}", tier));
  return m_first_memory_unit + tier;
}

int Fabric::cell_unit(int tile, int x, int y) const {
  const auto& t = m_spec.tile();
  RDASIM_ASSERT(tile >= 0 && tile < m_spec.tiles() && x >= 0 && x < t.cols && y >= 0 && y < t.rows,
                fmt::format("cell ({}, {}) of tile {}", x, y, tile));
  return m_cells[static_cast<std::size_t>((tile * t.rows + y) * t.cols + x)];
}

int Fabric::switch_at(int tile, int x, int y) const {
  const auto& t = m_spec.tile();
  RDASIM_ASSERT(tile >= 0 && tile < m_spec.tiles() && x >= 0 && x <= t.cols && y >= 0 && y <= t.rows,
                fmt::format("switch ({}, {}) of tile {}", x, y, tile));
  return m_switches[static_cast<std::size_t>((tile * (t.rows + 1) + y) * (t.cols + 1) + x)];
}

int Fabric::global_x(const Unit& u) const {
  RDASIM_ASSERT(u.kind != UnitKind::memory, "memory tiers have no place on the grid");
  const int offset = (u.tile % m_tile_grid_cols) * tile_span_x();
  if (u.kind == UnitKind::agcu) return offset + (u.x < 0 ? 0 : m_spec.tile().cols + 2);
  return offset + u.x + 1;
}

int Fabric::global_y(const Unit& u) const {
  RDASIM_ASSERT(u.kind != UnitKind::memory, "memory tiers have no place on the grid");
  return (u.tile / m_tile_grid_cols) * tile_span_y() + u.y;
}

Region Fabric::region(std::string name, std::vector<int> tiles) const {
  std::sort(tiles.begin(), tiles.end());
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    if (tiles[i] < 0 || tiles[i] >= m_spec.tiles()) {
      throw core::InputError(core::Location{"region " + name},
                             fmt::format("tile {} does not exist; expected 0 to {}", tiles[i], m_spec.tiles() - 1));
    }
    if (i > 0 && tiles[i] == tiles[i - 1]) {
      throw core::InputError(core::Location{"region " + name}, fmt::format("tile {} is listed twice", tiles[i]));
    }
  }
  if (tiles.empty()) throw core::InputError(core::Location{"region " + name}, "expected at least one tile");
  return Region{std::move(name), std::move(tiles)};
}

std::vector<Region> Fabric::split(std::span<const int> tiles_per_region) const {
  int needed = 0;
  for (int n : tiles_per_region) {
    if (n <= 0) throw core::InputError(fmt::format("expected a positive tile count per region, found {}", n));
    needed += n;
  }
  if (needed > m_spec.tiles()) {
    throw core::InputError(fmt::format("{} regions need {} tiles, but '{}' has {}", tiles_per_region.size(), needed,
                                       m_spec.name(), m_spec.tiles()));
  }
  std::vector<Region> regions;
  int next = 0;
  for (std::size_t i = 0; i < tiles_per_region.size(); ++i) {
    std::vector<int> tiles(static_cast<std::size_t>(tiles_per_region[i]));
    for (int& tile : tiles) tile = next++;
    regions.push_back(region(fmt::format("app{}", i), std::move(tiles)));
  }
  return regions;
}

Region Fabric::band(std::string name, int tile, int first_row, int end_row) const {
  Region r = region(name, {tile});
  const int rows = m_spec.tile().rows;
  if (first_row < 0 || end_row > rows || first_row >= end_row) {
    throw core::InputError(
        core::Location{"region " + name},
        fmt::format("rows {} to {} are not a band of a tile's rows 0 to {}", first_row, end_row, rows));
  }
  r.first_row = first_row;
  r.end_row = end_row;
  return r;
}

bool Fabric::contains(const Region& region, const Unit& u) const {
  if (!std::binary_search(region.tiles.begin(), region.tiles.end(), u.tile)) return false;
  if (!region.is_band()) return true;
  // Switch rows run 0..rows: the band owns those above its cells, the last band the bottom one.
  const bool bottom =
      u.kind == UnitKind::switch_box && u.y == m_spec.tile().rows && region.end_row == m_spec.tile().rows;
  return (u.y >= region.first_row && u.y < region.end_row) || bottom;
}

int Fabric::count(const Region& region, UnitKind kind) const {
  int n = 0;
  for (const auto& u : m_units) n += u.kind == kind && contains(region, u) ? 1 : 0;
  return n;
}

bool Fabric::contains(const Region& region, const Link& link) const {
  return contains(region, unit(link.src)) && contains(region, unit(link.dst));
}

}  // namespace rdasim::arch
