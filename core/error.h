// Errors with locations: bad input (InputError) versus internal bugs (RDASIM_ASSERT).
// Library code throws; only main() turns an error into a message and an exit status.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace rdasim::core {

/// Where a piece of input came from: a file position, a key path inside a document, or both.
/// Lines and columns are 1-based; 0 means unknown.
struct Location {
  Location() = default;
  explicit Location(std::string file_, int line_ = 0, int column_ = 0, std::string key_path_ = {})
      : file(std::move(file_)),
        line(line_),
        column(column_),
        key_path(std::move(key_path_)) {}

  std::string file;  ///< file name, or a pseudo-source such as "--set pcu.lanes"
  int line = 0;
  int column = 0;
  std::string key_path;  ///< dotted path of the value inside its document, e.g. "pcu.lanes"

  /// "file:line:column", "file", or "" when nothing is known.
  [[nodiscard]] std::string position() const;
  /// position() followed by the key path: "arch.yaml:4:10: pcu.lanes".
  [[nodiscard]] std::string str() const;
};

/// Bad input from a user: YAML, ONNX, graph, command line. The message says what was expected
/// and what was found; what() prefixes it with the location.
class InputError : public std::runtime_error {
 public:
  InputError(Location where, const std::string& message);
  explicit InputError(const std::string& message);

  [[nodiscard]] const Location& where() const noexcept { return m_where; }
  /// The message without the location prefix.
  [[nodiscard]] const std::string& message() const noexcept { return m_message; }

 private:
  Location m_where;
  std::string m_message;
};

/// Valid input that uses something rdasim does not cover (an op kind, an element type, a
/// mode). Kept apart so that suites can count what is missing separately from what is wrong.
class UnsupportedError : public InputError {
 public:
  using InputError::InputError;
};

/// A broken internal invariant: a bug in rdasim, never the user's fault.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] void fail_assertion(const char* condition, const char* file, int line, const std::string& message);

}  // namespace rdasim::core

/// Checks an internal invariant; on failure throws core::InternalError naming the condition.
#define RDASIM_ASSERT(cond, msg)                                                   \
  do {                                                                             \
    if (!(cond)) ::rdasim::core::fail_assertion(#cond, __FILE__, __LINE__, (msg)); \
  } while (false)
