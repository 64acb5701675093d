// Draws the fabric on the chip-wide grid of Fabric::global_x/global_y: switches as dots on the
// cell corners, PCUs/PMUs between them, AGCUs in the margin columns of each tile.
#include "arch/fabric_svg.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/text.h"

namespace rdasim::arch {

namespace {

constexpr int k_cell = 28;    // pixels per cell
constexpr int k_margin = 16;  // around the drawing
constexpr int k_legend = 40;  // below it

UnitStyle default_style(const Unit& u) {
  const std::string where = fmt::format("tile {} ({}, {})", u.tile, u.x, u.y);
  switch (u.kind) {
    case UnitKind::pcu: return {"#6c9bd2", "C", fmt::format("PCU {} at {}", u.id, where)};
    case UnitKind::pmu: return {"#f2b36f", "M", fmt::format("PMU {} at {}", u.id, where)};
    case UnitKind::agcu: return {"#7fbf7f", "A", fmt::format("AGCU {} at {}", u.id, where)};
    case UnitKind::switch_box: return {"#555555", "", fmt::format("switch {} at {}", u.id, where)};
    case UnitKind::memory: return {"#cccccc", "", fmt::format("memory tier {}", u.x)};
  }
  return {};
}

}  // namespace

std::string fabric_svg(const Fabric& fabric, const UnitStyler& styler) {
  const auto& t = fabric.spec().tile();
  const int tile_w = fabric.tile_span_x();
  const int tile_h = fabric.tile_span_y();
  constexpr int k_legend_width = 600;
  const int width = std::max(fabric.tile_grid_cols() * tile_w * k_cell + 2 * k_margin, k_legend_width);
  const int height = fabric.tile_grid_rows() * tile_h * k_cell + k_margin + k_legend;

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<title>{2}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, core::xml_escape(fabric.spec().name()));

  // Tile backgrounds, labelled.
  for (int tile = 0; tile < fabric.spec().tiles(); ++tile) {
    // Around the switch lattice: columns 1 .. cols + 1, rows 0 .. rows of the tile's span.
    const int x = k_margin + ((tile % fabric.tile_grid_cols()) * tile_w + 1) * k_cell - k_cell / 3;
    const int y = k_margin + (tile / fabric.tile_grid_cols()) * tile_h * k_cell - k_cell / 3;
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f4f4f4\" "
        "stroke=\"#999\" rx=\"4\"><title>tile {}</title></rect>\n",
        x, y, t.cols * k_cell + 2 * k_cell / 3, t.rows * k_cell + 2 * k_cell / 3, tile);
  }
  // Switch-to-switch links as thin lines, under the units.
  svg += "<g stroke=\"#c8c8c8\" stroke-width=\"1\">\n";
  for (const auto& link : fabric.links()) {
    const Unit& a = fabric.unit(link.src);
    const Unit& b = fabric.unit(link.dst);
    if (a.kind != UnitKind::switch_box || b.kind != UnitKind::switch_box || link.src > link.dst) continue;
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", k_margin + fabric.global_x(a) * k_cell,
                       k_margin + fabric.global_y(a) * k_cell, k_margin + fabric.global_x(b) * k_cell,
                       k_margin + fabric.global_y(b) * k_cell);
  }
  svg += "</g>\n";

  for (const auto& u : fabric.units()) {
    if (u.kind == UnitKind::memory) continue;  // off chip: named in the caption
    UnitStyle style = default_style(u);
    if (styler) {
      if (auto custom = styler(u)) {
        if (!custom->fill.empty()) style.fill = custom->fill;
        if (!custom->label.empty()) style.label = custom->label;
        if (!custom->title.empty()) style.title = custom->title;
      }
    }
    const int gx = k_margin + fabric.global_x(u) * k_cell;
    const int gy = k_margin + fabric.global_y(u) * k_cell;
    if (u.kind == UnitKind::switch_box) {
      svg += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{}\"><title>{}</title></circle>\n", gx, gy,
                         style.fill, core::xml_escape(style.title));
      continue;
    }
    // Cells sit between their corner switches; AGCUs are centred on their switch's row.
    const int cx = gx + (u.kind == UnitKind::agcu ? 0 : k_cell / 2);
    const int cy = gy + (u.kind == UnitKind::agcu ? 0 : k_cell / 2);
    const int size = k_cell - 8;
    svg += fmt::format(
        "<g><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
        "rx=\"3\" fill=\"{}\" stroke=\"#333\" stroke-width=\"0.5\"/>",
        core::xml_escape(style.title), cx - size / 2, cy - size / 2, size, size, style.fill);
    if (!style.label.empty()) {
      svg += fmt::format(
          "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" dominant-baseline=\"central\">"
          "{}</text>",
          cx, cy, core::xml_escape(style.label));
    }
    svg += "</g>\n";
  }

  // Legend.
  const int ly = height - k_legend + 12;
  int lx = k_margin;
  for (const auto& [kind, name] :
       {std::pair{UnitKind::pcu, "PCU"}, std::pair{UnitKind::pmu, "PMU"}, std::pair{UnitKind::agcu, "AGCU"}}) {
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" rx=\"3\" fill=\"{}\" "
        "stroke=\"#333\" stroke-width=\"0.5\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
        lx, ly, default_style(Unit{0, kind, 0, 0, 0}).fill, lx + 18, ly + 11, name);
    lx += 70;
  }
  svg += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"#555\"/><text x=\"{}\" y=\"{}\">"
      "switch</text>\n",
      lx + 7, ly + 7, lx + 18, ly + 11);
  std::string off_chip;
  for (const auto& tier : fabric.spec().memory_tiers()) {
    off_chip += fmt::format("{}{} {:g} GB/s", off_chip.empty() ? "" : ", ", tier.name, tier.bandwidth_gbps);
  }
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" fill=\"#555\">{}: {} tiles of {} x {} cells; every AGCU "
      "reaches {}</text>\n",
      lx + 80, ly + 11, core::xml_escape(fabric.spec().name()), fabric.spec().tiles(), t.rows, t.cols,
      core::xml_escape(off_chip));
  svg += "</svg>\n";
  return svg;
}

}  // namespace rdasim::arch
