// Formatting of error locations and assertion failures.
#include "core/error.h"

#include <fmt/format.h>

namespace rdasim::core {

std::string Location::position() const {
  if (file.empty()) return {};
  if (line <= 0) return file;
  if (column <= 0) return fmt::format("{}:{}", file, line);
  return fmt::format("{}:{}:{}", file, line, column);
}

std::string Location::str() const {
  std::string pos = position();
  if (key_path.empty()) return pos;
  if (pos.empty()) return key_path;
  return pos + ": " + key_path;
}

namespace {
std::string with_location(const Location& where, const std::string& message) {
  std::string loc = where.str();
  return loc.empty() ? message : loc + ": " + message;
}
}  // namespace

InputError::InputError(Location where, const std::string& message)
    : std::runtime_error(with_location(where, message)),
      m_where(std::move(where)),
      m_message(message) {}

InputError::InputError(const std::string& message) : std::runtime_error(message), m_message(message) {}

void fail_assertion(const char* condition, const char* file, int line, const std::string& message) {
  throw InternalError(
      fmt::format("internal error at {}:{}: assertion '{}' failed: {}", file, line, condition, message));
}

}  // namespace rdasim::core
