// Reading and validating an arch::Spec. Each key is read in one place, with its range; the
// cross-field checks (layout against unit counts, AGCUs against tile edges) follow.
#include "arch/spec.h"

#include <set>

#include <fmt/format.h>

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

// Generous upper limits: they catch typos (an extra zero) without constraining exploration.
constexpr double k_max_grid = 1024;
constexpr double k_max_tiles = 4096;

int read_count(const ConfigNode& node, double lo, double hi) {
  return static_cast<int>(node.as_int(Bounds::between(lo, hi)));
}

TileSpec read_tile(const ConfigNode& node) {
  node.check_keys({"rows", "cols", "layout", "pattern", "pcus", "pmus"});
  TileSpec tile;
  tile.rows = read_count(node.at("rows"), 1, k_max_grid);
  tile.cols = read_count(node.at("cols"), 1, k_max_grid);
  const ConfigNode layout = node.at("layout");
  const std::string name = layout.as_choice({"checkerboard", "columns", "custom"});
  tile.layout = name == "checkerboard" ? Layout::checkerboard
              : name == "columns"      ? Layout::columns
                                       : Layout::custom;
  auto pattern = node.find("pattern");
  if (tile.layout == Layout::custom) {
    if (!pattern) layout.fail("layout 'custom' needs tile.pattern: one string of C, M and . per row");
    const auto rows = pattern->elements();
    if (static_cast<int>(rows.size()) != tile.rows) {
      pattern->fail(fmt::format("expected {} rows (tile.rows), found {}", tile.rows, rows.size()));
    }
    for (const auto& row : rows) {
      std::string text = row.as_string();
      if (static_cast<int>(text.size()) != tile.cols ||
          text.find_first_not_of("CM.") != std::string::npos) {
        row.fail(fmt::format("expected {} characters from C (PCU), M (PMU) and . (empty), found '{}'",
                             tile.cols, text));
      }
      tile.pattern.push_back(std::move(text));
    }
  } else if (pattern) {
    pattern->fail(fmt::format("tile.pattern is only read with layout 'custom', but layout is '{}'",
                              name));
  }
  if (auto pcus = node.find("pcus")) tile.pcus = read_count(*pcus, 0, k_max_grid * k_max_grid);
  if (auto pmus = node.find("pmus")) tile.pmus = read_count(*pmus, 0, k_max_grid * k_max_grid);
  return tile;
}

MemoryTier read_tier(const ConfigNode& node, double default_pj_per_byte) {
  node.check_keys({"name", "kind", "capacity_gib", "channels", "bandwidth_gbps", "efficiency",
                   "latency_ns", "pj_per_byte"});
  MemoryTier tier;
  tier.name = node.at("name").as_string();
  if (tier.name.empty()) node.at("name").fail_expected("a non-empty name");
  tier.kind = node.at("kind").as_choice({"ddr", "hbm"}) == "ddr" ? MemoryKind::ddr
                                                                  : MemoryKind::hbm;
  tier.capacity_gib = node.at("capacity_gib").as_double(Bounds::above(0));
  tier.channels = read_count(node.at("channels"), 1, 1024);
  tier.bandwidth_gbps = node.at("bandwidth_gbps").as_double(Bounds::above(0));
  tier.efficiency = node.double_or("efficiency", 1.0, {0, 1, true, false});
  tier.latency_ns = node.at("latency_ns").as_double(Bounds::at_least(0));
  tier.pj_per_byte = node.double_or("pj_per_byte", default_pj_per_byte, Bounds::at_least(0));
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
    tile_node.at(key).fail(fmt::format(
        "the {} layout of {} rows x {} cols places {} {}, but tile.{} is {}; a tile of {} PCUs "
        "and {} PMUs needs another grid",
        to_string(tile.layout), tile.rows, tile.cols, placed, key, key, declared,
        tile.pcus.value_or(pcus), tile.pmus.value_or(pmus)));
  };
  if (tile.pcus && *tile.pcus != pcus) mismatch("pcus", *tile.pcus, pcus);
  if (tile.pmus && *tile.pmus != pmus) mismatch("pmus", *tile.pmus, pmus);
  if (pcus == 0) tile_node.fail("the layout places no PCU on the tile; expected at least one");
  if (pmus == 0) tile_node.fail("the layout places no PMU on the tile; expected at least one");
}

}  // namespace

