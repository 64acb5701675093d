// core/config: locations, strict keys, typed scalars and --set overrides.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/config.h"

using namespace rdasim::core;
using Catch::Matchers::Contains;

namespace {

const char* k_doc =
    "name: test\n"
    "pcu:\n"
    "  lanes: 16\n"
    "  stages: six\n"
    "memory:\n"
    "  tiers:\n"
    "    - name: ddr\n"
    "      bandwidth_gbps: 51.2\n";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("nodes know their file, line, column and key path", "[core][config]") {
  const auto root = ConfigNode::parse(k_doc, "doc.yaml");
  const auto lanes = root.at("pcu").at("lanes");
  CHECK(lanes.as_int() == 16);
  const Location where = lanes.location();
  CHECK(where.file == "doc.yaml");
  CHECK(where.line == 3);
  CHECK(where.column == 10);
  CHECK(where.key_path == "pcu.lanes");
  const auto tier = root.at("memory").at("tiers").elements().at(0);
  CHECK(tier.path() == "memory.tiers.0");
  CHECK(tier.at("bandwidth_gbps").as_double() == Approx(51.2));
  CHECK(tier.at("bandwidth_gbps").location().str() == "doc.yaml:8:23: memory.tiers.0.bandwidth_gbps");
}

TEST_CASE("typed reads say what was expected and what was found", "[core][config][errors]") {
  const auto root = ConfigNode::parse(k_doc, "doc.yaml");
  CHECK(error_of([&] { (void)root.at("pcu").at("stages").as_int(Bounds::at_least(1)); }) ==
        "doc.yaml:4:11: pcu.stages: expected an integer >= 1, found 'six'");
  CHECK(error_of([&] { (void)root.at("pcu").at("lanes").as_int(Bounds::between(1, 8)); }) ==
        "doc.yaml:3:10: pcu.lanes: expected an integer in [1, 8], found '16'");
  CHECK(error_of([&] { (void)root.at("pcu").as_int(); }) == "doc.yaml:3:3: pcu: expected an integer, found a mapping");
  CHECK(error_of([&] { (void)root.at("name").as_double(); }) == "doc.yaml:1:7: name: expected a number, found 'test'");
  CHECK(error_of([&] { (void)root.at("memory").at("tiers").elements().at(0).at("bandwidth_gbps").as_int(); }) ==
        "doc.yaml:8:23: memory.tiers.0.bandwidth_gbps: expected an integer, found '51.2'");
  CHECK(error_of([&] { (void)root.at("pcu").at("stages").as_bool(); }) ==
        "doc.yaml:4:11: pcu.stages: expected true or false, found 'six'");
}

TEST_CASE("numbers: signs, exponents and bounds", "[core][config]") {
  const auto root = ConfigNode::parse("a: +3\nb: -2\nc: 1e3\nd: .5\ne: 0\n", "n.yaml");
  CHECK(root.at("a").as_int() == 3);
  CHECK(root.at("b").as_int() == -2);
  CHECK(root.at("c").as_double() == 1000.0);
  CHECK(root.at("d").as_double() == 0.5);
  CHECK_THROWS_WITH(root.at("b").as_int(Bounds::at_least(1)), Contains("expected an integer >= 1, found '-2'"));
  CHECK_THROWS_WITH(root.at("e").as_double(Bounds::above(0)), Contains("expected a number > 0, found '0'"));
  CHECK_THROWS_WITH(root.at("c").as_int(), Contains("expected an integer, found '1e3'"));
}

TEST_CASE("missing keys are reported at the enclosing mapping", "[core][config][errors]") {
  const auto root = ConfigNode::parse(k_doc, "doc.yaml");
  CHECK(error_of([&] { (void)root.at("pcu").at("precision"); }) ==
        "doc.yaml:3:3: pcu: missing required key 'precision'");
  CHECK_FALSE(root.at("pcu").has("precision"));
}

TEST_CASE("unknown keys fail with a suggestion at the key itself", "[core][config][errors]") {
  const auto root = ConfigNode::parse(k_doc, "doc.yaml");
  CHECK(error_of([&] {
          root.at("pcu").check_keys({"lanes", "stage"});
        }) ==
        "doc.yaml:4:3: pcu.stages: unknown key 'stages' (did you mean 'stage'?); allowed here: "
        "'lanes' or 'stage'");
  CHECK_NOTHROW(root.at("pcu").check_keys({"lanes", "stages", "precision"}));
}

TEST_CASE("a repeated key is an error", "[core][config][errors]") {
  const auto root = ConfigNode::parse("a: 1\nb: 2\na: 3\n", "dup.yaml");
  CHECK(error_of([&] { root.check_keys({"a", "b"}); }) == "dup.yaml:3:1: a: key 'a' appears twice");
}

TEST_CASE("choices list what is allowed", "[core][config][errors]") {
  const std::vector<std::string> k_precisions{"fp32", "bf16_fp32acc"};
  const auto root = ConfigNode::parse("precision: bf16\n", "c.yaml");
  CHECK(error_of([&] { (void)root.at("precision").as_choice(k_precisions); }) ==
        "c.yaml:1:12: precision: expected one of 'fp32' or 'bf16_fp32acc', found 'bf16' (did you "
        "mean 'bf16_fp32acc'?)");
  const auto close = ConfigNode::parse("precision: fp23\n", "c.yaml");
  CHECK_THROWS_WITH(close.at("precision").as_choice(k_precisions), Contains("(did you mean 'fp32'?)"));
}

TEST_CASE("malformed YAML reports the parser's position", "[core][config][errors]") {
  CHECK(error_of([] { (void)ConfigNode::parse("a: [1, 2\nb: 3\n", "bad.yaml"); }).starts_with("bad.yaml:"));
  CHECK_THROWS_WITH(ConfigNode::parse("a: [1, 2\nb: 3\n", "bad.yaml"), Contains("malformed YAML"));
  CHECK(error_of([] { (void)ConfigNode::parse("- 1\n- 2\n", "list.yaml"); }) ==
        "list.yaml:1:1: expected a mapping of keys at the top of the document, found a list of 2 elements");
  CHECK(error_of([] { (void)ConfigNode::parse("", "empty.yaml"); }) ==
        "empty.yaml: expected a mapping of keys at the top of the document, found nothing");
}

TEST_CASE("files that cannot be read", "[core][config][errors]") {
  CHECK(error_of([] { (void)ConfigNode::load_file("no/such/file.yaml"); }) ==
        "no/such/file.yaml: cannot read the file: it does not exist");
  const auto dir = std::filesystem::temp_directory_path();
  CHECK_THROWS_WITH(ConfigNode::load_file(dir), Contains("it is a directory"));
}

TEST_CASE("overrides replace, add and index into lists", "[core][config][override]") {
  const std::vector<Override> overrides{
      Override::parse("pcu.lanes=32"),
      Override::parse("pcu.precision=bf16_fp32acc"),
      Override::parse("memory.tiers.0.bandwidth_gbps=100"),
      Override::parse("network.hop_latency_cycles=2"),
  };
  const auto root = ConfigNode::parse(k_doc, "doc.yaml", overrides);
  CHECK(root.at("pcu").at("lanes").as_int() == 32);
  CHECK(root.at("pcu").at("precision").as_string() == "bf16_fp32acc");
  CHECK(root.at("memory").at("tiers").elements().at(0).at("bandwidth_gbps").as_double() == 100.0);
  CHECK(root.at("network").at("hop_latency_cycles").as_int() == 2);
  // Untouched values keep their file positions; overridden ones point at the override.
  CHECK(root.at("pcu").at("stages").location().line == 4);
  CHECK(root.at("pcu").at("lanes").location().str() == "--set pcu.lanes=32: pcu.lanes");
}

TEST_CASE("bad overrides are reported with the override", "[core][config][override][errors]") {
  CHECK(error_of([] { (void)Override::parse("pcu.lanes"); }) ==
        "--set pcu.lanes: expected key.path=value, found no '='");
  CHECK(error_of([] { (void)Override::parse("=3"); }) == "--set =3: expected key.path=value, found no key");
  CHECK_THROWS_WITH(Override::parse("pcu..lanes=3"), Contains("empty part"));
  auto parse_with = [](const char* text) {
    const std::vector<Override> ov{Override::parse(text)};
    return error_of([&] { (void)ConfigNode::parse(k_doc, "doc.yaml", ov); });
  };
  CHECK(parse_with("name.first=x") == "--set name.first=x: 'name' is a single value; it has no key 'first'");
  CHECK(parse_with("memory.tiers.3.name=x") ==
        "--set memory.tiers.3.name=x: 'memory.tiers' is a list of 1 element; expected an index "
        "from 0 to 0, found '3'");
  CHECK(parse_with("pcu.lanes=") == "--set pcu.lanes=: the value is empty or null; expected a value after '='");
  CHECK(parse_with("pcu.lanes=~") == "--set pcu.lanes=~: the value is empty or null; expected a value after '='");
  CHECK_THAT(parse_with("pcu.lanes=[1"), Contains("not valid YAML"));
}

TEST_CASE("an override with a bad value fails at the override when read", "[core][config][override][errors]") {
  const std::vector<Override> ov{Override::parse("pcu.lanes=-4")};
  const auto root = ConfigNode::parse(k_doc, "doc.yaml", ov);
  CHECK(error_of([&] { (void)root.at("pcu").at("lanes").as_int(Bounds::at_least(1)); }) ==
        "--set pcu.lanes=-4: pcu.lanes: expected an integer >= 1, found '-4'");
}

TEST_CASE("quoted scalars are strings, not numbers", "[core][config][errors]") {
  const auto root = ConfigNode::parse("a: '4'\nb: \"2.5\"\nc: +-4\nd: 4\n", "q.yaml");
  CHECK_THROWS_WITH(root.at("a").as_int(),
                    Contains("expected an integer, found the text '4' (a quoted or block scalar is never a number)"));
  CHECK_THROWS_WITH(root.at("b").as_double(), Contains("expected a number, found the text '2.5'"));
  CHECK_THROWS_WITH(root.at("c").as_int(), Contains("found '+-4'"));
  CHECK(root.at("a").as_string() == "4");
  CHECK(root.at("d").as_int() == 4);
}

TEST_CASE("text must be UTF-8 and messages escape what it is not", "[core][config][errors]") {
  const auto root = ConfigNode::parse("name: bad\xff\nkey\xc3\xa9: 1\n", "u.yaml");
  CHECK_THROWS_WITH(root.at("name").as_string(), Contains("u.yaml:1:7: name: expected UTF-8 text, found 'bad\\xff'"));
  CHECK_THROWS_WITH(root.check_keys({"name"}), Contains("unknown key 'key\xc3\xa9'"));
}

TEST_CASE("control characters are refused before parsing", "[core][config][errors]") {
  // A NUL once sent yaml-cpp into an endless loop (found by tools/fuzz.sh).
  CHECK_THROWS_WITH(ConfigNode::parse(std::string(",\x04\0\0\0\0M->)", 10), "f.yaml"),
                    Contains("f.yaml:1:2: malformed YAML: control character 0x04 is not allowed"));
  CHECK_THROWS_WITH(ConfigNode::parse("a: 1\nb: \x01\n", "f.yaml"), Contains("f.yaml:2:4:"));
  CHECK_NOTHROW(ConfigNode::parse("a:\t1\r\nb: 2\n", "f.yaml"));
}

TEST_CASE("a file with several YAML documents is refused", "[core][config][errors]") {
  CHECK_THROWS_WITH(ConfigNode::parse("a: 1\n---\nb: 2\n", "two.yaml"),
                    Contains("two.yaml:3:1: the file holds more than one YAML document; expected one"));
  // Empty documents do not count; stray punctuation does not hang the reader (found by fuzzing).
  CHECK_NOTHROW(ConfigNode::parse("a: 1\n---\n", "one.yaml"));
  CHECK_THROWS_WITH(ConfigNode::parse(",\n", "comma.yaml"), Contains("comma.yaml"));
}

TEST_CASE("overrides are located at the one that wrote a value", "[core][config][override]") {
  const std::vector<Override> ov{Override::parse("pcu={lanes: 4}"), Override::parse("pcu.lanes=0"),
                                 Override::parse("memory.tiers.00.bandwidth_gbps=7"), Override::parse("new.key=1")};
  const auto root = ConfigNode::parse(k_doc, "doc.yaml", ov);
  CHECK(root.at("pcu").at("lanes").location().file == "--set pcu.lanes=0");
  CHECK(root.at("pcu").location().file == "--set pcu={lanes: 4}");
  const auto bw = root.at("memory").at("tiers").elements().at(0).at("bandwidth_gbps");
  CHECK(bw.location().file == "--set memory.tiers.00.bandwidth_gbps=7");
  CHECK(root.at("new").location().file == "--set new.key=1");
  CHECK(root.at("name").location().file == "doc.yaml");
  CHECK(root.at("memory").location().file == "doc.yaml");
}

TEST_CASE("only regular files are read", "[core][config][errors]") {
  CHECK_THROWS_WITH(ConfigNode::load_file("/dev/null"), Contains("it is not a regular file"));
  CHECK_THROWS_WITH(ConfigNode::load_file(""), Contains("no file name given"));
}
