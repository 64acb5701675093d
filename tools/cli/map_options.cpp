// The options `rdasim map` and `rdasim sim` share, and their reporting helpers.
#include <fmt/format.h>

#include "core/error.h"
#include "mapper/infeasible.h"
#include "tools/cli/commands.h"

namespace rdasim::tools {

void add_map_inputs(CLI::App* cmd, MapInputs& in, const std::string& model_help) {
  cmd->add_option("MODEL", in.models, model_help)->required();
  cmd->add_option("-p,--param", in.params, "A workload parameter or a model's symbolic dimension (repeatable)")
      ->type_name("NAME=VALUE");
  cmd->add_option("--arch", in.arch, "The fabric (configs/arch/*.yaml)")->required()->type_name("FILE");
  cmd->add_option("--set", in.sets, "Override a fabric key, e.g. --set pcu.lanes=32 (repeatable)")
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
