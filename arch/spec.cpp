// Reading and validating an arch::Spec. Every key is declared once in the schema (type, unit,
// range, default, description); the cross-field checks (layout against unit counts, AGCUs
// against tile edges, unique tier names) follow the reads.
#include "arch/spec.h"

#include <limits>
#include <set>

#include <fmt/format.h>

#include "core/paths.h"

namespace rdasim::arch {

using core::Bounds;
using core::ConfigNode;

const char* to_string(Layout layout) {
  switch (layout) {
    case Layout::checkerboard: return "checkerboard";
    case Layout::columns: return "columns";
    case Layout::custom: return "custom";
  }
  return "?";
}

const char* to_string(Precision precision) {
  switch (precision) {
    case Precision::fp32: return "fp32";
    case Precision::bf16_fp32acc: return "bf16_fp32acc";
  }
  return "?";
}

const char* to_string(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::ddr: return "ddr";
    case MemoryKind::hbm: return "hbm";
  }
  return "?";
}

namespace {

using core::Presence;
namespace decl = core::decl;

// Generous upper limits: they catch typos (an extra zero) without constraining exploration.
constexpr double k_max_grid = 1024;
constexpr double k_inf = std::numeric_limits<double>::infinity();

core::Schema make_schema() {
  const Bounds positive = Bounds::above(0);
  const Bounds non_negative = Bounds::at_least(0);
  return core::Schema(
      "arch",
      {
          decl::text("name", "name of the fabric, used in reports"),
          decl::text("description", "one line about the fabric", Presence::optional),
          decl::number("clock_ghz", "GHz", "clock frequency of the fabric", {0, 20, true, false}),
          decl::integer("tiles", "", "tiles on the chip; the unit of allocation for tenants", Bounds::between(1, 4096)),
          decl::section("tile", "the grid of units in one tile"),
          decl::integer("tile.rows", "cells", "rows of the unit grid", Bounds::between(1, k_max_grid)),
          decl::integer("tile.cols", "cells", "columns of the unit grid", Bounds::between(1, k_max_grid)),
          decl::choice("tile.layout",
                       "checkerboard: PCU where x + y is even; columns: PCU and PMU columns "
                       "alternate; custom: tile.pattern",
                       {"checkerboard", "columns", "custom"}, Presence::defaulted, "checkerboard"),
          decl::list("tile.pattern", "with layout custom only: one string per row, C = PCU, M = PMU, . = empty",
                     Presence::optional),
          decl::integer("tile.pcus", "", "PCUs per tile the layout must place (a cross-check)",
                        Bounds::between(0, k_max_grid * k_max_grid), Presence::optional),
          decl::integer("tile.pmus", "", "PMUs per tile the layout must place (a cross-check)",
                        Bounds::between(0, k_max_grid * k_max_grid), Presence::optional),
          decl::section("pcu", "pattern compute unit"),
          decl::integer("pcu.lanes", "", "SIMD lanes; a vector is lanes x 4 bytes", Bounds::between(1, 1024)),
          decl::integer("pcu.stages", "", "pipeline stages of functional units per lane", Bounds::between(1, 256)),
          decl::choice("pcu.precision", "fp32, or bf16 operands with fp32 accumulation", {"fp32", "bf16_fp32acc"}),
          decl::section("pmu", "pattern memory unit"),
          decl::number("pmu.capacity_kib", "KiB", "scratchpad capacity", {0, 1024.0 * 1024.0, true, false}),
          decl::integer("pmu.banks", "", "banks, each serving one 4-byte word per cycle", Bounds::between(1, 1024)),
          decl::section("network", "switches and links"),
          decl::number("network.link_bytes_per_cycle", "B/cycle", "bandwidth of a link, each direction",
                       {0, 65536, true, false}),
          decl::integer("network.hop_latency_cycles", "cycles", "latency through one switch hop",
                        Bounds::between(1, 1000)),
          decl::section("agcu", "address-generation and coalescing units (off-chip access)"),
          decl::integer("agcu.count", "", "AGCUs per tile, on its left and right edges; at most 2 x tile.rows",
                        Bounds::between(1, 4 * k_max_grid)),
          decl::section("memory", "off-chip memory"),
          decl::list("memory.tiers", "off-chip memory tiers, at least one; shared by every AGCU and tenant"),
          decl::text("memory.tiers[].name", "name of the tier, unique"),
          decl::choice("memory.tiers[].kind", "technology", {"ddr", "hbm"}),
          decl::number("memory.tiers[].capacity_gib", "GiB", "capacity", positive),
          decl::integer("memory.tiers[].channels", "", "channels", Bounds::between(1, 1024)),
          decl::number("memory.tiers[].bandwidth_gbps", "GB/s", "peak bandwidth of all channels (1e9 B/s)", positive),
          decl::number("memory.tiers[].efficiency", "", "sustained fraction of the peak bandwidth", {0, 1, true, false},
                       Presence::defaulted, "1.0"),
          decl::number("memory.tiers[].latency_ns", "ns", "unloaded access latency", non_negative),
          decl::number("memory.tiers[].pj_per_byte", "pJ/B", "access energy; energy.pj_per_dram_byte when absent",
                       non_negative, Presence::optional),
          decl::integer("reconfig_cycles", "cycles", "cycles to load a section's configuration",
                        Bounds::between(0, 1e12)),
          decl::section("energy", "energy per event (estimates; each preset states its sources)"),
          decl::number("energy.pj_per_flop", "pJ", "per floating-point operation (a multiply-add is 2)", non_negative),
          decl::number("energy.pj_per_pmu_byte", "pJ/B", "per byte read from or written to a PMU", non_negative),
          decl::number("energy.pj_per_hop_byte", "pJ/B", "per byte moved over one switch hop", non_negative),
          decl::number("energy.pj_per_dram_byte", "pJ/B", "per off-chip byte, for tiers without their own",
                       non_negative),
          decl::number("energy.static_w", "W", "leakage and clocks of the whole chip", non_negative),
          decl::section("area", "silicon area per unit"),
          decl::number("area.pcu_mm2", "mm2", "one PCU", positive),
          decl::number("area.pmu_mm2", "mm2", "one PMU", positive),
          decl::number("area.switch_mm2", "mm2", "one switch", non_negative),
          decl::number("area.agcu_mm2", "mm2", "one AGCU", non_negative),
          decl::number("area.uncore_mm2", "mm2", "memory controllers, I/O and all not counted per unit", {0, k_inf},
                       Presence::defaulted, "0"),
          decl::number("area.pcu_sized_for_fus", "FUs",
                       "the lanes x stages pcu_mm2 is given for: a PCU of other size scales in proportion (absent: "
                       "pcu_mm2 whatever the size)",
                       positive, Presence::optional),
          decl::number("area.pmu_sized_for_kib", "KiB",
                       "the capacity pmu_mm2 is given for: a PMU of other capacity scales in proportion (absent: "
                       "pmu_mm2 whatever the capacity)",
                       positive, Presence::optional),
      });
}

int to_int(std::int64_t v) { return static_cast<int>(v); }  // bounds keep every count in range

TileSpec read_tile(const core::SectionReader& tile_reader) {
  TileSpec tile;
  tile.rows = to_int(tile_reader.integer("rows"));
  tile.cols = to_int(tile_reader.integer("cols"));
  const std::string name = tile_reader.choice("layout");
  tile.layout = name == "checkerboard" ? Layout::checkerboard : name == "columns" ? Layout::columns : Layout::custom;
  const auto pattern = tile_reader.node("pattern");
  if (tile.layout == Layout::custom) {
    if (!pattern) {
      tile_reader.config().at("layout").fail("layout 'custom' needs tile.pattern: one string of C, M and . per row");
    }
    const auto rows = pattern->elements();
    if (static_cast<int>(rows.size()) != tile.rows) {
      pattern->fail(fmt::format("expected {} rows (tile.rows), found {}", tile.rows, rows.size()));
    }
    for (const auto& row : rows) {
      std::string text = row.as_string();
      if (static_cast<int>(text.size()) != tile.cols || text.find_first_not_of("CM.") != std::string::npos) {
        row.fail(
            fmt::format("expected {} characters from C (PCU), M (PMU) and . (empty), found '{}'", tile.cols, text));
      }
      tile.pattern.push_back(std::move(text));
    }
  } else if (pattern) {
    pattern->fail(fmt::format("tile.pattern is only read with layout 'custom', but layout is '{}'", name));
  }
  if (auto pcus = tile_reader.optional_integer("pcus")) tile.pcus = to_int(*pcus);
  if (auto pmus = tile_reader.optional_integer("pmus")) tile.pmus = to_int(*pmus);
  return tile;
}

MemoryTier read_tier(const core::SectionReader& r, double default_pj_per_byte) {
  MemoryTier tier;
  tier.name = r.text("name");
  tier.kind = r.choice("kind") == "ddr" ? MemoryKind::ddr : MemoryKind::hbm;
  tier.capacity_gib = r.number("capacity_gib");
  tier.channels = to_int(r.integer("channels"));
  tier.bandwidth_gbps = r.number("bandwidth_gbps");
  tier.efficiency = r.number("efficiency");
  tier.latency_ns = r.number("latency_ns");
  tier.pj_per_byte = r.optional_number("pj_per_byte").value_or(default_pj_per_byte);
  return tier;
}

/// Units a layout places on a tile, checked against the declared counts.
void check_layout_fits(const Spec& spec, const ConfigNode& tile_node) {
  const TileSpec& tile = spec.tile();
  int pcus = 0;
  int pmus = 0;
  for (int y = 0; y < tile.rows; ++y) {
    for (int x = 0; x < tile.cols; ++x) {
      const char kind = spec.unit_at(x, y);
      pcus += kind == 'C';
      pmus += kind == 'M';
    }
  }
  const auto mismatch = [&](const char* key, int declared, int placed) {
    tile_node.at(key).fail(
        fmt::format("the {} layout of {} rows x {} cols places {} {}, but tile.{} is {}; a tile of {} PCUs "
                    "and {} PMUs needs another grid",
                    to_string(tile.layout), tile.rows, tile.cols, placed, key, key, declared, tile.pcus.value_or(pcus),
                    tile.pmus.value_or(pmus)));
  };
  if (tile.pcus && *tile.pcus != pcus) mismatch("pcus", *tile.pcus, pcus);
  if (tile.pmus && *tile.pmus != pmus) mismatch("pmus", *tile.pmus, pmus);
  if (pcus == 0) tile_node.fail("the layout places no PCU on the tile; expected at least one");
  if (pmus == 0) tile_node.fail("the layout places no PMU on the tile; expected at least one");
}

/// Fabrics beyond this many units are refused: a fabric of this size already takes about a
/// quarter of a GiB with its links, and sweeps want speed. The largest preset (sn40l) has
/// about 4,500 units, 230 times fewer. (Found by fuzzing: 16M units exhausted memory.)
constexpr double k_max_units = 1 << 20;
constexpr double k_max_links = 1 << 24;

void check_size(const Spec& spec, const ConfigNode& root) {
  const auto& t = spec.tile();
  const double per_tile =
      static_cast<double>(t.rows + 1) * (t.cols + 1) + static_cast<double>(t.rows) * t.cols + spec.agcu().count;
  const double units = per_tile * spec.tiles();
  if (units > k_max_units) {
    root.at("tiles").fail(
        fmt::format("{} tiles of {} x {} cells make {:.4g} units with their switches; "
                    "rdasim models at most {:.4g}",
                    spec.tiles(), t.rows, t.cols, units, k_max_units));
  }
  // Links grow with the memory tiers too: every AGCU of the chip reaches every tier.
  const double rows = t.rows;
  const double cols = t.cols;
  const double agcus = spec.agcu().count;
  const double tiers = static_cast<double>(spec.memory_tiers().size());
  const double links =
      2.0 * spec.tiles() *
      (rows * (cols + 1) + cols * (rows + 1) + 4 * rows * cols + agcus * (1 + tiers) + rows + cols + 2);
  if (links > k_max_links) {
    root.at("tiles").fail(
        fmt::format("the fabric would have {:.4g} links ({} tiles, {} memory tiers); rdasim "
                    "models at most {:.4g}",
                    links, spec.tiles(), spec.memory_tiers().size(), k_max_links));
  }
}

std::vector<std::string> doubtful_choices(const Spec& spec) {
  std::vector<std::string> out;
  const double vector_bytes = 4.0 * spec.pcu().lanes;
  if (spec.network().link_bytes_per_cycle < vector_bytes) {
    out.push_back(
        fmt::format("network.link_bytes_per_cycle ({:g}) is below one vector of pcu.lanes "
                    "x 4 B ({:g}): every vector needs several cycles per link",
                    spec.network().link_bytes_per_cycle, vector_bytes));
  }
  const double agcu_gbps = spec.tiles() * spec.agcu().count * spec.network().link_bytes_per_cycle * spec.clock_ghz();
  double memory_gbps = 0;
  for (const auto& tier : spec.memory_tiers()) memory_gbps += tier.bandwidth_gbps * tier.efficiency;
  if (agcu_gbps < memory_gbps) {
    out.push_back(
        fmt::format("the AGCU links carry {:.4g} GB/s in all, less than the {:.4g} GB/s "
                    "the memory tiers sustain: raise agcu.count or the link width",
                    agcu_gbps, memory_gbps));
  }
  return out;
}

}  // namespace

