// File reads and atomic writes.
#include "core/files.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace rdasim::core {

std::string read_text_file(const std::filesystem::path& path) {
  const Location where(path.string());
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(where, "cannot read the file: it does not exist");
  if (std::filesystem::is_directory(path, ec)) throw InputError(where, "cannot read the file: it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(where, "cannot read the file: permission denied or I/O error");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    throw InputError(Location(path.parent_path().string()),
                     fmt::format("cannot create the folder: {}", ec.message()));
  }
  auto temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw InputError(Location(temporary.string()), "cannot write the file");
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    throw InputError(Location(path.string()), fmt::format("cannot write the file: {}", ec.message()));
  }
}

}  // namespace rdasim::core
