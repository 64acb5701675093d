// The subcommands of the `rdasim` program. Each add_*_command registers its options on the
// app and, when chosen, sets `run` to the work to do after parsing, so main() alone turns
// errors into messages and exit statuses.
#pragma once

#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "arch/fabric.h"
#include "core/schema.h"
#include "tools/pipeline/map_inputs.h"
#include "tools/pipeline/models.h"

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
void add_sweep_command(CLI::App& app, Runner& run);
void add_system_command(CLI::App& app, Runner& run);
void add_serve_command(CLI::App& app, Runner& run);
void add_framework_command(CLI::App& app, Runner& run);
void add_validate_command(CLI::App& app, Runner& run);

/// Registers --devices, --tp, --pp, --dp (and --micro-batches when `micro_batches`), each needing
/// `system` (the command's --system option), on `cmd`; `devices_help` says what --devices counts.
void add_split_options(CLI::App* cmd, CLI::Option* system, SystemSplit& split, bool micro_batches,
                       const std::string& devices_help = "With --system: replace its device count");

/// Registers the MODEL arguments and the fabric and mapping options of `rdasim map`/`sim` on `cmd`.
void add_map_inputs(CLI::App* cmd, MapInputs& inputs, const std::string& model_help);

/// `rdasim map|sim ... --system FILE`: runs the models on the system (simulated segment by
/// segment when `simulate`), prints the per-socket report (or its JSON) and with `out` writes
/// system.json (report.json for a simulation), trace.json and each segment's mapping.json and
/// placement.txt under socket<d>/. Returns the exit status.
int run_system_command(const MapInputs& inputs, bool simulate, const std::string& out, bool json);

/// Prints why the mapping is infeasible, one reason per line; the exit status to return (1).
int report_infeasible(const std::exception& infeasible, const arch::Fabric& fabric);

/// Adds `parent keys [--format text|json|markdown]`, which prints every key of `schema` (the
/// `what` format, documented in `readme`).
void add_keys_command(CLI::App* parent, Runner& run, const core::Schema& schema, const std::string& what,
                      const std::string& readme);

/// Prints every key of a configuration format (`rdasim arch keys`, `rdasim system keys`) as
/// "text", "json" or "markdown"; returns the exit status (0).
int print_schema_keys(const core::Schema& schema, const std::string& format);

/// Runs <data dir>/plot/<script_name> (tools/plot/) with /usr/bin/python3 on `dir`; warns, and
/// goes on, when the script is missing or fails (no matplotlib).
void draw_plots(const std::string& script_name, const std::filesystem::path& dir);

/// The --out folder, created; throws core::InputError when it is a file or cannot be made.
std::filesystem::path prepare_out_dir(const std::string& out);

}  // namespace rdasim::tools
