// Records that write and read themselves as JSON objects from one list of fields: a struct
// declares `static constexpr auto json_fields()`, a tuple of its members with their JSON names,
// and to_json_value / from_json_value walk it (nested records, vectors of them, enums by name).
// Adding a field to a mapping or a report is then one member plus one line in its list. Reads
// name the key path of a missing or mistyped value: "mapping.tenants[0].sections[2].pcus is
// missing".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json.h"

namespace rdasim::core {

/// Names the values of an enum for JSON. Specialize it beside the enum:
///   template <> struct JsonEnum<E> {
///     static const char* name(E);                       // the value's word
///     static std::optional<E> parse(std::string_view);  // nullopt for any other word
///     static constexpr const char* expected = "a, b or c";
///   };
template <class E>
struct JsonEnum;

/// Reads with the key path of the value in every error, for one source (a file name).
class JsonReader {
 public:
  explicit JsonReader(std::string source) : m_source(std::move(source)) {}
  [[nodiscard]] const std::string& source() const { return m_source; }
  /// Throws InputError: "<path> <what>", located at the source.
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw InputError(Location(m_source), fmt::format("{} {}", path, what));
  }

 private:
  std::string m_source;
};

/// A member written and read under `name`. An optional field may be absent (it keeps its
/// default) and is written only when it differs from a default-constructed value, so records
/// written before the field existed still read.
template <class T, class M, bool Optional = false>
struct Field {
  const char* name;
  M T::*member;
};
template <class T, class M>
constexpr Field<T, M> field(const char* name, M T::*member) {
  return {name, member};
}
template <class T, class M>
constexpr Field<T, M, true> optional_field(const char* name, M T::*member) {
  return {name, member};
}

/// A value written for readers of the file but never read back, because it follows from the
/// others (a section's cycles from its start and end).
template <class F>
struct Derived {
  const char* name;
  F value;  ///< value(const Record&) -> something Json takes
};
template <class F>
constexpr Derived<F> derived(const char* name, F value) {
  return {name, value};
}

/// A value with its own conversion: write(const Record&) -> Json and
/// read(Record&, const Json&, const JsonReader&, const std::string& path).
template <class W, class R>
struct Custom {
  const char* name;
  W write;
  R read;
};
template <class W, class R>
constexpr Custom<W, R> custom(const char* name, W write, R read) {
  return {name, write, read};
}

template <class T>
concept JsonRecord = requires {
  T::json_fields();
};

template <class T>
concept JsonNamedEnum = std::is_enum_v<T> && requires(T v) {
  JsonEnum<T>::name(v);
};

template <class T>
struct IsVector : std::false_type {};
template <class U>
struct IsVector<std::vector<U>> : std::true_type {};

/// A vector of records or named enums, read element by element.
template <class T>
concept JsonVectorOfNamed = IsVector<T>::value &&
    (JsonRecord<typename T::value_type> || JsonNamedEnum<typename T::value_type>);

template <class T>
Json to_json_value(const T& value);
template <class T>
void from_json_value(const Json& j, T& out, const JsonReader& reader, const std::string& path);

namespace detail {

template <class Record, class T, class M, bool Optional>
void write_field(Json& out, const Record& r, const Field<T, M, Optional>& f) {
  const M& v = r.*(f.member);
  if constexpr (Optional) {
    if (v == M{}) return;
  }
  out[f.name] = to_json_value(v);
}
template <class Record, class F>
void write_field(Json& out, const Record& r, const Derived<F>& f) {
  out[f.name] = f.value(r);
}
template <class Record, class W, class R>
void write_field(Json& out, const Record& r, const Custom<W, R>& f) {
  out[f.name] = f.write(r);
}

template <class Record, class T, class M, bool Optional>
void read_field(const Json& j, Record& r, const Field<T, M, Optional>& f, const JsonReader& reader,
                const std::string& path) {
  if (!j.contains(f.name)) {
    if (Optional) return;
    reader.fail(path + "." + f.name, "is missing");
  }
  from_json_value(j.at(f.name), r.*(f.member), reader, path + "." + f.name);
}
template <class Record, class F>
void read_field(const Json&, Record&, const Derived<F>&, const JsonReader&, const std::string&) {}
template <class Record, class W, class R>
void read_field(const Json& j, Record& r, const Custom<W, R>& f, const JsonReader& reader, const std::string& path) {
  if (!j.contains(f.name)) reader.fail(path + "." + f.name, "is missing");
  f.read(r, j.at(f.name), reader, path + "." + f.name);
}

}  // namespace detail

