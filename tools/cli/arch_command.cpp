// `rdasim arch`: fabric descriptions. `arch show` validates a preset and prints what it amounts
// to: units, SRAM, peak FLOP/s, off-chip bandwidth, machine balance, area, power, a tile picture.
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "arch/fabric.h"
#include "arch/fabric_svg.h"
#include "arch/summary.h"
#include "arch/tile_picture.h"
#include "core/files.h"
#include "core/json.h"
#include "core/log.h"
#include "core/text.h"
#include "core/units.h"
#include "tools/cli/commands.h"

namespace rdasim::tools {

namespace {

struct ShowOptions {
  std::string file;
  std::vector<std::string> sets;
  bool json = false;
  std::string svg;
};

void print_text(const arch::Fabric& fabric, const arch::Summary& s) {
  using core::format_bytes;
  using core::format_si;
  const auto& spec = fabric.spec();
  auto row = [](const char* label, const std::string& value) { fmt::print("  {:<16} {}\n", label, value); };
  fmt::print("{}  ({}, config {})\n", s.name, s.source, s.config_hash);
  row("clock", fmt::format("{} GHz, {} tile{} in a {} x {} grid", spec.clock_ghz(), s.tiles, s.tiles == 1 ? "" : "s",
                           fabric.tile_grid_rows(), fabric.tile_grid_cols()));
  row("units", fmt::format("{} PCU, {} PMU, {} switch, {} AGCU; {} directed links", s.pcus, s.pmus, s.switches, s.agcus,
                           s.links));
  row("PCU", fmt::format("{} lanes x {} stages, {}", spec.pcu().lanes, spec.pcu().stages, s.precision));
  row("peak compute", format_si(s.peak_flops, "FLOP/s"));
  row("on-chip SRAM", fmt::format("{} in {} PMUs of {} ({} banks); {}", format_bytes(s.sram_bytes), s.pmus,
                                  format_bytes(spec.pmu().capacity_kib * core::k_kib), spec.pmu().banks,
                                  format_si(s.sram_bytes_per_s, "B/s")));
  for (const auto& t : s.tiers) {
    row(("off-chip " + t.name).c_str(),
        fmt::format("{}: {} peak, {} sustained, {}, {} ns; balance {:.4g} FLOP/B", t.kind,
                    format_si(t.peak_bytes_per_s, "B/s"), format_si(t.sustained_bytes_per_s, "B/s"),
                    format_bytes(t.capacity_bytes), t.latency_ns, t.balance_flop_per_byte));
  }
  row("machine balance", fmt::format("{:.4g} FLOP per off-chip byte ({} in all tiers)", s.machine_balance,
                                     format_si(s.offchip_bytes_per_s, "B/s")));
  row("network", fmt::format("{} B/cycle links, {} cycle(s) per hop; bisection {}", spec.network().link_bytes_per_cycle,
                             spec.network().hop_latency_cycles, format_si(s.bisection_bytes_per_s, "B/s")));
  row("reconfiguration", fmt::format("{} cycles", spec.reconfig_cycles()));
  row("area",
      fmt::format("{:.1f} mm2 (PCU {:.1f}, PMU {:.1f}, switch {:.1f}, AGCU {:.1f}, "
                  "uncore {:.1f})",
                  s.area_mm2, s.area_pcu_mm2, s.area_pmu_mm2, s.area_switch_mm2, s.area_agcu_mm2, s.area_uncore_mm2));
  row("peak power", fmt::format("{:.1f} W (static {:.1f}, compute {:.1f}, SRAM {:.1f})", s.power_peak_w,
                                s.power_static_w, s.power_compute_w, s.power_sram_w));
  fmt::print("\n{}", arch::tile_picture(fabric, 0));
}

int run_show(const ShowOptions& opt) {
  std::vector<core::Override> overrides;
  for (const auto& text : opt.sets) overrides.push_back(core::Override::parse(text));
  const arch::Fabric fabric(arch::Spec::load_file(opt.file, overrides));
  for (const auto& warning : fabric.spec().warnings()) core::log::warn("{}: {}", opt.file, warning);
  const arch::Summary summary = arch::summarize(fabric);
  if (!opt.svg.empty()) {
    std::error_code ec;
    if (std::filesystem::equivalent(opt.svg, opt.file, ec)) {
      throw core::InputError(core::Location(opt.svg), "the SVG would overwrite the fabric description it draws");
    }
    core::write_text_file(opt.svg, arch::fabric_svg(fabric));
    core::log::info("wrote {}", opt.svg);
  }
  if (opt.json) {
    core::Json doc = arch::to_json(summary);
    doc["warnings"] = fabric.spec().warnings();
    doc["spec"] = fabric.spec().to_json();
    fmt::print("{}", core::to_json_text(doc));
  } else {
    print_text(fabric, summary);
  }
  return 0;
}

}  // namespace

int print_schema_keys(const core::Schema& schema, const std::string& format) {
  if (format == "json") {
    fmt::print("{}", core::to_json_text(schema.describe()));
  } else if (format == "markdown") {
    fmt::print("{}", schema.describe_markdown());
  } else {
    const core::Json described = schema.describe();
    for (const auto& key : described["keys"]) {
      std::string detail = key["type"].get<std::string>();
      if (key.contains("unit")) detail += ", " + key["unit"].get<std::string>();
      if (key.contains("allowed")) detail += ", " + key["allowed"].get<std::string>();
      detail += key.contains("default") ? ", default " + key["default"].get<std::string>()
                                        : ", " + key["presence"].get<std::string>();
      fmt::print("{:<32} {}\n{:<32}   {}\n", key["key"].get<std::string>(), detail, "",
                 key["description"].get<std::string>());
    }
  }
  return 0;
}

void add_keys_command(CLI::App* parent, Runner& run, const core::Schema& schema, const std::string& what,
                      const std::string& readme) {
  auto format = std::make_shared<std::string>("text");
  auto* keys = parent->add_subcommand(
      "keys", fmt::format("List every key of the {} format: type, unit, allowed range, default, meaning", what));
  keys->add_option("--format", *format, fmt::format("text, json or markdown ({} is the markdown)", readme))
      ->check(CLI::IsMember({"text", "json", "markdown"}));
  keys->callback([&run, &schema, format] { run = [&schema, format] { return print_schema_keys(schema, *format); }; });
}

void add_arch_command(CLI::App& app, Runner& run) {
  auto* arch_cmd = app.add_subcommand("arch", "Fabric descriptions: validate, summarize, document");
  arch_cmd->require_subcommand(1);

  add_keys_command(arch_cmd, run, arch::Spec::schema(), "fabric", "configs/arch/README.md");

  auto opt = std::make_shared<ShowOptions>();
  auto* show = arch_cmd->add_subcommand(
      "show",
      "Validate a fabric description and print its resources: units per kind, on-chip SRAM, "
      "peak FLOP/s, off-chip bandwidth per memory tier, machine balance, area, peak power and a "
      "picture of one tile");
  show->add_option("FILE", opt->file, "Fabric description (YAML), e.g. configs/arch/sn10.yaml")->required();
  show->add_option("--set", opt->sets,
                   "Override a key before validation, e.g. --set pcu.lanes=32 or "
                   "--set memory.tiers.0.bandwidth_gbps=200 (repeatable)")
      ->type_name("KEY=VALUE");
  show->add_flag("--json", opt->json, "Print machine-readable JSON (summary and resolved spec)");
  show->add_option("--svg", opt->svg, "Also draw the whole chip as an SVG picture to this file")->type_name("FILE");
  show->callback([&run, opt] { run = [opt] { return run_show(*opt); }; });
}

}  // namespace rdasim::tools
