// Schema: declarations, validation of sections, typed reads with defaults, documentation.
#include "core/schema.h"

#include <fmt/format.h>

#include "core/text.h"

namespace rdasim::core {

namespace {

const char* type_name(KeyType type) {
  switch (type) {
    case KeyType::integer: return "integer";
    case KeyType::number: return "number";
    case KeyType::text: return "string";
    case KeyType::choice: return "choice";
    case KeyType::section: return "section";
    case KeyType::list: return "list";
  }
  return "?";
}

std::string parent_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? std::string{} : path.substr(0, dot);
}

std::string leaf_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::string join(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

ConfigNode default_node(const KeyDecl& d) {
  return ConfigNode::parse("value: " + d.default_value, "default of " + d.path).at("value");
}

std::string allowed_text(const KeyDecl& d) {
  if (d.type == KeyType::choice) return quoted_list(d.choices);
  if (d.type == KeyType::integer || d.type == KeyType::number) {
    std::string range = d.bounds.describe();
    return range.empty() ? std::string{} : range.substr(1);  // drop the leading space
  }
  return {};
}

std::string presence_text(const KeyDecl& d) {
  switch (d.presence) {
    case Presence::required: return "required";
    case Presence::defaulted: return d.default_value;
    case Presence::optional: return "optional";
  }
  return {};
}

}  // namespace

Schema::Schema(std::string document_kind, std::vector<KeyDecl> keys)
    : m_kind(std::move(document_kind)),
      m_keys(std::move(keys)) {
  m_children[""];  // the root always exists
  for (std::size_t i = 0; i < m_keys.size(); ++i) {
    const KeyDecl& d = m_keys[i];
    RDASIM_ASSERT(m_index.emplace(d.path, i).second, "key declared twice: " + d.path);
    m_children[parent_of(d.path)].push_back(leaf_of(d.path));
    if (d.type == KeyType::section) m_children[d.path];
    if (d.type == KeyType::list) m_children[d.path + "[]"];
    if (d.presence == Presence::defaulted) {
      // A default that its own declaration rejects is a bug in the schema, found at start-up.
      try {
        const ConfigNode v = default_node(d);
        if (d.type == KeyType::integer) (void)v.as_int(d.bounds);
        if (d.type == KeyType::number) (void)v.as_double(d.bounds);
      } catch (const InputError& e) {
        RDASIM_ASSERT(false, fmt::format("bad default for {}: {}", d.path, e.what()));
      }
    }
  }
}

SectionReader Schema::root(const ConfigNode& node) const { return SectionReader(*this, node, ""); }

const KeyDecl* Schema::find(std::string_view path) const {
  auto it = m_index.find(path);
  return it == m_index.end() ? nullptr : &m_keys[it->second];
}

const std::vector<std::string>& Schema::children(std::string_view section) const {
  auto it = m_children.find(section);
  RDASIM_ASSERT(it != m_children.end(), fmt::format("no section '{}' in the {} schema", section, m_kind));
  return it->second;
}

Json Schema::describe() const {
  Json keys = Json::array();
  for (const auto& d : m_keys) {
    Json k = {{"key", d.path}, {"type", type_name(d.type)}};
    if (!d.unit.empty()) k["unit"] = d.unit;
    if (auto allowed = allowed_text(d); !allowed.empty()) k["allowed"] = allowed;
    k["presence"] = d.presence == Presence::required    ? "required"
                    : d.presence == Presence::defaulted ? "default"
                                                        : "optional";
    if (d.presence == Presence::defaulted) k["default"] = d.default_value;
    k["description"] = d.description;
    keys.push_back(std::move(k));
  }
  return {{"document", m_kind}, {"keys", keys}};
}

std::string Schema::describe_markdown() const {
  std::string out =
      "| key | type | unit | allowed | default | description |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& d : m_keys) {
    out += fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", d.path, type_name(d.type), d.unit, allowed_text(d),
                       presence_text(d), d.description);
  }
  return out;
}

// --- declarations -------------------------------------------------------------------------

