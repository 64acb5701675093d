// JSON reports: one document type with deterministic key order, and atomic file writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

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

}  // namespace rdasim::core
