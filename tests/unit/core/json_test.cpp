// core/json: deterministic key order, atomic writes, stable hashes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "core/json_fields.h"

using namespace rdasim::core;

TEST_CASE("JSON keys keep insertion order", "[core][json]") {
  Json doc;
  doc["zeta"] = 1;
  doc["alpha"] = 2;
  doc["mid"] = {{"b", 1}, {"a", 2}};
  CHECK(doc.dump() == R"({"zeta":1,"alpha":2,"mid":{"b":1,"a":2}})");
  CHECK(to_json_text(doc).back() == '\n');
}

TEST_CASE("write_json_file creates folders and leaves no temporary", "[core][json]") {
  const auto dir = std::filesystem::temp_directory_path() / "rdasim_json_test";
  std::filesystem::remove_all(dir);
  const auto path = dir / "nested" / "report.json";
  write_json_file(path, Json{{"cycles", 42}});
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(Json::parse(text.str())["cycles"] == 42);
  CHECK_FALSE(std::filesystem::exists(dir / "nested" / "report.json.tmp"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("write_json_file reports a path it cannot write", "[core][json][errors]") {
  // A regular file where a folder should be.
  const auto blocker = std::filesystem::temp_directory_path() / "rdasim_json_blocker";
  std::ofstream(blocker) << "x";
  CHECK_THROWS_AS(write_json_file(blocker / "report.json", Json{}), InputError);
  std::filesystem::remove(blocker);
}

TEST_CASE("stable_hash is FNV-1a and deterministic", "[core][json]") {
  CHECK(stable_hash("") == "cbf29ce484222325");
  CHECK(stable_hash("a") == "af63dc4c8601ec8c");
  CHECK(stable_hash("config") == stable_hash("config"));
  CHECK(stable_hash("config") != stable_hash("configs"));
}

TEST_CASE("write_text_file refuses folders and special files", "[core][files][errors]") {
  CHECK_THROWS_WITH(write_text_file(std::filesystem::temp_directory_path(), "x"),
                    Catch::Matchers::Contains("it is a directory"));
  CHECK_THROWS_WITH(write_text_file("/dev/null", "x"), Catch::Matchers::Contains("not a regular file"));
  CHECK(std::filesystem::is_character_file("/dev/null"));  // still a device
}

TEST_CASE("read_text_file limits the size", "[core][files][errors]") {
  const auto path = std::filesystem::temp_directory_path() / "rdasim_big_file";
  write_text_file(path, std::string(100, 'x'));
  CHECK(read_text_file(path).size() == 100);
  CHECK_THROWS_WITH(read_text_file(path, 10), Catch::Matchers::Contains("the file is 100 B; expected at most 10 B"));
  std::filesystem::remove(path);
}

TEST_CASE("read_text_file gives back what write_text_file wrote, byte for byte", "[core][files]") {
  const auto path = std::filesystem::temp_directory_path() / "rdasim_round_trip";
  std::string bytes;
  for (int i = 0; i < 3 << 20; ++i) bytes.push_back(static_cast<char>(i * 7 % 256));  // NULs included
  for (const std::string& text : {std::string{}, std::string("one line\n"), bytes}) {
    write_text_file(path, text);
    CHECK(read_text_file(path) == text);
  }
  std::filesystem::remove(path);
}

TEST_CASE("JsonDigest tells documents apart by value, type and order", "[core][json]") {
  const auto of = [](const char* text) { return JsonDigest::of(Json::parse(text)); };
  CHECK(of(R"({"a": [1, 2.5, "x"], "b": true})") == of(R"({"a": [1, 2.5, "x"], "b": true})"));
  CHECK(of(R"({"a": [1, 2]})") != of(R"({"a": [2, 1]})"));  // order counts
  CHECK(of(R"([1])") != of(R"([1.0])"));                    // an integer is not a float
  CHECK(of(R"(["ab", "c"])") != of(R"(["a", "bc"])"));      // strings carry their lengths
  CHECK(of(R"([[1], 2])") != of(R"([1, [2]])"));
  CHECK(of(R"({"a": 1})") != of(R"({"b": 1})"));
  CHECK(of("null") != of("false"));
  JsonDigest twice;
  twice.add(of("1"));
  twice.add(of("2"));
  JsonDigest swapped;
  swapped.add(of("2"));
  swapped.add(of("1"));
  CHECK(twice.value() != swapped.value());
}

TEST_CASE("digest_value digests a record as its JSON would read, leaving out the fields asked", "[core][json]") {
  struct Leaf {
    std::string name;
    std::vector<int> values;
    static constexpr auto json_fields() {
      return std::tuple{field("name", &Leaf::name), field("values", &Leaf::values)};
    }
  };
  const auto none = [](std::string_view) { return false; };
  const auto names = [](std::string_view f) { return f == "name"; };
  const auto of = [](const Leaf& leaf, const auto& skip) {
    JsonDigest d;
    digest_value(d, leaf, skip);
    return d.value();
  };
  const Leaf a{"a", {1, 2}}, b{"b", {1, 2}}, c{"a", {2, 1}};
  CHECK(of(a, none) != of(b, none));
  CHECK(of(a, names) == of(b, names));  // only the names differ
  CHECK(of(a, names) != of(c, names));
}
