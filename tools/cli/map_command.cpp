// `rdasim map MODEL... --arch FILE`: lower models (each application of a workload, every
// MODEL argument, or a deployment file's applications) onto disjoint regions of a fabric, cut
// them into sections, place and route them, and report units, SRAM, DRAM traffic and analytic
// time. Requests the fabric cannot hold end with status 1 and one reason per failing op.
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
#include "mapper/infeasible.h"
#include "mapper/mapping.h"
#include "mapper/report.h"
#include "tools/cli/commands.h"

namespace rdasim::tools {

namespace {

struct MapCliOptions {
  MapInputs inputs;
  std::string out;
  bool json = false;
};

void print_summary(const mapper::Mapping& m, const arch::Fabric& fabric) {
  const auto summary = arch::summarize(fabric);
  const double clock = fabric.spec().clock_ghz() * 1e9;
  fmt::print("{:<24} {:>8} {:>6} {:>6} {:>11} {:>11} {:>11} {:>12}\n", "tenant", "sections", "PCUs", "PMUs", "SRAM",
             "DRAM", "time", "FLOP/s");
  double total_cycles = 0, total_flops = 0, total_dram = 0;
  std::size_t sections = 0;
  for (const auto& t : m.tenants) {
    int pcus = 0, pmus = 0;
    double sram = 0;
    for (const auto& s : t.sections) {
      pcus = std::max(pcus, s.pcus);
      pmus = std::max(pmus, s.pmus);
      sram = std::max(sram, s.weight_bytes);
    }
    const auto sum = mapper::totals(t.sections);
    const double seconds = sum.cycles / clock;
    fmt::print("{:<24} {:>8} {:>6} {:>6} {:>11} {:>11} {:>11} {:>12}\n", core::printable(t.name, 24), t.sections.size(),
               pcus, pmus, core::format_bytes(sram), core::format_si(sum.dram_bytes, "B", 4),
               core::format_si(seconds, "s", 4), core::format_si(sum.flops / seconds, "FLOP/s", 3));
    total_cycles = std::max(total_cycles, sum.cycles);  // tenants run side by side
    total_flops += sum.flops;
    total_dram += sum.dram_bytes;
    sections += t.sections.size();
  }
  // Tenants share the off-chip bandwidth: all their traffic together bounds the total too.
  const bool dram_shared_bound = mapper::analytic_cycles(m, fabric.spec()) > total_cycles;
  total_cycles = mapper::analytic_cycles(m, fabric.spec());
  const double seconds = total_cycles / clock;
  fmt::print("\n{} on {} ({}): {} ({}), DRAM traffic {}, analytic time {}, {} = {:.1f}% of peak\n",
             m.tenants.size() == 1 ? m.tenants[0].name : fmt::format("{} tenants", m.tenants.size()), m.arch,
             to_string(m.mode), core::plural(sections, "section"), core::plural(sections, "reconfiguration"),
             core::format_si(total_dram, "B"), core::format_si(seconds, "s"),
             core::format_si(total_flops / seconds, "FLOP/s"), 100.0 * total_flops / seconds / summary.peak_flops);
  fmt::print(
      "(analytic: per section the slowest of the pipeline's slowest stage, the off-chip traffic and the "
      "busiest link, plus reconfiguration{})\n",
      dram_shared_bound ? "; here the tenants' DRAM traffic together, at the chip's bandwidth, is the bound" : "");
}

int run_map(const MapCliOptions& opt) {
  if (!opt.inputs.system.empty()) return run_system_command(opt.inputs, false, opt.out, opt.json);
  const arch::Fabric fabric = load_fabric(opt.inputs);
  mapper::Mapping mapping;
  try {
    mapping = map_inputs(opt.inputs, fabric);
  } catch (const mapper::Infeasible& e) {
    return report_infeasible(e, fabric);
  }
  if (const auto problems = mapper::check(mapping, fabric); !problems.empty()) {
    throw core::InternalError(fmt::format("the mapping fails its own check: {}", problems.front()));
  }
  if (!opt.out.empty()) {
    const auto dir = prepare_out_dir(opt.out);
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
  add_map_inputs(cmd, opt->inputs,
                 "ONNX models, YAML graphs, built-in workloads (rdasim workloads) or deployment files "
                 "(configs/deployments/*.yaml); each application becomes a tenant");
  cmd->add_option("--out", opt->out, "Write mapping.json, placement.txt and placement.svg here")->type_name("DIR");
  cmd->add_flag("--json", opt->json, "Print the mapping as JSON");
  cmd->callback([&run, opt] { run = [opt] { return run_map(*opt); }; });
}

}  // namespace rdasim::tools
