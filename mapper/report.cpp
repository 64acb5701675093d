#include "mapper/report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/text.h"

namespace rdasim::mapper {

namespace {

constexpr int k_margin = 16;
constexpr int k_caption = 22;  // above each panel

/// Twelve colours that stay apart (ColorBrewer Paired, reordered).
constexpr std::array<const char*, 12> k_palette{"#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928",
                                                "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99"};

/// Light grey (idle) to dark red (at capacity or over) for a link's load ratio.
std::string load_colour(double ratio) {
  const double t = std::clamp(ratio, 0.0, 1.0);
  const auto mix = [&](int a, int b) { return static_cast<int>(std::lround(a + (b - a) * t)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(0xd9, 0xb1), mix(0xd9, 0x00), mix(0xd9, 0x26));
}

/// "t0(3,4) t0(5,4) ..." : tile and cell of each unit, the first few.
std::string unit_list(const std::vector<int>& units, const arch::Fabric& fabric) {
  std::string out;
  for (std::size_t i = 0; i < units.size() && i < 8; ++i) {
    const auto& u = fabric.unit(units[i]);
    out += fmt::format("{}t{}({},{})", i ? " " : "", u.tile, u.x, u.y);
  }
  if (units.size() > 8) out += fmt::format(" ... ({} in all)", units.size());
  return out;
}

/// With no more slices than this, a reader needing each whole trails its producer by a visible
/// part of a pass (one slice in 1024 is 0.1%): placement.txt says so.
constexpr std::int64_t k_shown_slices = 1024;

/// Per op of a section, what it waits for before it emits, from the needs of the streams into
/// its units: an input needed whole (a barrier), a halo (a window), each of a few slices whole,
/// or nothing (it streams token for token).
std::vector<std::string> op_waits(const MappedSection& s) {
  std::map<int, std::size_t> op_of;
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    for (int u : s.ops[i].units) op_of.emplace(u, i);
  }
  std::vector<std::string> waits(s.ops.size());
  for (const auto& st : s.streams) {
    const auto dst = op_of.find(st.dst);
    const auto src = op_of.find(st.src);
    if (dst == op_of.end() || (src != op_of.end() && src->second == dst->second)) continue;
    auto& w = waits[dst->second];
    if (st.need.dependency == graphs::Dependency::all) {
      w = "whole input";
    } else if (st.need.dependency == graphs::Dependency::window && w.empty()) {
      w = fmt::format("halo {} of {} slices", st.need.halo, st.need.slices);
    } else if (st.need.dependency == graphs::Dependency::slice && st.need.slices <= k_shown_slices && w.empty()) {
      w = fmt::format("each of {} slices whole", st.need.slices);
    } else if (st.need.buffered && w.empty()) {
      w = "input held whole";
    }
  }
  return waits;
}

}  // namespace

std::string placement_text(const Mapping& m, const arch::Fabric& fabric) {
  std::string text = fmt::format("# {} on {} ({}), mode {}\n", m.tenants.size() == 1 ? m.tenants[0].name : "tenants",
                                 m.arch, m.arch_hash, to_string(m.mode));
  text +=
      "# per op: kind, engine, PCUs sharing it (xN; (OxRK): O output splits, each copied R times over the reduction),\n"
      "# its PMUs, cycles per pipeline stage, units as t<tile>(x,y); \"waits:\" what it needs before it emits\n"
      "# (DESIGN.md \u00a7Modelling: a whole input is a barrier, a halo a window of slices ahead)\n";
  const double clock = fabric.spec().clock_ghz() * 1e9;
  for (const auto& t : m.tenants) {
    const int pcus = fabric.count(t.region(fabric), arch::UnitKind::pcu);
    const int pmus = fabric.count(t.region(fabric), arch::UnitKind::pmu);
    text += fmt::format("\ntenant {} on {} ({} PCUs, {} PMUs): {}, {}\n", t.name, describe(t.region(fabric)), pcus,
                        pmus, core::plural(t.sections.size(), "section"), core::format_si(t.cycles() / clock, "s"));
    text += fmt::format(
        "  in {}: weights {}, inputs {}, outputs {}; on chip: each section's resident weights and "
        "buffers (its PMUs below)\n",
        m.dram_tier, core::format_bytes(t.memory.weights), core::format_bytes(t.memory.inputs),
        core::format_bytes(t.memory.outputs));
    for (const auto& c : t.sectioning) {
      text += fmt::format("  sectioning {:<12} {:>4} sections, {:>14.0f} cycles, DRAM {}{}\n", c.method, c.sections,
                          c.cycles, core::format_si(c.dram_bytes, "B", 4), c.method == t.method ? "   <- kept" : "");
    }
    for (std::size_t k = 0; k < t.sections.size(); ++k) {
      const auto& s = t.sections[k];
      text += fmt::format(
          "  section {}: {} PCUs ({:.0f}%), {} PMUs ({:.0f}%), weights {}, DRAM read {} write {}, {:.0f} cycles "
          "({} bound)\n"
          "    compute {:.0f}, memory {:.0f}, network {:.0f}, reconfiguration {:.0f} cycles; {} streams, "
          "{:.4g} byte-hops (from a {} start of {:.4g}), routed in {} round{} ({} links over capacity)\n",
          k, s.pcus, 100.0 * s.pcus / std::max(pcus, 1), s.pmus, 100.0 * s.pmus / std::max(pmus, 1),
          core::format_bytes(s.weight_bytes), core::format_si(s.dram_read_bytes, "B", 4),
          core::format_si(s.dram_write_bytes, "B", 4), s.cycles(), to_string(s.bound()), s.compute_cycles,
          s.memory_cycles, s.network_cycles, s.reconfig_cycles, s.streams.size(), s.placement_cost, s.start,
          s.start_cost, s.route_rounds, s.route_rounds == 1 ? "" : "s", s.overused_links);
      if (s.state_bytes > 0 || s.streamed_weight_bytes > 0) {
        // Where a training step keeps what it updates: preloaded into PMUs for the section, or
        // (ops whose weights exceed their PMUs) streamed from DRAM on every pass.
        text += fmt::format(
            "    weights and optimizer state: {} in PMUs, {} streamed from DRAM; optimizer state {} of it\n",
            core::format_bytes(s.weight_bytes - s.streamed_weight_bytes), core::format_bytes(s.streamed_weight_bytes),
            core::format_bytes(s.state_bytes));
      }
      if (!s.streamed.empty()) {
        text += fmt::format("    streamed along {}; {}\n", s.streamed,
                            s.barriers == 0 ? std::string("no barriers: one pipeline")
                                            : core::plural(static_cast<std::size_t>(s.barriers), "barrier"));
      }
      const auto waits = op_waits(s);
      for (std::size_t i = 0; i < s.ops.size(); ++i) {
        const auto& o = s.ops[i];
        if (o.engine == graphs::Engine::none) continue;
        const std::string split = o.reduction_split > 1 ? fmt::format("x{} ({}x{}K)", o.parallel,
                                                                      o.parallel / o.reduction_split, o.reduction_split)
                                                        : fmt::format("x{}", o.parallel);
        text += fmt::format("    {:<40} {:<18} {:<7} {:<14} {:>3} PMU{} {:>12.0f} cycles/stage{}  units {}\n",
                            core::printable(o.name, 40), o.kind, graphs::to_string(o.engine), split, o.buffer_pmus,
                            o.weights_streamed ? " (weights streamed)" : "", o.stage_cycles,
                            waits[i].empty() ? "" : "  waits: " + waits[i], unit_list(o.units, fabric));
      }
    }
  }
  return text;
}

std::string placement_svg(const Mapping& m, const arch::Fabric& fabric) {
  const auto& tile = fabric.spec().tile();
  std::size_t steps = 0;
  for (const auto& t : m.tenants) steps = std::max(steps, t.sections.size());
  const std::size_t panels = std::min(steps, k_max_svg_panels);
  // Cells shrink for big chips so that a panel stays about 1400 pixels wide.
  const int span_x = fabric.tile_grid_cols() * fabric.tile_span_x();
  const int span_y = fabric.tile_grid_rows() * fabric.tile_span_y();
  const int cell = std::clamp(1400 / std::max(span_x, 1), 6, 24);
  const int panel_w = span_x * cell;
  const int panel_h = span_y * cell + k_caption;
  const int width = panel_w + 2 * k_margin;
  const int height = static_cast<int>(panels) * panel_h + 2 * k_margin + 40;
  const double clock = fabric.spec().clock_ghz() * 1e9;
  const bool by_tenant = m.tenants.size() > 1;

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<title>{2}</title>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      // Idle cells: one pattern instead of an element per unit keeps the file small.
      "<defs><pattern id=\"idle\" width=\"{3}\" height=\"{3}\" patternUnits=\"userSpaceOnUse\" x=\"{4}\" y=\"{4}\">"
      "<rect x=\"2\" y=\"2\" width=\"{5}\" height=\"{5}\" rx=\"1\" fill=\"#ececec\"/></pattern></defs>\n",
      width, height,
      core::xml_escape(fmt::format("{} on {} ({}), mode {}",
                                   by_tenant           ? fmt::format("{} tenants", m.tenants.size())
                                   : m.tenants.empty() ? "nothing"
                                                       : m.tenants[0].name,
                                   m.arch, m.arch_hash, to_string(m.mode))),
      cell, k_margin, cell - 4);
  const auto units = fabric.units();
  const auto links = fabric.links();
  for (std::size_t k = 0; k < panels; ++k) {
    const int top = k_margin + static_cast<int>(k) * panel_h;
    const int oy = top + k_caption;
    const auto px = [&](const arch::Unit& u) { return k_margin + fabric.global_x(u) * cell; };
    const auto py = [&](const arch::Unit& u) { return oy + fabric.global_y(u) * cell; };
    // Caption: what runs in this step.
    double cycles = 0;
    int pcus = 0, pmus = 0;
    std::size_t running = 0;
    for (const auto& t : m.tenants) {
      if (k >= t.sections.size()) continue;
      ++running;
      cycles = std::max(cycles, t.sections[k].cycles());
      pcus += t.sections[k].pcus;
      pmus += t.sections[k].pmus;
    }
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">section {}{}: {} PCUs, {} PMUs, {}</text>\n",
                       k_margin, top + 15, k, by_tenant ? fmt::format(" ({} tenants)", running) : "", pcus, pmus,
                       core::format_si(cycles / clock, "s", 4));
    for (int tl = 0; tl < fabric.spec().tiles(); ++tl) {
      const int x = k_margin + ((tl % fabric.tile_grid_cols()) * fabric.tile_span_x() + 1) * cell;
      const int y = oy + (tl / fabric.tile_grid_cols()) * fabric.tile_span_y() * cell;
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#idle)\" stroke=\"#aaa\" "
          "stroke-width=\"0.5\"><title>tile {}</title></rect>\n",
          x, y, tile.cols * cell, tile.rows * cell, tl);
    }
    for (std::size_t ti = 0; ti < m.tenants.size(); ++ti) {
      const auto& t = m.tenants[ti];
      const char* tenant_colour = k_palette[ti % k_palette.size()];
      // The tenant's region, outlined.
      for (int tl : t.tiles) {
        const int x = k_margin + ((tl % fabric.tile_grid_cols()) * fabric.tile_span_x() + 1) * cell;
        const int y = oy + ((tl / fabric.tile_grid_cols()) * fabric.tile_span_y() + t.first_row) * cell;
        const int rows = t.end_row > 0 ? t.end_row - t.first_row : tile.rows;
        svg += fmt::format(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\" "
            "stroke-dasharray=\"4 2\"><title>{}</title></rect>\n",
            x, y, tile.cols * cell, rows * cell, tenant_colour, core::xml_escape(t.name));
      }
      if (k >= t.sections.size()) continue;
      const auto& s = t.sections[k];
      // Links by load: both directions of a connection together, against the section's time.
      std::map<std::pair<int, int>, double> load;
      for (const auto& st : s.streams) {
        for (int l : st.links) {
          const auto& link = links[static_cast<std::size_t>(l)];
          if (units[static_cast<std::size_t>(link.src)].kind != arch::UnitKind::switch_box ||
              units[static_cast<std::size_t>(link.dst)].kind != arch::UnitKind::switch_box) {
            continue;
          }
          load[{std::min(link.src, link.dst), std::max(link.src, link.dst)}] += st.bytes;
        }
      }
      const double capacity =
          fabric.spec().network().link_bytes_per_cycle * std::max(s.cycles() - s.reconfig_cycles, 1.0);
      for (const auto& [ends, bytes] : load) {
        const auto& a = units[static_cast<std::size_t>(ends.first)];
        const auto& b = units[static_cast<std::size_t>(ends.second)];
        const double ratio = bytes / (2.0 * capacity);
        svg += fmt::format(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{:.1f}\">"
            "<title>{} over the link ({:.0f}% of both directions' capacity)</title></line>\n",
            px(a), py(a), px(b), py(b), load_colour(ratio), 1.0 + 2.5 * std::min(ratio, 1.0),
            core::format_si(bytes, "B", 4), 100.0 * ratio);
      }
      // Units: colour by op (one tenant) or by tenant; one group and hover text per op keeps
      // the file small.
      for (std::size_t oi = 0; oi < s.ops.size(); ++oi) {
        const auto& o = s.ops[oi];
        if (o.units.empty()) continue;
        const char* colour = by_tenant ? tenant_colour : k_palette[oi % k_palette.size()];
        const int pcus_of_op = o.pcus();
        svg += fmt::format("<g fill=\"{}\" stroke=\"#222\" stroke-width=\"0.4\"><title>{}</title>", colour,
                           core::xml_escape(fmt::format("{}{} ({}): {} PCUs, {} PMUs", by_tenant ? t.name + ": " : "",
                                                        o.name, o.kind, pcus_of_op, o.buffer_pmus)));
        for (std::size_t i = 0; i < o.units.size(); ++i) {
          const auto& u = units[static_cast<std::size_t>(o.units[i])];
          const bool pcu = static_cast<int>(i) < pcus_of_op;
          svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"/>", px(u) + 1, py(u) + 1,
                             cell - 2, cell - 2, pcu ? 1 : cell / 2);
        }
        svg += "</g>\n";
      }
    }
  }
  const int ly = height - 34;
  std::string legend = "square: PCU, round: PMU; colour: " + std::string(by_tenant ? "tenant" : "op") +
                       "; links: grey idle to red at capacity; dashed: a tenant's region";
  if (steps > panels)
    legend += fmt::format("; the first {} of {} sections drawn (all are in placement.txt)", panels, steps);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#444\">{}</text>\n", k_margin, ly + 14, core::xml_escape(legend));
  svg += "</svg>\n";
  return svg;
}

}  // namespace rdasim::mapper
