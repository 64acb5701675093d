// core/schema: declared keys drive validation, reads with defaults, and documentation.
#include <catch2/catch.hpp>

#include "core/schema.h"

using namespace rdasim::core;
using Catch::Matchers::Contains;

namespace {

const Schema& schema() {
  static const Schema s("test",
                        {
                            decl::text("name", "what it is called"),
                            decl::integer("count", "", "how many", Bounds::between(1, 10)),
                            decl::number("rate", "GB/s", "how fast", Bounds::above(0), Presence::defaulted, "2.5"),
                            decl::integer("limit", "", "an optional cap", Bounds::at_least(0), Presence::optional),
                            decl::choice("mode", "how", {"fast", "slow"}),
                            decl::section("unit", "a part"),
                            decl::integer("unit.size", "B", "its size", Bounds::at_least(1)),
                            decl::list("items", "the items", Presence::optional),
                            decl::text("items[].id", "an item's id"),
                        });
  return s;
}

SectionReader read(const std::string& text) {
  static std::vector<ConfigNode> keep;  // readers refer to their documents
  keep.push_back(ConfigNode::parse(text, "s.yaml"));
  return schema().root(keep.back());
}

}  // namespace

TEST_CASE("reads declared keys, with defaults and optional keys", "[core][schema]") {
  const auto r = read("name: x\ncount: 3\nmode: slow\nunit: {size: 8}\n");
  CHECK(r.text("name") == "x");
  CHECK(r.integer("count") == 3);
  CHECK(r.number("rate") == 2.5);  // the declared default
  CHECK_FALSE(r.optional_integer("limit").has_value());
  CHECK(r.choice("mode") == "slow");
  CHECK(r.section("unit").integer("size") == 8);
  CHECK(r.list("items").empty());
}

TEST_CASE("lists of sections check each element's keys", "[core][schema]") {
  const auto r = read("name: x\ncount: 3\nmode: fast\nunit: {size: 8}\nitems: [{id: a}, {id: b}]\n");
  const auto items = r.list("items");
  REQUIRE(items.size() == 2);
  CHECK(items[1].text("id") == "b");
  const auto bad = read("name: x\ncount: 3\nmode: fast\nunit: {size: 8}\nitems: [{idd: a}]\n");
  CHECK_THROWS_WITH(bad.list("items"), Contains("items.0.idd: unknown key 'idd' (did you mean 'id'?)"));
}

TEST_CASE("undeclared keys are rejected when a section is opened", "[core][schema][errors]") {
  CHECK_THROWS_WITH(read("name: x\ncuont: 3\n"),
                    Contains("s.yaml:2:1: cuont: unknown key 'cuont' (did you mean 'count'?)"));
  const auto r = read("name: x\nunit: {size: 8, colour: red}\n");
  CHECK_THROWS_WITH(r.section("unit"), Contains("unit.colour: unknown key 'colour'"));
}

TEST_CASE("required keys name what they are for when missing", "[core][schema][errors]") {
  const auto r = read("name: x\n");
  CHECK_THROWS_WITH(r.integer("count"), Contains("s.yaml:1:1: missing required key 'count' (how many)"));
  CHECK_THROWS_WITH(r.section("unit"), Contains("missing required key 'unit' (a part)"));
}

TEST_CASE("declared bounds and choices apply", "[core][schema][errors]") {
  const auto r = read("name: ''\ncount: 11\nrate: 0\nmode: quick\nlimit: -1\n");
  CHECK_THROWS_WITH(r.integer("count"), Contains("expected an integer in [1, 10], found '11'"));
  CHECK_THROWS_WITH(r.number("rate"), Contains("expected a number > 0, found '0'"));
  CHECK_THROWS_WITH(r.choice("mode"), Contains("expected one of 'fast' or 'slow', found 'quick'"));
  CHECK_THROWS_WITH(r.optional_integer("limit"), Contains("expected an integer >= 0, found '-1'"));
  CHECK_THROWS_WITH(r.text("name"), Contains("expected a non-empty string"));
}

TEST_CASE("reading an undeclared key or the wrong type is a bug", "[core][schema]") {
  const auto r = read("name: x\ncount: 3\n");
  CHECK_THROWS_AS(r.integer("nothing"), InternalError);
  CHECK_THROWS_AS(r.number("count"), InternalError);
}

TEST_CASE("a schema with a bad default or a repeated key fails at construction", "[core][schema]") {
  CHECK_THROWS_AS(Schema("bad", {decl::integer("n", "", "", Bounds::at_least(1), Presence::defaulted, "0")}),
                  InternalError);
  CHECK_THROWS_AS(Schema("bad", {decl::text("a", ""), decl::text("a", "")}), InternalError);
}

TEST_CASE("the schema documents itself", "[core][schema]") {
  const Json d = schema().describe();
  CHECK(d["document"] == "test");
  REQUIRE(d["keys"].size() == 9);
  CHECK(d["keys"][2] == Json{{"key", "rate"},
                             {"type", "number"},
                             {"unit", "GB/s"},
                             {"allowed", "> 0"},
                             {"presence", "default"},
                             {"default", "2.5"},
                             {"description", "how fast"}});
  const std::string md = schema().describe_markdown();
  CHECK_THAT(md, Contains("| `count` | integer |  | in [1, 10] | required | how many |"));
  CHECK_THAT(md, Contains("| `mode` | choice |  | 'fast' or 'slow' | required | how |"));
}