const core::Schema& Spec::schema() {
  static const core::Schema schema = make_schema();
  return schema;
}

Spec Spec::load(const ConfigNode& root_node) {
  const core::SectionReader root = schema().root(root_node);
  Spec spec;
  spec.m_source = root_node.location().file;
  spec.m_name = root.text("name");
  if (root.node("description")) spec.m_description = root.text("description");
  spec.m_clock_ghz = root.number("clock_ghz");
  spec.m_tiles = to_int(root.integer("tiles"));

  const core::SectionReader tile = root.section("tile");
  spec.m_tile = read_tile(tile);

  const core::SectionReader pcu = root.section("pcu");
  spec.m_pcu.lanes = to_int(pcu.integer("lanes"));
  spec.m_pcu.stages = to_int(pcu.integer("stages"));
  spec.m_pcu.precision = pcu.choice("precision") == "fp32" ? Precision::fp32 : Precision::bf16_fp32acc;

  const core::SectionReader pmu = root.section("pmu");
  spec.m_pmu.capacity_kib = pmu.number("capacity_kib");
  spec.m_pmu.banks = to_int(pmu.integer("banks"));

  const core::SectionReader network = root.section("network");
  spec.m_network.link_bytes_per_cycle = network.number("link_bytes_per_cycle");
  spec.m_network.hop_latency_cycles = to_int(network.integer("hop_latency_cycles"));

  const core::SectionReader energy = root.section("energy");
  spec.m_energy.pj_per_flop = energy.number("pj_per_flop");
  spec.m_energy.pj_per_pmu_byte = energy.number("pj_per_pmu_byte");
  spec.m_energy.pj_per_hop_byte = energy.number("pj_per_hop_byte");
  spec.m_energy.pj_per_dram_byte = energy.number("pj_per_dram_byte");
  spec.m_energy.static_w = energy.number("static_w");

  const core::SectionReader agcu = root.section("agcu");
  spec.m_agcu.count = to_int(agcu.integer("count"));
  // AGCUs sit on the left and right edges of a tile, one per row and side.
  if (spec.m_agcu.count > 2 * spec.m_tile.rows) {
    agcu.config().at("count").fail(
        fmt::format("{} AGCUs per tile do not fit on the two edges of a tile of {} rows; "
                    "expected at most {}",
                    spec.m_agcu.count, spec.m_tile.rows, 2 * spec.m_tile.rows));
  }

  const core::SectionReader memory = root.section("memory");
  std::set<std::string> tier_names;
  for (const auto& tier_reader : memory.list("tiers")) {
    MemoryTier tier = read_tier(tier_reader, spec.m_energy.pj_per_dram_byte);
    if (!tier_names.insert(tier.name).second) {
      tier_reader.config().at("name").fail(fmt::format("memory tier '{}' is defined twice", tier.name));
    }
    spec.m_tiers.push_back(std::move(tier));
  }
  if (spec.m_tiers.empty()) memory.config().at("tiers").fail_expected("at least one memory tier");

  spec.m_reconfig_cycles = static_cast<long>(root.integer("reconfig_cycles"));

  const core::SectionReader area = root.section("area");
  spec.m_area.pcu_mm2 = area.number("pcu_mm2");
  spec.m_area.pmu_mm2 = area.number("pmu_mm2");
  spec.m_area.switch_mm2 = area.number("switch_mm2");
  spec.m_area.agcu_mm2 = area.number("agcu_mm2");
  spec.m_area.uncore_mm2 = area.number("uncore_mm2");
  spec.m_area.pcu_sized_for_fus = area.optional_number("pcu_sized_for_fus").value_or(0);
  spec.m_area.pmu_sized_for_kib = area.optional_number("pmu_sized_for_kib").value_or(0);

  check_layout_fits(spec, tile.config());
  check_size(spec, root_node);
  spec.m_warnings = doubtful_choices(spec);
  return spec;
}

