// What mapping a set of models takes, as `rdasim map`/`sim`, sweeps and the Python module give
// it: the MODEL arguments (models, workloads, deployment files), the fabric with its overrides,
// and the mapping options.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "arch/fabric.h"
#include "arch/system.h"
#include "mapper/mapping.h"
#include "tools/pipeline/system_run.h"

namespace rdasim::tools {

struct MapInputs {
  std::vector<std::string> models;
  std::vector<std::string> params;
  std::string arch;
  std::string system;             ///< instead of arch: a system of RDAs (configs/systems/*.yaml)
  SystemSplit split;              ///< with system: the device count and the split over it
  std::vector<std::string> sets;  ///< "key=value" overrides of the fabric (or the system)
  std::string mode = "o1";
  int tiles_per_app = 0;
  int rows_per_app = 0;
  std::uint64_t seed = 1;
  int jobs = 1;  ///< worker processes: distinct sections placed (and, simulating, simulated) side by side
};

/// The fabric of --arch with every --set applied.
[[nodiscard]] arch::Fabric load_fabric(const MapInputs& inputs);

/// The system of --system with --devices and every --set applied.
[[nodiscard]] arch::SystemSpec load_system(const MapInputs& inputs);

/// Runs the MODEL arguments on the system of --system (tools/pipeline/system_run.h): mapped and
/// timed analytically, or simulated segment by segment when `simulate`.
[[nodiscard]] SystemRun run_inputs_on_system(const MapInputs& inputs, bool simulate);

/// Maps every application of the MODEL arguments onto the fabric (with progress when there
/// are several). Throws mapper::Infeasible when the fabric cannot hold them.
[[nodiscard]] mapper::Mapping map_inputs(const MapInputs& inputs, const arch::Fabric& fabric);

/// Maps applications as map_inputs does: recurrences unrolled, each in its requested region
/// (`regions` empty: the fabric shared out evenly), mode "o0" or "o1", distinct sections placed
/// in `jobs` worker processes side by side.
[[nodiscard]] mapper::Mapping map_graphs(const std::vector<graphs::Graph>& apps,
                                         const std::vector<mapper::RegionRequest>& regions, const arch::Fabric& fabric,
                                         const std::string& mode, std::uint64_t seed, int jobs = 1);

/// A progress callback for long runs: "<verb> done of total <things> (N s)" on the info log,
/// at most every few seconds and never for the last step.
[[nodiscard]] std::function<void(std::size_t, std::size_t)> progress_logger(std::string verb, std::string things);

}  // namespace rdasim::tools
