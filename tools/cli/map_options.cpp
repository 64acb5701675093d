// The options `rdasim map` and `rdasim sim` share, and their reporting helpers.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "mapper/infeasible.h"
#include "mapper/report.h"
#include "tools/cli/commands.h"

namespace rdasim::tools {

void add_map_inputs(CLI::App* cmd, MapInputs& in, const std::string& model_help) {
  cmd->add_option("MODEL", in.models, model_help)->required();
  cmd->add_option("-p,--param", in.params, "A workload parameter or a model's symbolic dimension (repeatable)")
      ->type_name("NAME=VALUE");
  auto* arch = cmd->add_option("--arch", in.arch,
                               "The fabric: a file (configs/arch/*.yaml) or a preset's name (sn10, sn40l, ...)")
                   ->type_name("FILE|NAME");
  auto* system = cmd->add_option("--system", in.system,
                                 "Instead of --arch: a system of RDAs (configs/systems/*.yaml). Each socket maps its "
                                 "shard (or its share of the applications) onto its chip; collectives run on the "
                                 "system's links")
                     ->type_name("FILE")
                     ->excludes(arch);
  add_split_options(cmd, system, in.split, true);
  cmd->add_option("--set", in.sets,
                  "Override a fabric key, e.g. --set pcu.lanes=32, or with --system a system key, e.g. "
                  "--set interconnect.link_bandwidth_gbps=100 (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--mode", in.mode, "o1: fuse ops into sections (default); o0: one op per section")
      ->check(CLI::IsMember({"o0", "o1"}))
      ->capture_default_str();
  cmd->add_option("--tiles-per-app", in.tiles_per_app,
                  "Tiles for each application (default: the chip shared out evenly; bands of rows when there are more "
                  "applications than tiles)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rows-per-app", in.rows_per_app,
                  "Rows of a tile for each application: tenants smaller than a tile share it in bands of rows")
      ->check(CLI::PositiveNumber)
      ->excludes("--tiles-per-app");
  cmd->add_option("--seed", in.seed, "Seed of METIS and of placement's annealing (same seed, same mapping)")
      ->capture_default_str();
  in.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cmd->add_option("-j,--jobs", in.jobs,
                  "Worker processes at once: one application's distinct sections are placed side by side (alike ones "
                  "take one layout; several applications are placed in one process) and, simulating a tenant alone on "
                  "its chip, simulated side by side. Results do not depend on it")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
}

void add_split_options(CLI::App* cmd, CLI::Option* system, SystemSplit& split, bool micro_batches,
                       const std::string& devices_help) {
  cmd->add_option("--devices", split.devices, devices_help)->check(CLI::Range(1, 4096))->needs(system)->type_name("N");
  cmd->add_option("--tp", split.parallelism.tp,
                  "With --system: tensor-parallel degree (Megatron-style column and row splits, an all-reduce after "
                  "each row-parallel product)")
      ->check(CLI::Range(1, 4096))
      ->needs(system);
  cmd->add_option("--pp", split.parallelism.pp, "With --system: pipeline stages (contiguous, balanced by FLOPs)")
      ->check(CLI::Range(1, 4096))
      ->needs(system);
  cmd->add_option("--dp", split.parallelism.dp,
                  "With --system: data-parallel replicas, each with its share of the batch. With no split given, "
                  "several applications are spread over the devices and one runs data parallel on all of them")
      ->check(CLI::Range(1, 4096))
      ->needs(system);
  if (micro_batches) {
    cmd->add_option("--micro-batches", split.micro_batches, "With --system: micro-batches through the pipeline")
        ->check(CLI::Range(1, 1 << 20))
        ->needs(system);
  }
}

int run_system_command(const MapInputs& inputs, bool simulate, const std::string& out, bool json) {
  SystemRun run;
  try {
    run = run_inputs_on_system(inputs, simulate);
  } catch (const mapper::Infeasible& e) {
    return report_infeasible(e, arch::Fabric(*load_system(inputs).fabric));
  }
  const core::Json report = run.to_json();
  if (!out.empty()) {
    const auto dir = prepare_out_dir(out);
    core::write_json_file(dir / (simulate ? "report.json" : "system.json"), report);
    core::write_text_file(dir / "trace.json", system_trace(run).dump());
    const arch::SystemSpec system = load_system(inputs);
    const arch::Fabric fabric(*system.fabric);
    for (const auto& segment : run.segments) {
      const auto folder = dir / segment.name;
      std::filesystem::create_directories(folder);
      const mapper::Mapping mapping = segment.named_mapping();
      core::write_json_file(folder / "mapping.json", mapper::to_json(mapping));
      core::write_text_file(folder / "placement.txt", mapper::placement_text(mapping, fabric));
    }
    core::log::info("wrote {}, trace.json and {} segments' mapping.json and placement.txt in {}",
                    simulate ? "report.json" : "system.json", run.segments.size(), dir.string());
  }
  if (json) fmt::print("{}", core::to_json_text(report));
  else fmt::print("{}", system_report_text(run));
  return 0;
}

int report_infeasible(const std::exception& infeasible, const arch::Fabric& fabric) {
  fmt::print(stderr, "rdasim: cannot map onto {}: {}\n", fabric.spec().name(), infeasible.what());
  if (const auto* e = dynamic_cast<const mapper::Infeasible*>(&infeasible)) {
    for (const auto& reason : e->reasons()) fmt::print(stderr, "  {}\n", reason);
  }
  return 1;
}

std::filesystem::path prepare_out_dir(const std::string& out) {
  const std::filesystem::path dir = out;
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
    throw core::InputError(core::Location(fmt::format("--out {}", out)), "exists and is not a folder");
  }
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw core::InputError(core::Location(fmt::format("--out {}", out)),
                           fmt::format("cannot create it: {}", ec.message()));
  return dir;
}

}  // namespace rdasim::tools