Spec Spec::load_file(const std::filesystem::path& path, std::span<const core::Override> overrides) {
  return load(ConfigNode::load_file(core::preset_path(path, "arch", ".yaml", "fabric"), overrides));
}

char Spec::unit_at(int x, int y) const {
  RDASIM_ASSERT(x >= 0 && x < m_tile.cols && y >= 0 && y < m_tile.rows,
                fmt::format("cell ({}, {}) outside a tile of {} x {}", x, y, m_tile.rows, m_tile.cols));
  switch (m_tile.layout) {
    case Layout::checkerboard: return (x + y) % 2 == 0 ? 'C' : 'M';
    case Layout::columns: return x % 2 == 0 ? 'C' : 'M';
    case Layout::custom: return m_tile.pattern[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)];
  }
  return '.';
}

core::Json Spec::to_json() const {
  core::Json tile = {{"rows", m_tile.rows}, {"cols", m_tile.cols}, {"layout", to_string(m_tile.layout)}};
  if (m_tile.layout == Layout::custom) tile["pattern"] = m_tile.pattern;
  if (m_tile.pcus) tile["pcus"] = *m_tile.pcus;
  if (m_tile.pmus) tile["pmus"] = *m_tile.pmus;
  core::Json tiers = core::Json::array();
  for (const auto& t : m_tiers) {
    tiers.push_back({{"name", t.name},
                     {"kind", to_string(t.kind)},
                     {"capacity_gib", t.capacity_gib},
                     {"channels", t.channels},
                     {"bandwidth_gbps", t.bandwidth_gbps},
                     {"efficiency", t.efficiency},
                     {"latency_ns", t.latency_ns},
                     {"pj_per_byte", t.pj_per_byte}});
  }
  core::Json doc = {{"name", m_name}};
  if (!m_description.empty()) doc["description"] = m_description;
  core::Json rest = {
      {"clock_ghz", m_clock_ghz},
      {"tiles", m_tiles},
      {"tile", tile},
      {"pcu", {{"lanes", m_pcu.lanes}, {"stages", m_pcu.stages}, {"precision", to_string(m_pcu.precision)}}},
      {"pmu", {{"capacity_kib", m_pmu.capacity_kib}, {"banks", m_pmu.banks}}},
      {"network",
       {{"link_bytes_per_cycle", m_network.link_bytes_per_cycle},
        {"hop_latency_cycles", m_network.hop_latency_cycles}}},
      {"agcu", {{"count", m_agcu.count}}},
      {"memory", {{"tiers", tiers}}},
      {"reconfig_cycles", m_reconfig_cycles},
      {"energy",
       {{"pj_per_flop", m_energy.pj_per_flop},
        {"pj_per_pmu_byte", m_energy.pj_per_pmu_byte},
        {"pj_per_hop_byte", m_energy.pj_per_hop_byte},
        {"pj_per_dram_byte", m_energy.pj_per_dram_byte},
        {"static_w", m_energy.static_w}}},
      {"area",
       {{"pcu_mm2", m_area.pcu_mm2},
        {"pmu_mm2", m_area.pmu_mm2},
        {"switch_mm2", m_area.switch_mm2},
        {"agcu_mm2", m_area.agcu_mm2},
        {"uncore_mm2", m_area.uncore_mm2}}},
  };
  if (m_area.pcu_sized_for_fus > 0) rest["area"]["pcu_sized_for_fus"] = m_area.pcu_sized_for_fus;
  if (m_area.pmu_sized_for_kib > 0) rest["area"]["pmu_sized_for_kib"] = m_area.pmu_sized_for_kib;
  doc.insert(rest.begin(), rest.end());
  return doc;
}

std::string Spec::hash() const { return core::stable_hash(to_json().dump()); }

}  // namespace rdasim::arch
