// Draws a tile as a lattice: '+' switches, '-' and '|' switch links, a letter per cell.
#include "arch/tile_picture.h"

#include <fmt/format.h>

namespace rdasim::arch {

std::string tile_picture(const Fabric& fabric, int tile) {
  const auto& t = fabric.spec().tile();
  std::vector<char> agcu_left(static_cast<std::size_t>(t.rows), ' ');
  std::vector<char> agcu_right(static_cast<std::size_t>(t.rows), ' ');
  for (const auto& u : fabric.units()) {
    if (u.tile != tile || u.kind != UnitKind::agcu) continue;
    (u.x < 0 ? agcu_left : agcu_right)[static_cast<std::size_t>(u.y)] = 'A';
  }
  // AGCUs attach to the switch at the top-left/right corner of their row.
  std::string out;
  auto lattice_line = [&](int y) {
    std::string line = "  ";
    line += y < t.rows ? agcu_left[static_cast<std::size_t>(y)] : ' ';
    line += y < t.rows && agcu_left[static_cast<std::size_t>(y)] == 'A' ? '-' : ' ';
    for (int x = 0; x < t.cols; ++x) line += "+-";
    line += '+';
    if (y < t.rows && agcu_right[static_cast<std::size_t>(y)] == 'A') line += "-A";
    return line + "\n";
  };
  for (int y = 0; y < t.rows; ++y) {
    out += lattice_line(y);
    std::string cells = "    ";
    for (int x = 0; x < t.cols; ++x) {
      const int id = fabric.cell_unit(tile, x, y);
      const char c = id < 0 ? ' ' : fabric.unit(id).kind == UnitKind::pcu ? 'C' : 'M';
      cells += '|';
      cells += c;
    }
    out += cells + "|\n";
  }
  out += lattice_line(t.rows);
  out += fmt::format(
      "  tile {} of {}: {} x {} cells, {} layout. C = PCU, M = PMU, + = switch, "
      "A = AGCU\n",
      tile, fabric.spec().tiles(), t.rows, t.cols, to_string(t.layout));
  return out;
}

}  // namespace rdasim::arch
