// Runs the `rdasim` program as a user would, capturing its exit status and both streams.
#pragma once

#include <string>
#include <vector>

namespace rdasim::test {

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

/// Runs RDASIM_CLI with the arguments from the source root.
CliResult run_cli(const std::vector<std::string>& args);

}  // namespace rdasim::test
