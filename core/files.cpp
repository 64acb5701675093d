// File reads and atomic writes.
#include "core/files.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace rdasim::core {

std::string read_text_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  if (path.empty()) throw InputError("no file name given");
  const Location where(path.string());
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    throw InputError(where, "cannot read the file: it does not exist");
  }
  if (ec) throw InputError(where, fmt::format("cannot read the file: {}", ec.message()));
  if (status.type() == std::filesystem::file_type::directory) {
    throw InputError(where, "cannot read the file: it is a directory");
  }
  if (status.type() != std::filesystem::file_type::regular) {
    throw InputError(where, "cannot read the file: it is not a regular file (a device, pipe or socket)");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    throw InputError(where, fmt::format("the file is {}; expected at most {}", format_bytes(static_cast<double>(size)),
                                        format_bytes(static_cast<double>(max_bytes))));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(where, "cannot read the file: permission denied or I/O error");
  // One read of the size the file system gives (a stringstream, growing by doubling and copying,
  // took 1.65 s for a 150 MB mapping, this 0.62 s), then whatever a growing file has beyond it.
  std::string text(ec ? 0 : static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in) {
    std::ostringstream rest;
    rest << in.rdbuf();
    text += rest.str();
  }
  return text;
}

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  if (path.empty()) throw InputError("no output file name given");
  const Location where(path.string());
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  if (status.type() == std::filesystem::file_type::directory) {
    throw InputError(where, "cannot write the file: it is a directory");
  }
  if (std::filesystem::exists(status) && status.type() != std::filesystem::file_type::regular) {
    // Renaming over a device, pipe or link would replace it rather than write into it.
    throw InputError(where, "cannot write the file: it exists and is not a regular file");
  }
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      throw InputError(Location(path.parent_path().string()),
                       fmt::format("cannot create the folder: {}", ec.message()));
    }
  }
  // A name of its own per process and call, so concurrent writers never share a temporary.
  static std::atomic<unsigned> counter{0};
  auto temporary = path;
  temporary += fmt::format(".tmp.{}.{}", getpid(), counter++);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw InputError(where, "cannot write the file: permission denied, disk full or I/O error");
    }
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw InputError(where, fmt::format("cannot write the file: {}", reason));
  }
}

}  // namespace rdasim::core
