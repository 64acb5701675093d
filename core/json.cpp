// JSON text, atomic writes and stable hashes.
#include "core/json.h"

#include <cstdint>

#include <fmt/format.h>

#include "core/files.h"

namespace rdasim::core {

std::string to_json_text(const Json& doc) { return doc.dump(2) + "\n"; }

void write_json_file(const std::filesystem::path& path, const Json& doc) {
  write_text_file(path, to_json_text(doc));
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
