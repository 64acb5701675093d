// JSON text, atomic writes and stable hashes.
#include "core/json.h"

#include <cstdint>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"

namespace rdasim::core {

std::string to_json_text(const Json& doc) { return doc.dump(2) + "\n"; }

void write_json_file(const std::filesystem::path& path, const Json& doc) { write_text_file(path, to_json_text(doc)); }

Json read_json_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  const std::string text = read_text_file(path, max_bytes);
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // nlohmann counts bytes: turn the offset into a line and column.
    const auto at = std::min<std::size_t>(e.byte, text.size());
    int line = 1, column = 1;
    for (std::size_t i = 0; i + 1 < at; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    // "[json.exception.parse_error.101] parse error at line 3, column 12: syntax error ..."
    std::string what = e.what();
    if (const auto where = what.find("column "); where != std::string::npos) {
      if (const auto colon = what.find(": ", where); colon != std::string::npos) what = what.substr(colon + 2);
    }
    throw InputError(Location(path.string(), line, column), fmt::format("is not valid JSON: {}", what));
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
