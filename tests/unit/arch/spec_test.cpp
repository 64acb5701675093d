// arch::Spec: reading, validation (ranges and cross-field) and the resolved configuration.
#include <catch2/catch.hpp>

#include "arch/spec.h"
#include "arch_test_util.h"

using namespace rdasim;
using Catch::Matchers::Contains;

TEST_CASE("tiny.yaml loads with every field", "[arch][spec]") {
  const arch::Spec spec = test::tiny();
  CHECK(spec.name() == "tiny");
  CHECK(spec.clock_ghz() == 1.0);
  CHECK(spec.tiles() == 2);
  CHECK(spec.tile().rows == 4);
  CHECK(spec.tile().cols == 4);
  CHECK(spec.tile().layout == arch::Layout::checkerboard);
  CHECK(spec.pcu().lanes == 4);
  CHECK(spec.pcu().stages == 2);
  CHECK(spec.pcu().precision == arch::Precision::fp32);
  CHECK(spec.pmu().capacity_kib == 16);
  CHECK(spec.pmu().banks == 4);
  CHECK(spec.network().link_bytes_per_cycle == 16);
  CHECK(spec.agcu().count == 2);
  REQUIRE(spec.memory_tiers().size() == 1);
  CHECK(spec.memory_tiers()[0].name == "dram");
  // A tier without pj_per_byte takes energy.pj_per_dram_byte; area.uncore_mm2 defaults to 0.
  CHECK(spec.memory_tiers()[0].pj_per_byte == 100);
  CHECK(spec.area().uncore_mm2 == 0);
  CHECK(spec.reconfig_cycles() == 1000);
}

TEST_CASE("layouts place units where they say", "[arch][spec]") {
  const arch::Spec checker = test::tiny();
  CHECK(checker.unit_at(0, 0) == 'C');
  CHECK(checker.unit_at(1, 0) == 'M');
  CHECK(checker.unit_at(1, 1) == 'C');
  const arch::Spec columns = test::tiny({"tile.layout=columns"});
  CHECK(columns.unit_at(0, 3) == 'C');
  CHECK(columns.unit_at(1, 3) == 'M');
  const arch::Spec custom =
      test::tiny({"tile.layout=custom", "tile.pcus=8", "tile.pmus=7", "tile.pattern=[CCCC, MMMM, CC.M, CCMM]"});
  CHECK(custom.unit_at(2, 2) == '.');
  CHECK(custom.unit_at(3, 2) == 'M');
}

TEST_CASE("a layout that cannot hold the declared units is rejected", "[arch][spec][errors]") {
  CHECK_THROWS_WITH(test::tiny({"tile.rows=3"}),
                    Contains("tile.pcus: the checkerboard layout of 3 rows x 4 cols places 6 pcus, "
                             "but tile.pcus is 8"));
  CHECK_THROWS_WITH(
      test::tiny({"tile.layout=custom", "tile.pattern=[CCCC, CCCC, CCCC, CCCC]", "tile.pcus=16", "tile.pmus=0"}),
      Contains("the layout places no PMU on the tile"));
  CHECK_THROWS_WITH(test::tiny({"tile.layout=custom", "tile.pattern=[CCCC, MMMM]"}),
                    Contains("expected 4 rows (tile.rows), found 2"));
  CHECK_THROWS_WITH(test::tiny({"tile.layout=custom", "tile.pattern=[CCCC, MMMM, CCXC, MMMM]"}),
                    Contains("expected 4 characters from C (PCU), M (PMU) and . (empty), found 'CCXC'"));
  CHECK_THROWS_WITH(test::tiny({"tile.layout=custom"}), Contains("needs tile.pattern"));
  CHECK_THROWS_WITH(test::tiny({"tile.pattern=[CMCM]"}), Contains("only read with layout 'custom'"));
}

TEST_CASE("AGCUs must fit on the tile edges", "[arch][spec][errors]") {
  CHECK_NOTHROW(test::tiny({"agcu.count=8"}));
  CHECK_THROWS_WITH(test::tiny({"agcu.count=9"}),
                    Contains("9 AGCUs per tile do not fit on the two edges of a tile of 4 rows"));
}

