// `rdasim map MODEL... --arch FILE`: lower models (each application of a workload, every
// MODEL argument, or a deployment file's applications) onto disjoint regions of a fabric, cut
// them into sections, place and route them, and report units, SRAM, DRAM traffic and analytic
// time. Requests the fabric cannot hold end with status 1 and one reason per failing op.
#include <chrono>
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
#include "mapper/infeasible.h"
#include "mapper/mapping.h"
#include "mapper/report.h"
#include "tools/cli/commands.h"
#include "tools/cli/deployment.h"

namespace rdasim::tools {

namespace {

struct MapCliOptions {
  std::vector<std::string> models;
  std::vector<std::string> params;
  std::string arch;
  std::vector<std::string> sets;
  std::string mode = "o1";
  int tiles_per_app = 0;
  int rows_per_app = 0;
  std::uint64_t seed = 1;
  std::string out;
  bool json = false;
};

/// Every MODEL argument's applications; a deployment file brings its own sizes, the others get
/// --tiles-per-app or --rows-per-app (or an even share).
Deployment load_applications(const MapCliOptions& opt) {
  Deployment all;
  const mapper::RegionRequest request{opt.tiles_per_app, opt.rows_per_app};
  for (const auto& model : opt.models) {
    Deployment part;
    if (is_deployment_file(model)) {
      part = load_deployment(model);
      for (auto& r : part.regions) {
        if (r.tiles == 0 && r.rows == 0) r = request;
      }
    } else {
      auto w = load_model_argument(model, opt.params);
      for (auto& app : w.apps) {
        part.apps.push_back(std::move(app));
        part.regions.push_back(request);
      }
    }
    append(all, std::move(part));
  }
  // The mapper places primitives: recurrences are unrolled first.
  for (auto& app : all.apps) app = graphs::expand_recurrent(app);
  return all;
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
  // Tenants share the off-chip bandwidth: all their traffic together bounds the total too.
  const double shared_dram_cycles = total_dram / mapper::dram_bytes_per_cycle(fabric.spec());
  const bool dram_shared_bound = m.tenants.size() > 1 && shared_dram_cycles > total_cycles;
  total_cycles = std::max(total_cycles, shared_dram_cycles);
  const double seconds = total_cycles / clock;
  fmt::print("\n{} on {} ({}): {} ({}), DRAM traffic {}, analytic time {}, {} = {:.1f}% of peak\n",
             m.tenants.size() == 1 ? m.tenants[0].name : fmt::format("{} tenants", m.tenants.size()), m.arch, m.mode,
             core::plural(sections, "section"), core::plural(sections, "reconfiguration"), core::format_si(total_dram, "B"),
             core::format_si(seconds, "s"),
             core::format_si(total_flops / seconds, "FLOP/s"), 100.0 * total_flops / seconds / summary.peak_flops);
  fmt::print("(analytic: per section the slowest of the pipeline's slowest stage, the off-chip traffic and the "
             "busiest link, plus reconfiguration{})\n",
             dram_shared_bound ? "; here the tenants' DRAM traffic together, at the chip's bandwidth, is the bound" : "");
}

int run_map(const MapCliOptions& opt) {
  std::vector<core::Override> overrides;
  for (const auto& text : opt.sets) overrides.push_back(core::Override::parse(text));
  const arch::Fabric fabric(arch::Spec::load_file(opt.arch, overrides));
  const auto deployment = load_applications(opt);
  mapper::MapOptions options;
  options.mode = opt.mode == "o0" ? mapper::Mode::o0 : mapper::Mode::o1;
  options.regions = deployment.regions;
  options.seed = opt.seed;
  if (deployment.apps.size() > 1) {
    core::log::info("mapping {} applications onto {}", deployment.apps.size(), fabric.spec().name());
    // Many tenants take seconds: say how far it got, every few seconds.
    options.progress = [start = std::chrono::steady_clock::now(), last = std::chrono::steady_clock::now()](
                           std::size_t done, std::size_t total) mutable {
      const auto now = std::chrono::steady_clock::now();
      if (done == total || now - last < std::chrono::seconds(3)) return;
      last = now;
      core::log::info("mapped {} of {} applications ({:.0f} s)", done, total,
                      std::chrono::duration<double>(now - start).count());
    };
  }
  mapper::Mapping mapping;
  try {
    mapping = mapper::map_applications(deployment.apps, fabric, options);
  } catch (const mapper::Infeasible& e) {
    fmt::print(stderr, "rdasim: cannot map onto {}: {}\n", fabric.spec().name(), e.what());
    for (const auto& reason : e.reasons()) fmt::print(stderr, "  {}\n", reason);
    return 1;
  }
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
    core::write_text_file(dir / "placement.txt", mapper::placement_text(mapping, fabric));
    core::write_text_file(dir / "placement.svg", mapper::placement_svg(mapping, fabric));
    core::log::info("wrote mapping.json, placement.txt and placement.svg in {}", dir.string());
  }
  if (opt.json) fmt::print("{}", core::to_json_text(mapper::to_json(mapping)));
  else print_summary(mapping, fabric);
  return 0;
}

}  // namespace

void add_map_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<MapCliOptions>();
  auto* cmd = app.add_subcommand(
      "map",
      "Map models onto a fabric: sections, PCUs and PMUs per op, placement and routes, DRAM traffic and an analytic "
      "time. Several models (or a deployment file) map as isolated tenants on disjoint regions. Exit status 1 when "
      "the fabric cannot hold them, with a reason per failing op");
  cmd->add_option("MODEL", opt->models,
                  "ONNX models, YAML graphs, built-in workloads (rdasim workloads) or deployment files "
                  "(configs/deployments/*.yaml); each application becomes a tenant")
      ->required();
  cmd->add_option("-p,--param", opt->params, "A workload parameter or a model's symbolic dimension (repeatable)")
      ->type_name("NAME=VALUE");
  cmd->add_option("--arch", opt->arch, "The fabric (configs/arch/*.yaml)")->required()->type_name("FILE");
  cmd->add_option("--set", opt->sets, "Override a fabric key, e.g. --set pcu.lanes=32 (repeatable)")->type_name("KEY=VALUE");
  cmd->add_option("--mode", opt->mode, "o1: fuse ops into sections (default); o0: one op per section")
      ->check(CLI::IsMember({"o0", "o1"}))
      ->capture_default_str();
  cmd->add_option("--tiles-per-app", opt->tiles_per_app,
                  "Tiles for each application (default: the chip shared out evenly; bands of rows when there are more "
                  "applications than tiles)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rows-per-app", opt->rows_per_app,
                  "Rows of a tile for each application: tenants smaller than a tile share it in bands of rows")
      ->check(CLI::PositiveNumber)
      ->excludes("--tiles-per-app");
  cmd->add_option("--seed", opt->seed, "Seed of METIS and of placement's annealing (same seed, same mapping)")
      ->capture_default_str();
  cmd->add_option("--out", opt->out, "Write mapping.json, placement.txt and placement.svg here")->type_name("DIR");
  cmd->add_flag("--json", opt->json, "Print the mapping as JSON");
  cmd->callback([&run, opt] { run = [opt] { return run_map(*opt); }; });
}

}  // namespace rdasim::tools
