// The subcommands of the `rdasim` program. Each add_*_command registers its options on the
// app and, when chosen, sets `run` to the work to do after parsing, so main() alone turns
// errors into messages and exit statuses.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace rdasim::tools {

/// The chosen command's work; returns the process exit status.
using Runner = std::function<int()>;

void add_arch_command(CLI::App& app, Runner& run);
void add_graph_command(CLI::App& app, Runner& run);

}  // namespace rdasim::tools
