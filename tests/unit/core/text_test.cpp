// core/text: suggestions for typos and number formatting.
#include <catch2/catch.hpp>

#include "core/text.h"

using namespace rdasim::core;

TEST_CASE("edit distance counts insertions, deletions and substitutions", "[core][text]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("lanes", "lanes") == 0);
  CHECK(edit_distance("lanes", "lane") == 1);
  CHECK(edit_distance("lanes", "lanez") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
}

TEST_CASE("closest_match suggests a near key and nothing for a far one", "[core][text]") {
  const std::vector<std::string> keys{"lanes", "stages", "precision"};
  CHECK(closest_match("lans", keys) == "lanes");
  CHECK(closest_match("stage", keys) == "stages");
  CHECK(closest_match("precison", keys) == "precision");
  CHECK_FALSE(closest_match("bandwidth", keys).has_value());
  const std::vector<std::string> units{"capacity_kib", "bandwidth_gbps"};
  CHECK(closest_match("capacity", units) == "capacity_kib");
  CHECK(closest_match("bandwidth_gbps_peak", units) == "bandwidth_gbps");
  CHECK(did_you_mean("lans", keys) == " (did you mean 'lanes'?)");
  CHECK(did_you_mean("zzzzzz", keys).empty());
}

TEST_CASE("quoted_list joins with commas and 'or'", "[core][text]") {
  CHECK(quoted_list(std::vector<std::string>{"a"}) == "'a'");
  CHECK(quoted_list(std::vector<std::string>{"a", "b"}) == "'a' or 'b'");
  CHECK(quoted_list(std::vector<std::string>{"a", "b", "c"}) == "'a', 'b' or 'c'");
}

TEST_CASE("SI and binary formatting", "[core][text]") {
  CHECK(format_si(1.2288e13, "FLOP/s") == "12.29 TFLOP/s");
  CHECK(format_si(51.2e9, "B/s") == "51.2 GB/s");
  CHECK(format_si(999.0, "B") == "999 B");
  CHECK(format_si(1.5e-5, "s") == "15 us");
  CHECK(parse_integer("64") == 64);
  CHECK(parse_integer("-3") == -3);
  CHECK_FALSE(parse_integer(""));
  CHECK_FALSE(parse_integer(" 4"));
  CHECK_FALSE(parse_integer("4x"));
  CHECK_FALSE(parse_integer("99999999999999999999"));
  CHECK(format_si(0.007134, "s") == "7.134 ms");
  CHECK(format_si(0.0, "B") == "0 B");
  CHECK(format_si(4.4e-17, "s") == "0 s");  // a difference's rounding residue
  CHECK(format_si(5e-13, "J") == "0.5 pJ");
  CHECK(format_bytes(16.0 * 1024 * 1024) == "16 MiB");
  CHECK(format_bytes(512.0) == "512 B");
  CHECK(format_bytes(1.5 * 1024 * 1024 * 1024 * 1024) == "1.5 TiB");
}

TEST_CASE("UTF-8 validation", "[core][text]") {
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("mm\xc2\xb2 and \xe2\x82\xac"));
  CHECK_FALSE(is_valid_utf8("ti\xffny"));
  CHECK_FALSE(is_valid_utf8("cut \xe2\x82"));
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));  // overlong
}

TEST_CASE("printable keeps messages on one line", "[core][text]") {
  CHECK(printable("a\nb\tc") == "a\\nb\\tc");
  CHECK(printable(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(printable("ti\xffny") == "ti\\xffny");
  CHECK(printable("\xc2\xb2 ok") == "\xc2\xb2 ok");
  CHECK(printable(std::string(100, 'x'), 10) == "xxxxxxxxxx...");
}

TEST_CASE("numbers print as people write them", "[core][text]") {
  CHECK(format_number(1048576) == "1048576");
  CHECK(format_number(-3) == "-3");
  CHECK(format_number(0.5) == "0.5");
  CHECK(format_number(1e300) == "1e+300");
  CHECK(plural(1, "element") == "1 element");
  CHECK(plural(0, "element") == "0 elements");
}
