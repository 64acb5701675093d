// `rdasim map MODEL --arch FILE`: lower a model (or each application of a workload) onto a
// fabric, cut it into sections, and report units, SRAM, DRAM traffic and analytic time.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arch/fabric.h"
#include "arch/summary.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/text.h"
#include "graphs/transforms.h"
#include "mapper/mapping.h"
#include "tools/cli/commands.h"

namespace rdasim::tools {

namespace {

struct MapCliOptions {
  std::string model;
  std::vector<std::string> params;
  std::string arch;
  std::vector<std::string> sets;
  std::string mode = "o1";
  int tiles_per_app = 0;
  std::string out;
  bool json = false;
};

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

std::string placement_text(const mapper::Mapping& m, const arch::Fabric& fabric) {
  std::string text = fmt::format("# {} on {} ({}), mode {}\n", m.tenants.size() == 1 ? m.tenants[0].name : "tenants",
                                 m.arch, m.arch_hash, m.mode);
  const double clock = fabric.spec().clock_ghz() * 1e9;
  for (const auto& t : m.tenants) {
    text += fmt::format("\ntenant {} on tiles {}: {}, {}\n", t.name, fmt::join(t.tiles, ","),
                        core::plural(t.sections.size(), "section"), core::format_si(t.cycles() / clock, "s"));
    for (std::size_t k = 0; k < t.sections.size(); ++k) {
      const auto& s = t.sections[k];
      const char* bound = s.network_cycles > std::max(s.compute_cycles, s.memory_cycles) ? "network"
                          : s.compute_cycles >= s.memory_cycles                       ? "compute"
                                                                                      : "memory";
      text += fmt::format("  section {}: {} PCUs, {} PMUs, weights {}, DRAM read {} write {}, {:.0f} cycles ({} bound)\n"
                          "    compute {:.0f}, memory {:.0f}, network {:.0f}, reconfiguration {:.0f} cycles; {} streams, "
                          "{:.4g} byte-hops, routed in {} round{} ({} links over capacity)\n",
                          k, s.pcus, s.pmus, core::format_bytes(s.weight_bytes), core::format_si(s.dram_read_bytes, "B", 4),
                          core::format_si(s.dram_write_bytes, "B", 4), s.cycles(), bound, s.compute_cycles,
                          s.memory_cycles, s.network_cycles, s.reconfig_cycles, s.streams.size(), s.placement_cost,
                          s.route_rounds, s.route_rounds == 1 ? "" : "s", s.overused_links);
      for (const auto& o : s.ops) {
        if (o.engine == "none") continue;
        text += fmt::format("    {:<40} {:<18} {:<7} x{:<4} {:>3} PMU{} {:>12.0f} cycles/stage  units {}\n",
                            core::printable(o.name, 40), o.kind, o.engine, o.parallel, o.buffer_pmus,
                            o.weights_streamed ? " (weights streamed)" : "", o.parallel > 0 ? o.cycles / o.parallel : o.cycles,
                            unit_list(o.units, fabric));
      }
    }
  }
  return text;
}

void print_summary(const mapper::Mapping& m, const arch::Fabric& fabric) {
  const auto summary = arch::summarize(fabric);
  const double clock = fabric.spec().clock_ghz() * 1e9;
  fmt::print("{:<24} {:>8} {:>6} {:>6} {:>11} {:>11} {:>11} {:>12}\n", "tenant", "sections", "PCUs", "PMUs", "SRAM",
             "DRAM", "time", "FLOP/s");
  double total_cycles = 0, total_flops = 0, total_dram = 0;
  std::size_t sections = 0;
  for (const auto& t : m.tenants) {
    int pcus = 0, pmus = 0;
    double sram = 0, dram = 0, flops = 0;
    for (const auto& s : t.sections) {
      pcus = std::max(pcus, s.pcus);
      pmus = std::max(pmus, s.pmus);
      sram = std::max(sram, s.weight_bytes);
      dram += s.dram_read_bytes + s.dram_write_bytes;
      flops += s.flops;
    }
    const double seconds = t.cycles() / clock;
    fmt::print("{:<24} {:>8} {:>6} {:>6} {:>11} {:>11} {:>11} {:>12}\n", core::printable(t.name, 24), t.sections.size(),
               pcus, pmus, core::format_bytes(sram), core::format_si(dram, "B", 4), core::format_si(seconds, "s", 4),
               core::format_si(flops / seconds, "FLOP/s", 3));
    total_cycles = std::max(total_cycles, t.cycles());  // tenants run side by side
    total_flops += flops;
    total_dram += dram;
    sections += t.sections.size();
  }
  const double seconds = total_cycles / clock;
  fmt::print("\n{} on {} ({}): {} ({}), DRAM traffic {}, analytic time {}, {} = {:.1f}% of peak\n",
             m.tenants.size() == 1 ? m.tenants[0].name : fmt::format("{} tenants", m.tenants.size()), m.arch, m.mode,
             core::plural(sections, "section"), core::plural(sections, "reconfiguration"), core::format_si(total_dram, "B"),
             core::format_si(seconds, "s"),
             core::format_si(total_flops / seconds, "FLOP/s"), 100.0 * total_flops / seconds / summary.peak_flops);
  fmt::print("(analytic: per section the slowest of the pipeline's slowest stage, the off-chip traffic and the "
             "busiest link, plus reconfiguration)\n");
}

int run_map(const MapCliOptions& opt) {
  std::vector<core::Override> overrides;
  for (const auto& text : opt.sets) overrides.push_back(core::Override::parse(text));
  const arch::Fabric fabric(arch::Spec::load_file(opt.arch, overrides));
  auto workload = load_model_argument(opt.model, opt.params);
  // The mapper places primitives: recurrences are unrolled first.
  for (auto& app : workload.apps) app = graphs::expand_recurrent(app);
  mapper::MapOptions options;
  options.mode = opt.mode == "o0" ? mapper::Mode::o0 : mapper::Mode::o1;
  options.tiles_per_app = opt.tiles_per_app;
  const auto mapping = mapper::map_applications(workload.apps, fabric, options);
  if (const auto problems = mapper::check(mapping, fabric); !problems.empty()) {
    throw core::InternalError(fmt::format("the mapping fails its own check: {}", problems.front()));
  }
  if (!opt.out.empty()) {
    const std::filesystem::path dir = opt.out;
    std::error_code ec;
    if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
      throw core::InputError(core::Location(fmt::format("--out {}", opt.out)), "exists and is not a folder");
    }
    std::filesystem::create_directories(dir, ec);
    if (ec) throw core::InputError(core::Location(fmt::format("--out {}", opt.out)), fmt::format("cannot create it: {}", ec.message()));
    core::write_json_file(dir / "mapping.json", mapper::to_json(mapping));
    core::write_text_file(dir / "placement.txt", placement_text(mapping, fabric));
    core::log::info("wrote {} and {}", (dir / "mapping.json").string(), (dir / "placement.txt").string());
  }
  if (opt.json) fmt::print("{}", core::to_json_text(mapper::to_json(mapping)));
  else print_summary(mapping, fabric);
  return 0;
}

}  // namespace