Spec Spec::load(const ConfigNode& root) {
  root.check_keys({"name", "description", "clock_ghz", "tiles", "tile", "pcu", "pmu", "network",
                   "agcu", "memory", "reconfig_cycles", "energy", "area"});
  Spec spec;
  spec.m_source = root.location().file;
  spec.m_name = root.at("name").as_string();
  if (spec.m_name.empty()) root.at("name").fail_expected("a non-empty name");
  if (auto description = root.find("description")) (void)description->as_string();
  spec.m_clock_ghz = root.at("clock_ghz").as_double({0, 20, true, false});
  spec.m_tiles = read_count(root.at("tiles"), 1, k_max_tiles);

  const ConfigNode tile_node = root.at("tile");
  spec.m_tile = read_tile(tile_node);

  const ConfigNode pcu = root.at("pcu");
  pcu.check_keys({"lanes", "stages", "precision"});
  spec.m_pcu.lanes = read_count(pcu.at("lanes"), 1, 1024);
  spec.m_pcu.stages = read_count(pcu.at("stages"), 1, 256);
  spec.m_pcu.precision = pcu.at("precision").as_choice({"fp32", "bf16_fp32acc"}) == "fp32"
                             ? Precision::fp32
                             : Precision::bf16_fp32acc;

  const ConfigNode pmu = root.at("pmu");
  pmu.check_keys({"capacity_kib", "banks"});
  spec.m_pmu.capacity_kib = pmu.at("capacity_kib").as_double({0, 1024.0 * 1024.0, true, false});
  spec.m_pmu.banks = read_count(pmu.at("banks"), 1, 1024);

  const ConfigNode network = root.at("network");
  network.check_keys({"link_bytes_per_cycle", "hop_latency_cycles"});
  spec.m_network.link_bytes_per_cycle =
      network.at("link_bytes_per_cycle").as_double({0, 65536, true, false});
  spec.m_network.hop_latency_cycles = read_count(network.at("hop_latency_cycles"), 1, 1000);

  const ConfigNode energy = root.at("energy");
  energy.check_keys({"pj_per_flop", "pj_per_pmu_byte", "pj_per_hop_byte", "pj_per_dram_byte",
                     "static_w"});
  spec.m_energy.pj_per_flop = energy.at("pj_per_flop").as_double(Bounds::at_least(0));
  spec.m_energy.pj_per_pmu_byte = energy.at("pj_per_pmu_byte").as_double(Bounds::at_least(0));
  spec.m_energy.pj_per_hop_byte = energy.at("pj_per_hop_byte").as_double(Bounds::at_least(0));
  spec.m_energy.pj_per_dram_byte = energy.at("pj_per_dram_byte").as_double(Bounds::at_least(0));
  spec.m_energy.static_w = energy.at("static_w").as_double(Bounds::at_least(0));

  const ConfigNode agcu = root.at("agcu");
  agcu.check_keys({"count"});
  const ConfigNode agcu_count = agcu.at("count");
  spec.m_agcu.count = read_count(agcu_count, 1, 4 * k_max_grid);
  // AGCUs sit on the left and right edges of a tile, one per row and side.
  if (spec.m_agcu.count > 2 * spec.m_tile.rows) {
    agcu_count.fail(fmt::format("{} AGCUs per tile do not fit on the two edges of a tile of {} "
                                "rows; expected at most {}",
                                spec.m_agcu.count, spec.m_tile.rows, 2 * spec.m_tile.rows));
  }

  const ConfigNode memory = root.at("memory");
  memory.check_keys({"tiers"});
  const ConfigNode tiers = memory.at("tiers");
  std::set<std::string> tier_names;
  for (const auto& tier_node : tiers.elements()) {
    MemoryTier tier = read_tier(tier_node, spec.m_energy.pj_per_dram_byte);
    if (!tier_names.insert(tier.name).second) {
      tier_node.at("name").fail(fmt::format("memory tier '{}' is defined twice", tier.name));
    }
    spec.m_tiers.push_back(std::move(tier));
  }
  if (spec.m_tiers.empty()) tiers.fail_expected("at least one memory tier");

  spec.m_reconfig_cycles = static_cast<long>(root.at("reconfig_cycles").as_int(Bounds::at_least(0)));

  const ConfigNode area = root.at("area");
  area.check_keys({"pcu_mm2", "pmu_mm2", "switch_mm2", "agcu_mm2", "uncore_mm2"});
  spec.m_area.pcu_mm2 = area.at("pcu_mm2").as_double(Bounds::above(0));
  spec.m_area.pmu_mm2 = area.at("pmu_mm2").as_double(Bounds::above(0));
  spec.m_area.switch_mm2 = area.at("switch_mm2").as_double(Bounds::at_least(0));
  spec.m_area.agcu_mm2 = area.at("agcu_mm2").as_double(Bounds::at_least(0));
  spec.m_area.uncore_mm2 = area.double_or("uncore_mm2", 0.0, Bounds::at_least(0));

  check_layout_fits(spec, tile_node);
  return spec;
}

