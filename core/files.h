// Whole-file reads and atomic writes with located errors.
#pragma once

#include <filesystem>
#include <string>

namespace rdasim::core {

/// The file's bytes. Throws InputError for a missing file, a folder or an unreadable file.
[[nodiscard]] std::string read_text_file(const std::filesystem::path& path);

/// Writes through a temporary file and a rename, so a reader never sees half a file; creates
/// missing parent folders. Throws InputError when the path cannot be written.
void write_text_file(const std::filesystem::path& path, const std::string& text);

}  // namespace rdasim::core
