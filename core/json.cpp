// JSON text, atomic writes and stable hashes.
#include "core/json.h"

#include <cstdint>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"

namespace rdasim::core {

std::string to_json_text(const Json& doc) { return doc.dump(2) + "\n"; }

void write_json_file(const std::filesystem::path& path, const Json& doc) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    throw InputError(Location{path.parent_path().string()},
                     fmt::format("cannot create the folder: {}", ec.message()));
  }
  auto temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << to_json_text(doc);
    if (!out) throw InputError(Location{temporary.string()}, "cannot write the file");
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    throw InputError(Location{path.string()}, fmt::format("cannot write the file: {}", ec.message()));
  }
}

std::string stable_hash(const std::string& text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", hash);
}

}  // namespace rdasim::core
