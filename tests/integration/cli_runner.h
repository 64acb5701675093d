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

/// Runs the `rdasim` program (test::rdasim_cli()) with the arguments, in the current folder.
CliResult run_cli(const std::vector<std::string>& args);

}  // namespace rdasim::test
