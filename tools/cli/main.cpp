// rdasim: the command-line entry point. Parses, runs the chosen command, and maps errors to
// exit statuses: 0 success, 2 bad usage or input, 1 failure of the run or an internal error.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "core/version.h"
#include "tools/cli/allocator.h"
#include "tools/cli/commands.h"

namespace {

constexpr int k_exit_input = 2;
constexpr int k_exit_failure = 1;

/// Finds a word in the command position that names no command, before CLI11 reports it as an
/// unexpected argument: "unknown command 'arhc' (did you mean 'arch'?)".
std::optional<std::string> unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* current = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("-")) {
      // Options of enclosing commands are accepted too (fallthrough).
      const CLI::Option* opt = nullptr;
      for (CLI::App* scope = current; scope && !opt; scope = scope->get_parent()) {
        opt = scope->get_option_no_throw(arg.substr(0, arg.find('=')));
      }
      if (opt && opt->get_items_expected_max() > 0 && arg.find('=') == std::string::npos) ++i;
      continue;
    }
    const auto subcommands = current->get_subcommands({});
    if (subcommands.empty()) return std::nullopt;  // a leaf: the rest are its arguments
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    for (CLI::App* sub : subcommands) {
      names.push_back(sub->get_name());
      if (sub->check_name(arg)) next = sub;
    }
    if (!next) {
      const std::string where = current == &app ? "rdasim" : "rdasim " + current->get_name();
      return fmt::format("unknown command '{}'{}; '{}' has {} (see '{} --help')", arg,
                         rdasim::core::did_you_mean(arg, names), where, rdasim::core::quoted_list(names), where);
    }
    current = next;
  }
  return std::nullopt;
}

int report_error(const char* kind, const std::string& message, int status) {
  std::fflush(stdout);
  fmt::print(stderr, "rdasim: {}{}\n", kind, message);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rdasim;
  CLI::App app{
      "rdasim: a mapper and cycle-approximate simulator for reconfigurable-dataflow "
      "accelerators (Plasticine, SambaNova RDU).\n"
      "Reads fabric descriptions (configs/arch/*.yaml) and models; prints resource summaries, "
      "placements, timing, energy and GPU comparisons.",
      "rdasim"};
  // Made when asked for, not on every start (it queries the allocator).
  app.set_version_flag("--version", std::function<std::string()>([] {
                         return fmt::format("rdasim {}\nallocator: {}", core::version(),
                                            tools::allocator_description());
                       }));
  app.require_subcommand(1);
  app.fallthrough();

  std::string log_level = "info";
  if (const char* env = std::getenv("RDASIM_LOG")) log_level = env;
  app.add_option("--log-level", log_level,
                 "Messages on stderr at or above this level (default: $RDASIM_LOG, else info)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  app.add_flag_callback(
      "-q,--quiet", [&] { log_level = "error"; }, "Only print errors on stderr");

  tools::Runner run;
  tools::add_arch_command(app, run);
  tools::add_system_command(app, run);
  tools::add_graph_command(app, run);
  tools::add_check_command(app, run);
  tools::add_workloads_command(app, run);
  tools::add_map_command(app, run);
  tools::add_sim_command(app, run);
  tools::add_gpu_command(app, run);
  tools::add_compare_command(app, run);
  tools::add_sweep_command(app, run);
  tools::add_serve_command(app, run);
  tools::add_framework_command(app, run);
  tools::add_validate_command(app, run);

  if (auto message = unknown_command(app, argc, argv)) {
    return report_error("error: ", *message, k_exit_input);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return report_error("error: ", fmt::format("{} (see 'rdasim --help')", e.what()), k_exit_input);
  }

  core::log::Level level = core::log::Level::info;
  if (!core::log::parse_level(log_level, level)) {
    return report_error(
        "error: ",
        fmt::format("RDASIM_LOG is '{}'; expected debug, info, warn, error or off", core::printable(log_level)),
        k_exit_input);
  }
  core::log::set_level(level);

  try {
    return run ? run() : 0;
  } catch (const core::InputError& e) {
    return report_error("error: ", e.what(), k_exit_input);
  } catch (const core::InternalError& e) {
    return report_error("", fmt::format("{} (a bug in rdasim; please report it)", e.what()), k_exit_failure);
  } catch (const std::exception& e) {
    return report_error("failed: ", e.what(), k_exit_failure);
  }
}
