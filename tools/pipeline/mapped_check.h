// `rdasim check MODEL --arch FILE | --system FILE`: the numerics of the mapping, not only of the
// graph (DESIGN.md, "Numerics"). The model is mapped (on one chip, or laid out on a system and
// each segment mapped), rewritten to compute as the mapping does (sim/functional/mapped.h:
// split reductions summed in the partial-sum tree's order, all-reduces in their algorithm's
// order with bf16 on the links) and run in the fabric's precision; every output is compared
// with the fp64 run of the unmapped graph, beside the unmapped run in the same precision.
#pragma once

#include <string>
#include <vector>

#include "arch/fabric.h"
#include "arch/system.h"
#include "core/json.h"
#include "sim/functional/executor.h"
#include "tools/pipeline/system_run.h"

namespace rdasim::tools {

struct MappedOutputError {
  std::string name;
  graphs::Shape shape;
  double mapped = 0;    ///< the mapped run's largest relative error against fp64
  double unmapped = 0;  ///< the unmapped run's, same precision
};

struct MappedCheck {
  std::string model;
  std::string target;  ///< the fabric or the system
  std::string layout;  ///< "chip", "sharded" or "spread"
  sim::functional::Precision precision = sim::functional::Precision::bf16;
  double tolerance = 0;
  int split_ops = 0;    ///< ops computed as partial products
  int all_reduces = 0;  ///< all-reduces summed in their algorithm's order
  std::vector<std::string> unsplit_ops;
  std::vector<MappedOutputError> outputs;
  [[nodiscard]] double largest_error() const;
  [[nodiscard]] bool passed() const { return largest_error() <= tolerance; }
  [[nodiscard]] core::Json to_json() const;
};

/// Inputs for a model: a built-in workload's generated inputs, or a model file's first test
/// data set (MODEL_DIR/test_data_set_0/input_K.pb); throws core::InputError when it has none.
[[nodiscard]] sim::functional::Values check_inputs(const std::string& model, const graphs::Graph& graph,
                                                   std::uint64_t seed);

/// Checks a workload's applications mapped together onto `fabric` (as `rdasim map` maps them).
[[nodiscard]] MappedCheck check_on_chip(const workloads::Workload& workload, const std::string& model,
                                        const arch::Fabric& fabric, const std::string& mode, std::uint64_t seed,
                                        double tolerance);

/// Checks a workload laid out on `system` (a system of RDAs) as run_on_system lays it out.
[[nodiscard]] MappedCheck check_on_system(const workloads::Workload& workload, const std::string& model,
                                          const arch::SystemSpec& system, const SystemRunOptions& options,
                                          const Rebatch& rebatch, std::uint64_t seed, double tolerance);

}  // namespace rdasim::tools
