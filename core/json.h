// JSON reports: one document type with deterministic key order, and atomic file writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace rdasim::core {

/// JSON with keys kept in insertion order, so a report reads in the order its writer built it
/// and two runs with the same input produce byte-identical files.
using Json = nlohmann::ordered_json;

/// Two-space indented text with a trailing newline.
[[nodiscard]] std::string to_json_text(const Json& doc);

/// Writes the document through a temporary file and a rename, so a reader never sees half a
/// report. Creates missing parent folders. Throws InputError when the path cannot be written.
void write_json_file(const std::filesystem::path& path, const Json& doc);

/// Reads and parses a JSON file of at most `max_bytes` (rdasim's own mappings of many tenants
/// run to hundreds of MB); throws InputError with the line and column of a syntax error, or
/// when the file cannot be read.
[[nodiscard]] Json read_json_file(const std::filesystem::path& path, std::uintmax_t max_bytes = 1u << 30);

/// A 64-bit FNV-1a hash of text, as 16 hex digits: a stable key for configurations.
[[nodiscard]] std::string stable_hash(const std::string& text);

/// A 128-bit digest of JSON values, walked without writing them out: a key for documents too
/// large to keep as text (a prefill section's streams run to 100 MB). Two independent 64-bit
/// mixes; equal values give equal digests, and documents differing in order differ.
class JsonDigest {
 public:
  using Value = std::pair<std::uint64_t, std::uint64_t>;
  void add(const Json& value);
  void add(const Value& digest);
  void add_bytes(const void* data, std::size_t size);
  /// A length-prefixed string, so that "ab","c" and "a","bc" differ.
  void add_text(std::string_view text);
  [[nodiscard]] Value value() const { return {m_a, m_b}; }
  [[nodiscard]] static Value of(const Json& value) {
    JsonDigest d;
    d.add(value);
    return d.value();
  }

 private:
  std::uint64_t m_a = 0xcbf29ce484222325ULL;  // FNV-1a
  std::uint64_t m_b = 0x9e3779b97f4a7c15ULL;  // a multiply-xorshift of its own
};

}  // namespace rdasim::core
