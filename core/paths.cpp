// The running executable's path and the data folder beside it.
#include "core/paths.h"

#include <dlfcn.h>

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

// Defined only in programs built against the installed package (cmake/installed_data_dir.cpp).
extern "C" const char* rdasim_installed_data_dir() __attribute__((weak));

namespace rdasim::core {

std::filesystem::path executable_path() {
  const std::filesystem::path k_self = "/proc/self/exe";
  std::error_code ec;
  auto path = std::filesystem::read_symlink(k_self, ec);
  if (ec || path.empty()) {
    throw InputError(Location(k_self.string()), "cannot read the running program's path (" +
                                                    (ec ? ec.message() : std::string("empty link")) +
                                                    "); the files it needs at run time are found next to it");
  }
  return path;
}

std::filesystem::path data_dir() {
  if (rdasim_installed_data_dir != nullptr) return rdasim_installed_data_dir();
  // The file holding this code: the program, or the Python module (a shared object) that a
  // Python process loaded, whose own executable is the interpreter's.
  Dl_info info{};
  std::filesystem::path code;
  if (dladdr(reinterpret_cast<void*>(&data_dir), &info) != 0 && info.dli_fname != nullptr) code = info.dli_fname;
  std::error_code ec;
  if (code.extension() == ".so" || code.string().find(".so.") != std::string::npos) {
    code = std::filesystem::absolute(code, ec);
  } else {
    code = executable_path();
  }
  // bin/ or tools/ or python/ beside share/; or lib/pythonX.Y/site-packages/ under the prefix.
  const auto dir = code.parent_path();
  const std::filesystem::path candidates[] = {dir.parent_path() / "share" / "rdasim",
                                              dir.parent_path().parent_path().parent_path() / "share" / "rdasim"};
  for (const auto& candidate : candidates) {
    if (std::filesystem::is_directory(candidate, ec)) return candidate;
  }
  return candidates[0];
}

std::vector<std::string> shipped_names(const std::string& folder, const std::string& extension) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data_dir() / folder, ec)) {
    if (e.path().extension() == extension) names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::filesystem::path shipped_path(const std::string& name, const std::string& folder, const std::string& extension) {
  if (name.find('/') != std::string::npos || name.ends_with(extension)) return name;
  return data_dir() / folder / (name + extension);
}

std::filesystem::path preset_path(const std::filesystem::path& given, const std::string& folder,
                                  const std::string& extension, const std::string& kind) {
  std::error_code ec;
  if (std::filesystem::exists(given, ec) || given.has_parent_path() || given.has_extension()) return given;
  const auto shipped = data_dir() / folder / (given.string() + extension);
  if (std::filesystem::is_regular_file(shipped, ec)) return shipped;
  const auto known = shipped_names(folder, extension);
  const std::string name = given.string();
  if (known.empty()) {
    throw InputError(Location(name), fmt::format("no file or {} preset named '{}': no presets are installed in {}",
                                                 kind, name, (data_dir() / folder).string()));
  }
  throw InputError(Location(name), fmt::format("no file or {} preset named '{}'{}; the presets are {} (or give a path "
                                               "to a file)",
                                               kind, name, did_you_mean(name, known), quoted_list(known)));
}

std::filesystem::path named_file(const std::filesystem::path& folder, const std::string& value,
                                 const std::string& preset_folder, const std::string& extension) {
  const std::filesystem::path given(value);
  const auto relative = folder / given;
  std::error_code ec;
  if (given.has_parent_path() || given.has_extension() || std::filesystem::exists(relative, ec)) return relative;
  const auto shipped = data_dir() / preset_folder / (value + extension);
  return std::filesystem::is_regular_file(shipped, ec) ? shipped : relative;
}

}  // namespace rdasim::core
