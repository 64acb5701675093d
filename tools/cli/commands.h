// The subcommands of the `rdasim` program. Each add_*_command registers its options on the
// app and, when chosen, sets `run` to the work to do after parsing, so main() alone turns
// errors into messages and exit statuses.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "graphs/graph.h"
#include "graphs/import/yaml_import.h"
#include "workloads/workload.h"

namespace rdasim::tools {

/// The chosen command's work; returns the process exit status.
using Runner = std::function<int()>;

void add_arch_command(CLI::App& app, Runner& run);
void add_graph_command(CLI::App& app, Runner& run);
void add_check_command(CLI::App& app, Runner& run);
void add_workloads_command(CLI::App& app, Runner& run);
void add_map_command(CLI::App& app, Runner& run);
void add_sim_command(CLI::App& app, Runner& run);
void add_gpu_command(CLI::App& app, Runner& run);
void add_compare_command(CLI::App& app, Runner& run);

/// A MODEL argument: a built-in workload's name (built with `-p` as its parameters) or an
/// ONNX/YAML file (one application; `-p` binds symbolic dimensions).
[[nodiscard]] workloads::Workload load_model_argument(const std::string& model, const std::vector<std::string>& params);

/// The one application of a workload; throws core::InputError naming `model` when there are
/// several.
[[nodiscard]] graphs::Graph single_graph(workloads::Workload workload, const std::string& model);

/// `-p name=N` values (symbolic dimensions such as batch); throws core::InputError naming the
/// bad one.
[[nodiscard]] graphs::DimBindings parse_dim_params(const std::vector<std::string>& texts);

}  // namespace rdasim::tools