TEST_CASE("ranges and types of every kind of field", "[arch][spec][errors]") {
  CHECK_THROWS_WITH(test::tiny({"tiles=0"}), Contains("tiles: expected an integer in [1, 4096], found '0'"));
  CHECK_THROWS_WITH(test::tiny({"pcu.lanes=-16"}), Contains("expected an integer in [1, 1024], found '-16'"));
  CHECK_THROWS_WITH(test::tiny({"clock_ghz=0"}), Contains("expected a number in (0, 20], found '0'"));
  CHECK_THROWS_WITH(test::tiny({"pcu.precision=fp16"}), Contains("expected one of 'fp32' or 'bf16_fp32acc'"));
  CHECK_THROWS_WITH(test::tiny({"memory.tiers.0.efficiency=1.5"}), Contains("expected a number in (0, 1]"));
  CHECK_THROWS_WITH(test::tiny({"memory.tiers=[]"}), Contains("expected at least one memory tier, found a list of 0"));
  CHECK_THROWS_WITH(test::tiny({"pmu.capacity=16"}), Contains("unknown key 'capacity' (did you mean 'capacity_kib'?)"));
  CHECK_THROWS_WITH(test::tiny({"energy.static_w=hot"}), Contains("expected a number >= 0, found 'hot'"));
}

TEST_CASE("memory tier names are unique", "[arch][spec][errors]") {
  CHECK_THROWS_WITH(test::tiny({"memory.tiers=[{name: a, kind: ddr, capacity_gib: 1, channels: 1, "
                                "bandwidth_gbps: 1, latency_ns: 1}, {name: a, kind: hbm, capacity_gib: 1, "
                                "channels: 1, bandwidth_gbps: 1, latency_ns: 1}]"}),
                    Contains("memory tier 'a' is defined twice"));
}

TEST_CASE("the resolved configuration loads back to the same spec", "[arch][spec]") {
  for (const char* name : {"tiny", "plasticine", "sn10", "sn30", "sn40l"}) {
    const arch::Spec spec = arch::Spec::load_file(test::preset(name));
    const auto again = arch::Spec::load(core::ConfigNode::parse(spec.to_json().dump(), "resolved"));
    CHECK(again.hash() == spec.hash());
    CHECK(again.to_json() == spec.to_json());
  }
  CHECK(test::tiny().hash() != test::tiny({"pcu.lanes=8"}).hash());
}

TEST_CASE("doubtful but valid choices become warnings", "[arch][spec]") {
  CHECK(test::tiny().warnings().empty());
  for (const char* name : {"plasticine", "sn10", "sn30", "sn40l"}) {
    INFO(name);
    CHECK(arch::Spec::load_file(test::preset(name)).warnings().empty());
  }
  const auto narrow = test::tiny({"network.link_bytes_per_cycle=8"});
  REQUIRE(narrow.warnings().size() == 1);
  CHECK_THAT(narrow.warnings()[0], Contains("below one vector of pcu.lanes x 4 B (16)"));
  // 2 tiles x 2 AGCUs x 8 B/cycle x 1 GHz = 32 GB/s; the memory sustains 100 GB/s.
  const auto starved = test::tiny({"network.link_bytes_per_cycle=8", "memory.tiers.0.bandwidth_gbps=100"});
  REQUIRE(starved.warnings().size() == 2);
  CHECK_THAT(starved.warnings()[1], Contains("the AGCU links carry 32 GB/s in all, less than the 100 GB/s"));
}

TEST_CASE("layout defaults to checkerboard; description is kept", "[arch][spec]") {
  std::string text = core::to_json_text(test::tiny().to_json());
  auto doc = core::Json::parse(text);
  doc["tile"].erase("layout");
  doc["description"] = "no layout given";
  const auto spec = arch::Spec::load(core::ConfigNode::parse(doc.dump(), "x"));
  CHECK(spec.tile().layout == arch::Layout::checkerboard);
  CHECK(spec.description() == "no layout given");
  CHECK(spec.to_json()["description"] == "no layout given");
}

TEST_CASE("fabrics too large to model are refused at 'tiles'", "[arch][spec][errors]") {
  CHECK_THROWS_WITH(
      test::tiny({"tiles=4096", "tile.rows=1024", "tile.cols=1024", "tile.pcus=524288", "tile.pmus=524288"}),
      Contains("tiles: 4096 tiles of 1024 x 1024 cells make"));
}
