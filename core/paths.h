// Where the running program and the files it reads at run time live, found from the executable
// so that neither a build tree nor an installed copy depends on the source folder's path.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rdasim::core {

/// The absolute path of the running executable (/proc/self/exe). Throws InputError naming the
/// problem when it cannot be read.
[[nodiscard]] std::filesystem::path executable_path();

/// The folder of data files the program runs (plot scripts, LLM configs, frameworks):
/// <prefix>/share/rdasim next to <prefix>/bin/rdasim, and <build>/share/rdasim next to
/// <build>/tools/rdasim (or the Python module <build>/python/rdasim*.so) in a build tree. Not
/// checked for existence; callers name the missing file.
[[nodiscard]] std::filesystem::path data_dir();

/// The stems of the files <data dir>/<folder>/*<extension>, sorted: what is shipped of a kind
/// (LLM configs, serving frameworks), for "the shipped ones are ..." messages.
[[nodiscard]] std::vector<std::string> shipped_names(const std::string& folder, const std::string& extension);

/// A name or a path: a path (has a '/' or ends in `extension`) as it is, else the shipped
/// <data dir>/<folder>/<name><extension>.
[[nodiscard]] std::filesystem::path shipped_path(const std::string& name, const std::string& folder,
                                                 const std::string& extension);

}  // namespace rdasim::core