/// The JSON of a record (an object in json_fields order), a vector, an enum (its name) or a
/// plain value.
template <class T>
Json to_json_value(const T& value) {
  if constexpr (JsonRecord<T>) {
    Json out = Json::object();
    std::apply([&](const auto&... f) { (detail::write_field(out, value, f), ...); }, T::json_fields());
    return out;
  } else if constexpr (JsonNamedEnum<T>) {
    return JsonEnum<T>::name(value);
  } else if constexpr (IsVector<T>::value) {
    Json out = Json::array();
    for (const auto& v : value) out.push_back(to_json_value(v));
    return out;
  } else {
    return Json(value);
  }
}

namespace detail {
template <class Record, class T, class M, bool Optional, class Skip>
void digest_field(JsonDigest& d, const Record& r, const Field<T, M, Optional>& f, const Skip& skip);
template <class Record, class F, class Skip>
void digest_field(JsonDigest& /*d*/, const Record& /*r*/, const Derived<F>& /*f*/, const Skip& /*skip*/) {}  // follows
template <class Record, class W, class R, class Skip>
void digest_field(JsonDigest& d, const Record& r, const Custom<W, R>& f, const Skip& skip) {
  if (skip(std::string_view(f.name))) return;
  d.add_text(f.name);
  d.add(f.write(r));
}
}  // namespace detail

/// Feeds what to_json_value would write into a digest without building the JSON (a prefill
/// section's streams are millions of values); fields whose name `skip` accepts are left out, at
/// every depth. Derived fields follow from the others and are left out too.
template <class T, class Skip>
void digest_value(JsonDigest& d, const T& value, const Skip& skip) {
  if constexpr (JsonRecord<T>) {
    std::apply([&](const auto&... f) { (detail::digest_field(d, value, f, skip), ...); }, T::json_fields());
  } else if constexpr (JsonNamedEnum<T>) {
    d.add_text(JsonEnum<T>::name(value));
  } else if constexpr (IsVector<T>::value) {
    const std::uint64_t size = value.size();
    d.add_bytes(&size, sizeof size);
    for (const auto& v : value) digest_value(d, v, skip);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    d.add_text(value);
  } else if constexpr (std::is_arithmetic_v<T>) {
    d.add_bytes(&value, sizeof value);
  } else {
    d.add(Json(value));
  }
}

namespace detail {
template <class Record, class T, class M, bool Optional, class Skip>
void digest_field(JsonDigest& d, const Record& r, const Field<T, M, Optional>& f, const Skip& skip) {
  if (skip(std::string_view(f.name))) return;
  d.add_text(f.name);
  digest_value(d, r.*(f.member), skip);
}
}  // namespace detail

/// Reads what to_json_value wrote into `out`; throws InputError naming `path` and the key of a
/// missing or mistyped value.
template <class T>
void from_json_value(const Json& j, T& out, const JsonReader& reader, const std::string& path) {
  if constexpr (JsonRecord<T>) {
    if (!j.is_object()) reader.fail(path, fmt::format("must be an object, found {}", j.type_name()));
    std::apply([&](const auto&... f) { (detail::read_field(j, out, f, reader, path), ...); }, T::json_fields());
  } else if constexpr (JsonNamedEnum<T>) {
    if (!j.is_string()) reader.fail(path, fmt::format("has the wrong type ({})", j.type_name()));
    const auto word = j.get<std::string>();
    const auto v = JsonEnum<T>::parse(word);
    if (!v) reader.fail(path, fmt::format("is '{}'; expected {}", word, JsonEnum<T>::expected));
    out = *v;
  } else if constexpr (JsonVectorOfNamed<T>) {
    if (!j.is_array()) reader.fail(path, "must be an array");
    out.resize(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) from_json_value(j[i], out[i], reader, fmt::format("{}[{}]", path, i));
  } else {
    try {
      out = j.get<T>();
    } catch (const Json::exception&) {
      reader.fail(path, fmt::format("has the wrong type ({})", j.type_name()));
    }
  }
}

}  // namespace rdasim::core
