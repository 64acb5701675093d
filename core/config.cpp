// YAML loading with marks, overrides and strict, located validation errors.
#include "core/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include "core/files.h"
#include "core/text.h"

namespace rdasim::core {

/// What all nodes of one document share: its name and which key paths came from `--set`.
struct ConfigDocument {
  std::string source_name;
  /// Key paths set by --set, in the order applied, with their origin ("--set path=value"). A value
  /// at or under such a path is located at the last override that wrote it.
  std::vector<std::pair<std::string, std::string>> overridden;
};

namespace {

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::optional<std::size_t> parse_index(std::string_view text) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

/// Applies one override and returns the canonical key path it wrote (list indices as written
/// by ConfigNode: "tiers.0", never "tiers.00").
std::string apply_override(YAML::Node root, const Override& ov) {
  const std::string origin = fmt::format("--set {}={}", ov.path, ov.value);
  auto fail = [&](const std::string& message) { throw InputError(Location{origin}, message); };

  YAML::Node value;
  try {
    value = YAML::Load(ov.value);
  } catch (const YAML::Exception& e) {
    fail(fmt::format("the value is not valid YAML: {}", e.msg));
  }
  if (value.IsNull()) fail("the value is empty or null; expected a value after '='");

  const auto segments = split_path(ov.path);
  YAML::Node current = root;
  std::string walked;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& seg = segments[i];
    const bool last = i + 1 == segments.size();
    if (current.IsSequence()) {
      auto index = parse_index(seg);
      if (current.size() == 0) fail(fmt::format("'{}' is an empty list; it has no element '{}'", walked, seg));
      if (!index || *index >= current.size()) {
        fail(fmt::format("'{}' is a list of {}; expected an index from 0 to {}, found '{}'", walked,
                         plural(current.size(), "element"), current.size() - 1, seg));
      }
      walked = join_path(walked, std::to_string(*index));
      if (last) {
        current[*index] = value;
        return walked;
      }
      YAML::Node next = current[*index];
      current.reset(next);
      continue;
    }
    if (!current.IsMap() && !current.IsNull()) {
      fail(fmt::format("'{}' is a single value; it has no key '{}'", walked, seg));
    }
    walked = join_path(walked, seg);
    if (last) {
      current[seg] = value;
      return walked;
    }
    if (!current[seg]) current[seg] = YAML::Node(YAML::NodeType::Map);
    YAML::Node next = current[seg];
    current.reset(next);
  }
  return walked;
}

/// Counts the documents of a text that hold something (not just "---"), reading at most a few
/// documents, and returns where the second one starts.
class DocumentCounter : public YAML::EventHandler {
 public:
  int documents = 0;
  std::optional<YAML::Mark> second;