void add_map_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<MapCliOptions>();
  auto* cmd = app.add_subcommand(
      "map", "Lower a model onto a fabric: sections, PCUs and PMUs per op, DRAM traffic and an analytic time");
  cmd->add_option("MODEL", opt->model, "An ONNX model, a YAML graph or a built-in workload (rdasim workloads)")->required();
  cmd->add_option("-p,--param", opt->params, "A workload parameter or a model's symbolic dimension (repeatable)")
      ->type_name("NAME=VALUE");
  cmd->add_option("--arch", opt->arch, "The fabric (configs/arch/*.yaml)")->required()->type_name("FILE");
  cmd->add_option("--set", opt->sets, "Override a fabric key, e.g. --set pcu.lanes=32 (repeatable)")->type_name("KEY=VALUE");
  cmd->add_option("--mode", opt->mode, "o1: fuse ops into sections (default); o0: one op per section")
      ->check(CLI::IsMember({"o0", "o1"}))
      ->capture_default_str();
  cmd->add_option("--tiles-per-app", opt->tiles_per_app,
                  "Tiles for each application of a multi-application workload (default: the chip shared out evenly)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", opt->out, "Write mapping.json and placement.txt here")->type_name("DIR");
  cmd->add_flag("--json", opt->json, "Print the mapping as JSON");
  cmd->callback([&run, opt] { run = [opt] { return run_map(*opt); }; });
}

}  // namespace rdasim::tools
