// YAML configuration with locations: every value knows its file:line:column and key path, keys
// are checked strictly (unknown keys fail with a "did you mean"), and `--set a.b.c=value`
// overrides are applied before anything reads the document.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/error.h"

namespace rdasim::core {

/// One command-line override, "pcu.lanes=32": a dotted key path (list elements by index,
/// "memory.tiers.0.latency_ns") and a YAML value.
struct Override {
  std::string path;
  std::string value;

  /// Parses "a.b.c=value"; throws InputError naming the text when it has no key or no '='.
  static Override parse(std::string_view text);
};

/// The allowed range of a number, for validation messages such as "expected a number > 0".
struct Bounds {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  bool hi_open = false;

  static Bounds any() { return {}; }
  static Bounds at_least(double lo) { return {lo, std::numeric_limits<double>::infinity()}; }
  static Bounds above(double lo) { return {lo, std::numeric_limits<double>::infinity(), true, false}; }
  static Bounds between(double lo, double hi) { return {lo, hi}; }

  [[nodiscard]] bool contains(double v) const;
  /// "", " >= 1", " > 0" or " in [1, 64]".
  [[nodiscard]] std::string describe() const;
};

struct ConfigDocument;

/// A node of a loaded YAML document. Cheap to copy; keeps its document alive.
class ConfigNode {
 public:
  /// Loads a YAML file and applies the overrides. Throws InputError for a missing or unreadable
  /// file, malformed YAML (with the parser's line and column) or a bad override.
  static ConfigNode load_file(const std::filesystem::path& path, std::span<const Override> overrides = {});
  /// Parses YAML text; `source_name` stands in for the file name in locations.
  static ConfigNode parse(const std::string& text, const std::string& source_name,
                          std::span<const Override> overrides = {});

  // --- shape --------------------------------------------------------------------------------
  [[nodiscard]] bool is_map() const { return m_node.IsMap(); }
  [[nodiscard]] bool is_list() const { return m_node.IsSequence(); }
  [[nodiscard]] bool is_scalar() const { return m_node.IsScalar(); }
  /// "a mapping", "a list", "'text'" or "nothing": what was found, for messages.
  [[nodiscard]] std::string describe_found() const;

  // --- mappings -----------------------------------------------------------------------------
  [[nodiscard]] bool has(std::string_view key) const;
  /// The value of a required key; throws InputError at this mapping when it is missing.
  [[nodiscard]] ConfigNode at(std::string_view key) const;
  [[nodiscard]] std::optional<ConfigNode> find(std::string_view key) const;
  /// Keys in document order. Throws InputError when this node is not a mapping.
  [[nodiscard]] std::vector<std::string> keys() const;
  /// Fails at the first key not in `allowed` (with a "did you mean") or repeated in the document.
  void check_keys(std::initializer_list<std::string_view> allowed) const;
  void check_keys(std::span<const std::string> allowed) const;

  // --- lists --------------------------------------------------------------------------------
  /// The elements of a list. Throws InputError when this node is not a list.
  [[nodiscard]] std::vector<ConfigNode> elements() const;

  // --- scalars (type-checked; the message says what was expected and what was found) --------
  [[nodiscard]] std::string as_string() const;
  [[nodiscard]] std::int64_t as_int(Bounds bounds = Bounds::any()) const;
  [[nodiscard]] double as_double(Bounds bounds = Bounds::any()) const;
  [[nodiscard]] bool as_bool() const;
  /// A string that must be one of `choices`.
  [[nodiscard]] std::string as_choice(std::span<const std::string> choices) const;

  // --- where --------------------------------------------------------------------------------
  /// Dotted key path from the document root ("" for the root).
  [[nodiscard]] const std::string& path() const { return m_path; }
  [[nodiscard]] Location location() const;
  /// Throws InputError at this node.
  [[noreturn]] void fail(const std::string& message) const;
  /// Throws InputError at this node: "expected <expected>, found <what was found>".
  [[noreturn]] void fail_expected(const std::string& expected) const;

 private:
  ConfigNode(std::shared_ptr<const ConfigDocument> doc, YAML::Node node, std::string path);
  [[nodiscard]] ConfigNode child(std::string_view key, const YAML::Node& node) const;
  [[nodiscard]] const std::string& scalar_text(const char* expected) const;
  /// scalar_text for numbers: quoted scalars are strings, not numbers.
  [[nodiscard]] const std::string& number_text(const std::string& expected) const;

  std::shared_ptr<const ConfigDocument> m_doc;
  YAML::Node m_node;
  std::string m_path;
};

}  // namespace rdasim::core