  void OnDocumentStart(const YAML::Mark&) override { m_content = false; }
  void OnDocumentEnd() override { documents += m_content ? 1 : 0; }
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { note(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { note(mark); }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    note(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    note(mark);
  }
  void OnMapEnd() override {}

 private:
  void note(const YAML::Mark& mark) {
    if (!m_content && documents == 1) second = mark;
    m_content = true;
  }
  bool m_content = false;
};

std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (int i = 0; i < 4 && counter.documents < 2 && parser.HandleNextDocument(counter); ++i) {
  }
  return counter.documents >= 2 ? counter.second : std::nullopt;
}

}  // namespace

// --- Override, Bounds ----------------------------------------------------------------------

Override Override::parse(std::string_view text) {
  const auto eq = text.find('=');
  const Location where{fmt::format("--set {}", text)};
  if (eq == std::string_view::npos) {
    throw InputError(where, "expected key.path=value, found no '='");
  }
  Override ov{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
  if (ov.path.empty()) throw InputError(where, "expected key.path=value, found no key");
  for (const auto& part : split_path(ov.path)) {
    if (part.empty()) throw InputError(where, "the key path has an empty part ('..' or a dot at an end)");
  }
  return ov;
}

bool Bounds::contains(double v) const {
  if (!std::isfinite(v)) return false;
  if (lo_open ? !(v > lo) : !(v >= lo)) return false;
  if (hi_open ? !(v < hi) : !(v <= hi)) return false;
  return true;
}

std::string Bounds::describe() const {
  const bool has_lo = std::isfinite(lo);
  const bool has_hi = std::isfinite(hi);
  if (has_lo && has_hi) {
    return fmt::format(" in {}{}, {}{}", lo_open ? "(" : "[", format_number(lo), format_number(hi),
                       hi_open ? ")" : "]");
  }
  if (has_lo) return fmt::format(" {} {}", lo_open ? ">" : ">=", format_number(lo));
  if (has_hi) return fmt::format(" {} {}", hi_open ? "<" : "<=", format_number(hi));
  return {};
}

// --- loading --------------------------------------------------------------------------------

ConfigNode::ConfigNode(std::shared_ptr<const ConfigDocument> doc, YAML::Node node, std::string path)
    : m_doc(std::move(doc)),
      m_node(std::move(node)),
      m_path(std::move(path)) {}

ConfigNode ConfigNode::load_file(const std::filesystem::path& path, std::span<const Override> overrides) {
  return parse(read_text_file(path), path.string(), overrides);
}

ConfigNode ConfigNode::parse(const std::string& text, const std::string& source_name,
                             std::span<const Override> overrides) {
  auto doc = std::make_shared<ConfigDocument>();
  doc->source_name = source_name;
  // YAML allows no control characters but tab and line breaks; they are refused before
  // yaml-cpp sees them (a NUL once sent it into an endless loop; found by fuzzing).
  int line = 1;
  int column = 1;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      throw InputError(Location(source_name, line, column),
                       fmt::format("malformed YAML: control character 0x{:02x} is not allowed", c));
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  YAML::Node root;
  try {
    // yaml-cpp 0.7's LoadAll can loop forever on stray input (",\n"; found by fuzzing), so the
    // first document is loaded alone and a second one is looked for with a bounded scan.
    root = YAML::Load(text);
    if (auto second = second_document(text)) {
      throw InputError(Location(source_name, second->line + 1, second->column + 1),
                       "the file holds more than one YAML document; expected one");
    }
  } catch (const YAML::ParserException& e) {
    throw InputError(Location{source_name, e.mark.line + 1, e.mark.column + 1},
                     fmt::format("malformed YAML: {}", e.msg));
  } catch (const YAML::Exception& e) {
    throw InputError(Location{source_name}, fmt::format("malformed YAML: {}", e.msg));
  }
  if (!root.IsMap() && !(root.IsNull() && !overrides.empty())) {
    ConfigNode(doc, root, "").fail_expected("a mapping of keys at the top of the document");
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& ov : overrides) {
    doc->overridden.emplace_back(apply_override(root, ov), fmt::format("--set {}={}", ov.path, ov.value));
  }
  return ConfigNode(std::move(doc), root, "");
}

// --- shape and access -----------------------------------------------------------------------

std::string ConfigNode::describe_found() const {
  if (!m_node || m_node.IsNull()) return "nothing";
  if (m_node.IsMap()) return "a mapping";
  if (m_node.IsSequence()) return "a list of " + plural(m_node.size(), "element");
  return fmt::format("'{}'", printable(m_node.Scalar()));
}

ConfigNode ConfigNode::child(std::string_view key, const YAML::Node& node) const {
  return ConfigNode(m_doc, node, join_path(m_path, key));
}

bool ConfigNode::has(std::string_view key) const { return find(key).has_value(); }

std::optional<ConfigNode> ConfigNode::find(std::string_view key) const {
  if (!m_node.IsMap()) fail_expected("a mapping");
  // Iterate by value: yaml-cpp's iterator `->` points into a temporary.
  for (const auto& entry : m_node) {
    if (entry.first.IsScalar() && entry.first.Scalar() == key) return child(key, entry.second);
  }
  return std::nullopt;
}

ConfigNode ConfigNode::at(std::string_view key) const {
  if (auto found = find(key)) return *found;
  fail(fmt::format("missing required key '{}'", key));
}

std::vector<std::string> ConfigNode::keys() const {
  if (!m_node.IsMap()) fail_expected("a mapping");
  std::vector<std::string> out;
  for (const auto& entry : m_node) out.push_back(entry.first.Scalar());
  return out;
}

void ConfigNode::check_keys(std::initializer_list<std::string_view> allowed) const {
  std::vector<std::string> names(allowed.begin(), allowed.end());
  check_keys(std::span<const std::string>(names));
}

void ConfigNode::check_keys(std::span<const std::string> allowed) const {
  if (!m_node.IsMap()) fail_expected("a mapping");
  std::set<std::string, std::less<>> seen;
  for (const auto& entry : m_node) {
    const YAML::Node key_node = entry.first;
    const ConfigNode key(m_doc, key_node, join_path(m_path, key_node.IsScalar() ? key_node.Scalar() : "?"));
    if (!key_node.IsScalar()) key.fail_expected("a plain key");
    const std::string& name = key_node.Scalar();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      key.fail(fmt::format("unknown key '{}'{}; allowed here: {}", printable(name), did_you_mean(name, allowed),
                           quoted_list(allowed)));
    }
    if (!seen.insert(name).second) key.fail(fmt::format("key '{}' appears twice", name));
  }
}

std::vector<ConfigNode> ConfigNode::elements() const {
  if (!m_node.IsSequence()) fail_expected("a list");
  std::vector<ConfigNode> out;
  out.reserve(m_node.size());
  for (std::size_t i = 0; i < m_node.size(); ++i) {
    out.push_back(child(std::to_string(i), m_node[i]));
  }
  return out;
}

// --- scalars --------------------------------------------------------------------------------

const std::string& ConfigNode::scalar_text(const char* expected) const {
  if (!m_node.IsScalar()) fail_expected(expected);
  if (!is_valid_utf8(m_node.Scalar())) fail(fmt::format("expected UTF-8 text, found {}", describe_found()));
  return m_node.Scalar();
}

const std::string& ConfigNode::number_text(const std::string& expected) const {
  const std::string& text = scalar_text(expected.c_str());
  // A quoted value is a string, whatever it spells: YAML says '4' is not the number 4.
  if (m_node.Tag() == "!") {
    fail(fmt::format("expected {}, found the text {} (a quoted or block scalar is never a number)", expected,
                     describe_found()));
  }
  return text;
}

std::string ConfigNode::as_string() const { return scalar_text("a string"); }

std::int64_t ConfigNode::as_int(Bounds bounds) const {
  const std::string expected = "an integer" + bounds.describe();
  const std::string& text = number_text(expected);
  std::int64_t value = 0;
  const char* begin = text.data();
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') ++begin;
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || begin == end) {
    fail_expected(expected);
  }
  if (!bounds.contains(static_cast<double>(value))) fail_expected(expected);
  return value;
}

