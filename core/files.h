// Whole-file reads and atomic writes with located errors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rdasim::core {

/// The bytes of a regular file of at most `max_bytes`. Throws InputError for a missing file, a
/// folder, a device or pipe, a file too large, or one that cannot be read.
[[nodiscard]] std::string read_text_file(const std::filesystem::path& path, std::uintmax_t max_bytes = 64u << 20);

/// Writes through a temporary file and a rename, so a reader never sees half a file; creates
/// missing parent folders. Refuses folders and existing non-regular files. Throws InputError
/// when the path cannot be written.
void write_text_file(const std::filesystem::path& path, const std::string& text);

}  // namespace rdasim::core
