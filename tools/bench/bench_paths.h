// Where the benchmarks find the repository's fabric presets: under $RDASIM_SOURCE_DIR, else under
// the current folder (they are run from the repository root: build/release/tools/bench/...).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace rdasim::tools {

/// configs/arch/<name>.yaml of the repository. Throws core::InputError naming the folder
/// looked in when it has no configs/arch.
inline std::filesystem::path bench_arch_preset(const std::string& name) {
  const char* env = std::getenv("RDASIM_SOURCE_DIR");
  const std::filesystem::path root =
      env != nullptr && *env != '\0' ? std::filesystem::path(env) : std::filesystem::current_path();
  const std::filesystem::path dir = root / "configs" / "arch";
  if (!std::filesystem::is_directory(dir)) {
    throw core::InputError(core::Location(dir.string()),
                           "no such folder; run the benchmark from the repository root or set RDASIM_SOURCE_DIR "
                           "to the repository");
  }
  return dir / (name + ".yaml");
}

}  // namespace rdasim::tools
