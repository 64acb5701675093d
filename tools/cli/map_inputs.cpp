#include "tools/cli/map_inputs.h"

#include <chrono>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "graphs/transforms.h"
#include "mapper/infeasible.h"
#include "tools/cli/commands.h"
#include "tools/cli/deployment.h"

namespace rdasim::tools {

namespace {

/// Every MODEL argument's applications; a deployment file brings its own sizes, the others get
/// --tiles-per-app or --rows-per-app (or an even share).
Deployment load_applications(const MapInputs& in) {
  Deployment all;
  const mapper::RegionRequest request{in.tiles_per_app, in.rows_per_app};
  for (const auto& model : in.models) {
    Deployment part;
    if (is_deployment_file(model)) {
      part = load_deployment(model);
      for (auto& r : part.regions) {
        if (r.tiles == 0 && r.rows == 0) r = request;
      }
    } else {
      auto w = load_model_argument(model, in.params);
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

}  // namespace

void add_map_inputs(CLI::App* cmd, MapInputs& in, const std::string& model_help) {
  cmd->add_option("MODEL", in.models, model_help)->required();
  cmd->add_option("-p,--param", in.params, "A workload parameter or a model's symbolic dimension (repeatable)")
      ->type_name("NAME=VALUE");
  cmd->add_option("--arch", in.arch, "The fabric (configs/arch/*.yaml)")->required()->type_name("FILE");
  cmd->add_option("--set", in.sets, "Override a fabric key, e.g. --set pcu.lanes=32 (repeatable)")->type_name("KEY=VALUE");
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
}

arch::Fabric load_fabric(const MapInputs& in) {
  std::vector<core::Override> overrides;
  for (const auto& text : in.sets) overrides.push_back(core::Override::parse(text));
  return arch::Fabric(arch::Spec::load_file(in.arch, overrides));
}

mapper::Mapping map_inputs(const MapInputs& in, const arch::Fabric& fabric) {
  const auto deployment = load_applications(in);
  mapper::MapOptions options;
  options.mode = in.mode == "o0" ? mapper::Mode::o0 : mapper::Mode::o1;
  options.regions = deployment.regions;
  options.seed = in.seed;
  if (deployment.apps.size() > 1) {
    core::log::info("mapping {} applications onto {}", deployment.apps.size(), fabric.spec().name());
    options.progress = progress_logger("mapped", "applications");  // many tenants take seconds
  }
  return mapper::map_applications(deployment.apps, fabric, options);
}

std::function<void(std::size_t, std::size_t)> progress_logger(std::string verb, std::string things) {
  return [verb = std::move(verb), things = std::move(things), start = std::chrono::steady_clock::now(),
          last = std::chrono::steady_clock::now()](std::size_t done, std::size_t total) mutable {
    const auto now = std::chrono::steady_clock::now();
    if (done == total || now - last < std::chrono::seconds(3)) return;
    last = now;
    core::log::info("{} {} of {} {} ({:.0f} s)", verb, done, total, things, std::chrono::duration<double>(now - start).count());
  };
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
  if (ec) throw core::InputError(core::Location(fmt::format("--out {}", out)), fmt::format("cannot create it: {}", ec.message()));
  return dir;
}

}  // namespace rdasim::tools
