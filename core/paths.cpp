// The running executable's path and the data folder beside it.
#include "core/paths.h"

#include <system_error>

#include "core/error.h"

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

std::filesystem::path data_dir() { return executable_path().parent_path().parent_path() / "share" / "rdasim"; }

}  // namespace rdasim::core
