// A small leveled logger writing to stderr, so stdout stays clean for results and JSON.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace rdasim::core::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// Messages below this level are dropped. Default: info; RDASIM_LOG=debug|info|warn|error|off
/// in the environment sets the initial level (another value leaves info; the rdasim program
/// rejects it).
void set_level(Level level);
[[nodiscard]] Level level();
/// Parses "debug", "info", "warn", "error" or "off"; returns false on anything else.
[[nodiscard]] bool parse_level(std::string_view text, Level& out);

void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::debug) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::info) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::warn) write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::error) write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace rdasim::core::log
