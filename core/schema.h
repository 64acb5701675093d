// Declared configuration keys. Each component lists its keys once (type, unit, range, default
// or required, description); the same table validates documents, reads values and documents
// the format (`rdasim arch keys`), so the three can never disagree.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/json.h"

namespace rdasim::core {

enum class KeyType { integer, number, text, choice, section, list };

enum class Presence {
  required,   ///< must be given
  defaulted,  ///< `default_value` when absent
  optional,   ///< may be absent; the reader decides what absence means (see description)
};

struct KeyDecl {
  std::string path;  ///< dotted; elements of a list of sections are written "tiers[].name"
  KeyType type = KeyType::number;
  std::string unit;  ///< "GHz", "KiB", ... or "" when the name says it all
  std::string description;
  Presence presence = Presence::required;
  std::string default_value;         ///< YAML text, for Presence::defaulted
  Bounds bounds;                     ///< for integer and number
  std::vector<std::string> choices;  ///< for choice
};

/// Factories that keep schema tables short and readable.
namespace decl {
KeyDecl integer(std::string path, std::string unit, std::string description, Bounds bounds,
                Presence presence = Presence::required, std::string default_value = {});
KeyDecl number(std::string path, std::string unit, std::string description, Bounds bounds,
               Presence presence = Presence::required, std::string default_value = {});
KeyDecl text(std::string path, std::string description, Presence presence = Presence::required);
KeyDecl choice(std::string path, std::string description, std::vector<std::string> choices,
               Presence presence = Presence::required, std::string default_value = {});
KeyDecl section(std::string path, std::string description);
KeyDecl list(std::string path, std::string description, Presence presence = Presence::required);
}  // namespace decl

class SectionReader;

/// A set of key declarations, the schema of one kind of document.
class Schema {
 public:
  explicit Schema(std::string document_kind, std::vector<KeyDecl> keys);

  /// The document's root, with its keys checked.
  [[nodiscard]] SectionReader root(const ConfigNode& node) const;
  [[nodiscard]] const std::vector<KeyDecl>& keys() const { return m_keys; }
  [[nodiscard]] const KeyDecl* find(std::string_view path) const;
  /// The declared keys directly under a section path ("" for the root).
  [[nodiscard]] const std::vector<std::string>& children(std::string_view section) const;

  /// Every key as JSON: path, type, unit, range, default or required, description.
  [[nodiscard]] Json describe() const;
  /// Every key as a Markdown table, for the format's documentation.
  [[nodiscard]] std::string describe_markdown() const;

 private:
  std::string m_kind;
  std::vector<KeyDecl> m_keys;
  std::map<std::string, std::size_t, std::less<>> m_index;
  std::map<std::string, std::vector<std::string>, std::less<>> m_children;
};

/// Reads the values of one section (a mapping) by their declarations. Creating it checks that
/// the section has no undeclared key.
class SectionReader {
 public:
  SectionReader(const Schema& schema, ConfigNode node, std::string schema_path);

  [[nodiscard]] std::int64_t integer(std::string_view key) const;
  [[nodiscard]] double number(std::string_view key) const;
  [[nodiscard]] std::string text(std::string_view key) const;
  [[nodiscard]] std::string choice(std::string_view key) const;
  [[nodiscard]] std::optional<std::int64_t> optional_integer(std::string_view key) const;
  [[nodiscard]] std::optional<double> optional_number(std::string_view key) const;
  [[nodiscard]] SectionReader section(std::string_view key) const;
  /// The elements of a list of sections, each checked against the list's declarations; an
  /// absent optional list has none.
  [[nodiscard]] std::vector<SectionReader> list(std::string_view key) const;
  /// The raw node of a declared key, for values the declarations cannot express.
  [[nodiscard]] std::optional<ConfigNode> node(std::string_view key) const;

  [[nodiscard]] const ConfigNode& config() const { return m_node; }

 private:
  struct Required {
    const KeyDecl& decl;
    ConfigNode node;
  };
  [[nodiscard]] const KeyDecl& decl(std::string_view key, KeyType type) const;
  /// The value of a key read as required: given or defaulted.
  [[nodiscard]] Required required(std::string_view key, KeyType type) const;
  /// The given value, or the declared default parsed as YAML, or nullopt for an optional key.
  [[nodiscard]] std::optional<ConfigNode> value(const KeyDecl& d, std::string_view key) const;

  const Schema* m_schema;
  ConfigNode m_node;
  std::string m_path;
};

}  // namespace rdasim::core