Spec Spec::load_file(const std::filesystem::path& path,
                     std::span<const core::Override> overrides) {
  return load(ConfigNode::load_file(path, overrides));
}

char Spec::unit_at(int x, int y) const {
  switch (m_tile.layout) {
    case Layout::checkerboard: return (x + y) % 2 == 0 ? 'C' : 'M';
    case Layout::columns: return x % 2 == 0 ? 'C' : 'M';
    case Layout::custom:
      return m_tile.pattern[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)];
  }
  return '.';
}

core::Json Spec::to_json() const {
  core::Json tile = {{"rows", m_tile.rows}, {"cols", m_tile.cols},
                     {"layout", to_string(m_tile.layout)}};
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
  return {
      {"name", m_name},
      {"clock_ghz", m_clock_ghz},
      {"tiles", m_tiles},
      {"tile", tile},
      {"pcu", {{"lanes", m_pcu.lanes}, {"stages", m_pcu.stages},
               {"precision", to_string(m_pcu.precision)}}},
      {"pmu", {{"capacity_kib", m_pmu.capacity_kib}, {"banks", m_pmu.banks}}},
      {"network", {{"link_bytes_per_cycle", m_network.link_bytes_per_cycle},
                   {"hop_latency_cycles", m_network.hop_latency_cycles}}},
      {"agcu", {{"count", m_agcu.count}}},
      {"memory", {{"tiers", tiers}}},
      {"reconfig_cycles", m_reconfig_cycles},
      {"energy", {{"pj_per_flop", m_energy.pj_per_flop},
                  {"pj_per_pmu_byte", m_energy.pj_per_pmu_byte},
                  {"pj_per_hop_byte", m_energy.pj_per_hop_byte},
                  {"pj_per_dram_byte", m_energy.pj_per_dram_byte},
                  {"static_w", m_energy.static_w}}},
      {"area", {{"pcu_mm2", m_area.pcu_mm2}, {"pmu_mm2", m_area.pmu_mm2},
                {"switch_mm2", m_area.switch_mm2}, {"agcu_mm2", m_area.agcu_mm2},
                {"uncore_mm2", m_area.uncore_mm2}}},
  };
}

std::string Spec::hash() const { return core::stable_hash(to_json().dump()); }

}  // namespace rdasim::arch
