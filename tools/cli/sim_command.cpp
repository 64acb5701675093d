// `rdasim sim MODEL...|mapping.json --arch FILE`: map the models (or read a mapping made by
// `rdasim map`) and run it on the SystemC model of the fabric: time per tenant and section,
// unit and link activity, memory traffic, energy. Writes report.json and trace.json (Chrome
// trace format, for Perfetto) with --out.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "mapper/infeasible.h"
#include "sim/cycle/simulate.h"
#include "tools/cli/commands.h"

namespace rdasim::tools {

namespace {

struct SimCliOptions {
  MapInputs inputs;
  std::string out;
  bool json = false;
  int chunk = sim::TokenOptions{}.chunk;
  int min_tokens = sim::TokenOptions{}.min_tokens;
  int max_tokens = sim::TokenOptions{}.max_tokens;
  bool alone = true;
  bool replay = true;
};

bool is_mapping_file(const std::string& path) { return path.size() > 5 && path.substr(path.size() - 5) == ".json"; }

int run_sim(const SimCliOptions& opt) {
  if (!opt.inputs.system.empty()) return run_system_command(opt.inputs, true, opt.out, opt.json);
  const arch::Fabric fabric = load_fabric(opt.inputs);
  mapper::Mapping mapping;
  const auto& models = opt.inputs.models;
  if (is_mapping_file(models.front())) {
    if (models.size() > 1) {
      throw core::InputError(core::Location(models[1]), "a mapping.json already holds every tenant: give it alone");
    }
    mapping = mapper::mapping_from_json(core::read_json_file(models.front()), models.front());
    if (const auto problems = mapper::check(mapping, fabric); !problems.empty()) {
      throw core::InputError(core::Location(models.front()),
                             fmt::format("does not fit --arch {}: {}", opt.inputs.arch, problems.front()));
    }
  } else {
    try {
      mapping = map_inputs(opt.inputs, fabric);
    } catch (const mapper::Infeasible& e) {
      return report_infeasible(e, fabric);
    }
  }
  sim::SimOptions options;
  options.tokens.chunk = opt.chunk;
  options.tokens.min_tokens = opt.min_tokens;
  options.tokens.max_tokens = opt.max_tokens;
  options.alone = opt.alone;
  options.replay = opt.replay;
  options.jobs = opt.inputs.jobs;
  options.trace = !opt.out.empty();
  options.progress = progress_logger("simulated", "sections");
  const auto result = sim::simulate_here(mapping, fabric, options);
  if (!opt.out.empty()) {
    const auto dir = prepare_out_dir(opt.out);
    core::write_json_file(dir / "report.json", sim::to_json(result.report));
    core::write_text_file(dir / "trace.json", result.trace.dump());  // compact: traces run to many MB
    core::write_json_file(dir / "mapping.json", mapper::to_json(mapping));
    core::log::info("wrote report.json, trace.json (open it in https://ui.perfetto.dev) and mapping.json in {}",
                    dir.string());
  }
  if (opt.json) fmt::print("{}", core::to_json_text(sim::to_json(result.report)));
  else fmt::print("{}", sim::summary_text(result.report));
  return 0;
}

}  // namespace

void add_sim_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<SimCliOptions>();
  auto* cmd = app.add_subcommand(
      "sim",
      "Simulate models (mapped first, as `rdasim map` would) or a mapping.json on the SystemC model of a fabric: "
      "cycles and seconds per tenant and section, unit busy and stall fractions, link and memory traffic, energy "
      "and power. Several tenants run side by side, sharing the memory; each is also run alone for its slowdown");
  add_map_inputs(cmd, opt->inputs,
                 "A mapping.json from `rdasim map`, or models as for `rdasim map`: ONNX models, YAML graphs, built-in "
                 "workloads or deployment files");
  cmd->add_option("--chunk", opt->chunk,
                  "Vectors per token: smaller is more exact and slower (results converge as it shrinks)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--min-tokens", opt->min_tokens, "Tokens per section at least (fewer only when it has fewer vectors)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-tokens", opt->max_tokens,
                  "Tokens per section at most: a longer section's chunk doubles until it has no more")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_flag("!--no-replay", opt->replay,
                "Simulate every section, also one alike to a section the tenant ran already alone on its chip (by "
                "default it takes that one's record: same time, same work)");
  cmd->add_flag("!--no-alone", opt->alone, "With several tenants, skip simulating each alone (no slowdown)");
  cmd->add_option("--out", opt->out, "Write report.json, trace.json (Chrome trace format) and mapping.json here")
      ->type_name("DIR");
  cmd->add_flag("--json", opt->json, "Print report.json instead of the summary");
  cmd->callback([&run, opt] { run = [opt] { return run_sim(*opt); }; });
}

}  // namespace rdasim::tools
