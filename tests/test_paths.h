// Where the tests find the repository's files and the `rdasim` program at run time, so that no
// absolute path is compiled in (another clone's build then hits the same ccache objects).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace rdasim::test {

/// The repository root: $RDASIM_SOURCE_DIR when set, else the current folder (CTest runs every
/// test there: WORKING_DIRECTORY in tests/CMakeLists.txt). Never throws, so namespace-scope
/// constants may use it.
inline std::filesystem::path source_dir() {
  if (const char* env = std::getenv("RDASIM_SOURCE_DIR"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  return ec ? std::filesystem::path(".") : cwd;
}

/// The `rdasim` program: $RDASIM_CLI when set, else <build>/tools/rdasim beside this test's
/// <build>/tests/. Throws std::runtime_error naming the path when there is no such file.
inline std::filesystem::path rdasim_cli() {
  std::filesystem::path cli;
  if (const char* env = std::getenv("RDASIM_CLI"); env != nullptr && *env != '\0') {
    cli = env;
  } else {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
      throw std::runtime_error("cannot read /proc/self/exe (" + ec.message() +
                               "); set RDASIM_CLI to the rdasim program");
    cli = self.parent_path().parent_path() / "tools" / "rdasim";
  }
  if (!std::filesystem::is_regular_file(cli)) {
    throw std::runtime_error("no rdasim program at " + cli.string() +
                             "; build the rdasim target or set RDASIM_CLI to the program");
  }
  return cli;
}

}  // namespace rdasim::test
