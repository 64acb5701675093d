// What `rdasim map` and `rdasim sim` share: the MODEL arguments (models, workloads, deployment
// files), the fabric with its --set overrides, the mapping options, and the --out folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "arch/fabric.h"
#include "mapper/mapping.h"

namespace rdasim::tools {

struct MapInputs {
  std::vector<std::string> models;
  std::vector<std::string> params;
  std::string arch;
  std::vector<std::string> sets;
  std::string mode = "o1";
  int tiles_per_app = 0;
  int rows_per_app = 0;
  std::uint64_t seed = 1;
};

/// Registers the MODEL arguments and the fabric and mapping options on `cmd`.
void add_map_inputs(CLI::App* cmd, MapInputs& inputs, const std::string& model_help);

/// The fabric of --arch with every --set applied.
[[nodiscard]] arch::Fabric load_fabric(const MapInputs& inputs);

/// Maps every application of the MODEL arguments onto the fabric (with progress when there
/// are several). Throws mapper::Infeasible when the fabric cannot hold them.
[[nodiscard]] mapper::Mapping map_inputs(const MapInputs& inputs, const arch::Fabric& fabric);

/// Prints why the mapping is infeasible, one reason per line; the exit status to return (1).
int report_infeasible(const std::exception& infeasible, const arch::Fabric& fabric);

/// A progress callback for long runs: "<verb> done of total <things> (N s)" on the info log,
/// at most every few seconds and never for the last step.
[[nodiscard]] std::function<void(std::size_t, std::size_t)> progress_logger(std::string verb, std::string things);

/// The --out folder, created; throws core::InputError when it is a file or cannot be made.
std::filesystem::path prepare_out_dir(const std::string& out);

}  // namespace rdasim::tools
