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

/// The folder of data files the program runs (presets, LLM configs, frameworks, plot scripts),
/// found from the file holding this code: <prefix>/share/rdasim for <prefix>/bin/rdasim and for
/// the Python module installed as <prefix>/lib/pythonX.Y/site-packages/rdasim*.so (cmake
/// --install, or pip into a virtual environment: its data files go to <venv>/share/rdasim), and
/// <build>/share/rdasim for <build>/tools/rdasim and <build>/python/rdasim*.so. The first of
/// these that exists; else the first, and callers name the missing file. A program built
/// against the installed CMake package (find_package(rdasim)) uses that package's folder.
[[nodiscard]] std::filesystem::path data_dir();

/// The stems of the files <data dir>/<folder>/*<extension>, sorted: what is shipped of a kind
/// (LLM configs, serving frameworks), for "the shipped ones are ..." messages.
[[nodiscard]] std::vector<std::string> shipped_names(const std::string& folder, const std::string& extension);

/// A name or a path: a path (has a '/' or ends in `extension`) as it is, else the shipped
/// <data dir>/<folder>/<name><extension>.
[[nodiscard]] std::filesystem::path shipped_path(const std::string& name, const std::string& folder,
                                                 const std::string& extension);

/// A file argument that may name a preset instead: `given` as it is when it is a file or looks
/// like a path (has a folder or an extension), else <data dir>/<folder>/<given><extension>.
/// Throws InputError listing the presets of `kind` ("fabric", "GPU", "system") when it names
/// none, so that `--arch sn10` works from any folder and `--arch sn11` says what exists.
[[nodiscard]] std::filesystem::path preset_path(const std::filesystem::path& given, const std::string& folder,
                                                const std::string& extension, const std::string& kind);

/// A file that another file names (a system's device, a sweep's fabric): `value` relative to
/// `folder`, the naming file's, or where `value` is a bare name (no folder, no extension) with no
/// such file there, the preset <data dir>/<preset_folder>/<value><extension>. Not checked for
/// existence: callers name the missing file where it was named.
[[nodiscard]] std::filesystem::path named_file(const std::filesystem::path& folder, const std::string& value,
                                               const std::string& preset_folder, const std::string& extension);

}  // namespace rdasim::core