double ConfigNode::as_double(Bounds bounds) const {
  const std::string expected = "a number" + bounds.describe();
  const std::string& text = number_text(expected);
  double value = 0;
  const char* begin = text.data();
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') ++begin;
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || begin == end || !std::isfinite(value)) {
    fail_expected(expected);
  }
  if (!bounds.contains(value)) fail_expected(expected);
  return value;
}

bool ConfigNode::as_bool() const {
  const std::string& text = scalar_text("true or false");
  if (text == "true" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "no" || text == "off") return false;
  fail_expected("true or false");
}

std::string ConfigNode::as_choice(std::span<const std::string> choices) const {
  const std::string expected = "one of " + quoted_list(choices);
  const std::string& text = scalar_text(expected.c_str());
  if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
  fail(fmt::format("expected {}, found '{}'{}", expected, printable(text), did_you_mean(text, choices)));
}

// --- locations ------------------------------------------------------------------------------

Location ConfigNode::location() const {
  // A value set by --set, or inside a value set so, is located at the last override that wrote
  // it; so is a mapping that an override created on its way to its key.
  for (auto it = m_doc->overridden.rbegin(); it != m_doc->overridden.rend(); ++it) {
    const std::string& path = it->first;
    const bool inside = m_path == path || m_path.starts_with(path + ".");
    const bool created = !m_path.empty() && path.starts_with(m_path + ".") && m_node.Mark().is_null();
    if (inside || created) return Location(it->second, 0, 0, m_path);
  }
  Location where{m_doc->source_name, 0, 0, m_path};
  if (m_node) {
    const YAML::Mark mark = m_node.Mark();
    if (!mark.is_null()) {
      where.line = mark.line + 1;
      where.column = mark.column + 1;
    }
  }
  return where;
}

void ConfigNode::fail(const std::string& message) const { throw InputError(location(), message); }

void ConfigNode::fail_expected(const std::string& expected) const {
  fail(fmt::format("expected {}, found {}", expected, describe_found()));
}

}  // namespace rdasim::core
