// Where the running program and the files it reads at run time live, found from the executable
// so that neither a build tree nor an installed copy depends on the source folder's path.
#pragma once

#include <filesystem>

namespace rdasim::core {

/// The absolute path of the running executable (/proc/self/exe). Throws InputError naming the
/// problem when it cannot be read.
[[nodiscard]] std::filesystem::path executable_path();

/// The folder of data files the program runs (plot scripts, LLM configs, frameworks):
/// <prefix>/share/rdasim next to <prefix>/bin/rdasim, and <build>/share/rdasim next to
/// <build>/tools/rdasim (or the Python module <build>/python/rdasim*.so) in a build tree. Not
/// checked for existence; callers name the missing file.
[[nodiscard]] std::filesystem::path data_dir();

}  // namespace rdasim::core