namespace decl {

KeyDecl integer(std::string path, std::string unit, std::string description, Bounds bounds, Presence presence,
                std::string default_value) {
  return {std::move(path), KeyType::integer,         std::move(unit), std::move(description),
          presence,        std::move(default_value), bounds,          {}};
}

KeyDecl number(std::string path, std::string unit, std::string description, Bounds bounds, Presence presence,
               std::string default_value) {
  return {std::move(path), KeyType::number,          std::move(unit), std::move(description),
          presence,        std::move(default_value), bounds,          {}};
}

KeyDecl text(std::string path, std::string description, Presence presence) {
  return {std::move(path), KeyType::text, {}, std::move(description), presence, {}, {}, {}};
}

KeyDecl choice(std::string path, std::string description, std::vector<std::string> choices, Presence presence,
               std::string default_value) {
  return {std::move(path), KeyType::choice,          {}, std::move(description),
          presence,        std::move(default_value), {}, std::move(choices)};
}

KeyDecl section(std::string path, std::string description) {
  return {std::move(path), KeyType::section, {}, std::move(description), Presence::required, {}, {}, {}};
}

KeyDecl list(std::string path, std::string description, Presence presence) {
  return {std::move(path), KeyType::list, {}, std::move(description), presence, {}, {}, {}};
}

}  // namespace decl

// --- SectionReader --------------------------------------------------------------------------

SectionReader::SectionReader(const Schema& schema, ConfigNode node, std::string schema_path)
    : m_schema(&schema),
      m_node(std::move(node)),
      m_path(std::move(schema_path)) {
  m_node.check_keys(m_schema->children(m_path));
}

const KeyDecl& SectionReader::decl(std::string_view key, KeyType type) const {
  const KeyDecl* d = m_schema->find(join(m_path, key));
  RDASIM_ASSERT(d != nullptr, fmt::format("undeclared key '{}' read", join(m_path, key)));
  RDASIM_ASSERT(d->type == type,
                fmt::format("key '{}' declared as {}, read as {}", d->path, type_name(d->type), type_name(type)));
  return *d;
}

std::optional<ConfigNode> SectionReader::value(const KeyDecl& d, std::string_view key) const {
  if (auto given = m_node.find(key)) return given;
  switch (d.presence) {
    case Presence::required: m_node.fail(fmt::format("missing required key '{}' ({})", key, d.description));
    case Presence::defaulted: return default_node(d);
    case Presence::optional: return std::nullopt;
  }
  return std::nullopt;
}

SectionReader::Required SectionReader::required(std::string_view key, KeyType type) const {
  const KeyDecl& d = decl(key, type);
  auto v = value(d, key);
  RDASIM_ASSERT(v.has_value(), "optional key read as required: " + d.path);
  return {d, std::move(*v)};
}

std::int64_t SectionReader::integer(std::string_view key) const {
  const auto [d, v] = required(key, KeyType::integer);
  return v.as_int(d.bounds);
}

double SectionReader::number(std::string_view key) const {
  const auto [d, v] = required(key, KeyType::number);
  return v.as_double(d.bounds);
}

std::optional<std::int64_t> SectionReader::optional_integer(std::string_view key) const {
  const KeyDecl& d = decl(key, KeyType::integer);
  auto v = value(d, key);
  return v ? std::optional(v->as_int(d.bounds)) : std::nullopt;
}

std::optional<double> SectionReader::optional_number(std::string_view key) const {
  const KeyDecl& d = decl(key, KeyType::number);
  auto v = value(d, key);
  return v ? std::optional(v->as_double(d.bounds)) : std::nullopt;
}

std::string SectionReader::text(std::string_view key) const {
  const auto [d, v] = required(key, KeyType::text);
  std::string s = v.as_string();
  if (s.empty()) v.fail_expected("a non-empty string");
  return s;
}

std::string SectionReader::choice(std::string_view key) const {
  const auto [d, v] = required(key, KeyType::choice);
  return v.as_choice(d.choices);
}

SectionReader SectionReader::section(std::string_view key) const {
  const auto [d, v] = required(key, KeyType::section);
  return SectionReader(*m_schema, v, d.path);
}

std::vector<SectionReader> SectionReader::list(std::string_view key) const {
  const KeyDecl& d = decl(key, KeyType::list);
  auto v = value(d, key);
  std::vector<SectionReader> out;
  if (!v) return out;  // an absent optional list is an empty one
  for (auto& element : v->elements()) out.emplace_back(*m_schema, element, d.path + "[]");
  return out;
}

std::optional<ConfigNode> SectionReader::node(std::string_view key) const {
  const KeyDecl* d = m_schema->find(join(m_path, key));
  RDASIM_ASSERT(d != nullptr, fmt::format("undeclared key '{}' read", join(m_path, key)));
  return value(*d, key);
}

}  // namespace rdasim::core
