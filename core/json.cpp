// JSON text, atomic writes and stable hashes.
#include "core/json.h"

#include <cstdint>
#include <cstring>

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

void JsonDigest::add_bytes(const void* data, std::size_t size) {
  // Eight bytes at a time (a section's streams are tens of MB), the tail zero-padded; the
  // size goes in too, so that padding cannot make two inputs equal.
  const auto* p = static_cast<const unsigned char*>(data);
  const auto mix = [this](std::uint64_t word) {
    m_a = (m_a ^ word) * 0x100000001b3ULL;
    m_a ^= m_a >> 29;
    m_b = (m_b + word + 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL;
    m_b ^= m_b >> 31;
  };
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p + i, 8);
    mix(word);
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p + i, size - i);
  mix(tail ^ (static_cast<std::uint64_t>(size) << 56));
}

void JsonDigest::add(const Value& digest) {
  add_bytes(&digest.first, sizeof digest.first);
  add_bytes(&digest.second, sizeof digest.second);
}

void JsonDigest::add_text(std::string_view text) {
  const std::uint64_t size = text.size();
  add_bytes(&size, sizeof size);
  add_bytes(text.data(), text.size());
}

void JsonDigest::add(const Json& value) {
  const auto type = static_cast<unsigned char>(value.type());
  add_bytes(&type, 1);
  switch (value.type()) {
    case Json::value_t::object:
      for (const auto& [key, item] : value.items()) {
        add_text(key);
        add(item);
      }
      break;
    case Json::value_t::array: {
      const std::uint64_t size = value.size();
      add_bytes(&size, sizeof size);
      for (const auto& item : value) add(item);
      break;
    }
    case Json::value_t::string: add_text(value.get_ref<const std::string&>()); break;
    case Json::value_t::boolean: {
      const bool b = value.get<bool>();
      add_bytes(&b, sizeof b);
      break;
    }
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      const auto n = value.get<std::int64_t>();
      add_bytes(&n, sizeof n);
      break;
    }
    case Json::value_t::number_float: {
      const auto x = value.get<double>();
      add_bytes(&x, sizeof x);
      break;
    }
    default: break;  // null, binary, discarded: the type says it all
  }
}

}  // namespace rdasim::core
