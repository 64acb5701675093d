// arch::summarize: derived peaks against hand calculation and the published preset figures
// (shared/ARCH-FACTS.md).
#include <catch2/catch.hpp>

#include <filesystem>
#include <vector>

#include "arch/summary.h"
#include "arch_test_util.h"
#include "core/config.h"

using namespace rdasim;

namespace {
arch::Summary summary_of(const std::string& name) {
  return arch::summarize(arch::Fabric(arch::Spec::load_file(test::preset(name))));
}
constexpr double k_mib = 1024.0 * 1024.0;
}  // namespace

TEST_CASE("tiny: every derived figure by hand", "[arch][summary]") {
  const arch::Summary s = arch::summarize(arch::Fabric(test::tiny()));
  CHECK(s.peak_flops == 2.0 * 16 * 4 * 2 * 1e9);
  CHECK(s.sram_bytes == 16 * 16 * 1024.0);
  CHECK(s.sram_bytes_per_s == 16 * 4 * 4 * 1e9);
  CHECK(s.offchip_bytes_per_s == 16e9);
  CHECK(s.machine_balance == Approx(256e9 / 16e9));
  // Two tiles side by side: the middle cut crosses the 5 links between them.
  CHECK(s.bisection_bytes_per_s == 5 * 16 * 1e9);
  CHECK(s.area_mm2 == Approx(16 * 1.0 + 16 * 1.0 + 50 * 0.1 + 4 * 0.5));
  CHECK(s.power_compute_w == Approx(256e9 * 1e-12));
  CHECK(s.power_sram_w == Approx(256e9 * 1e-12));
  CHECK(s.power_peak_w == Approx(1.0 + 0.256 + 0.256));
}

TEST_CASE("plasticine matches ISCA 2017", "[arch][summary][presets]") {
  const arch::Summary s = summary_of("plasticine");
  CHECK(s.pcus == 64);
  CHECK(s.pmus == 64);
  CHECK(s.sram_bytes == 16 * k_mib);
  CHECK(s.peak_flops / 1e12 == Approx(12.29).epsilon(0.001));
  CHECK(s.offchip_bytes_per_s == Approx(51.2e9));
  CHECK(s.machine_balance == Approx(240));
  CHECK(s.area_mm2 == Approx(113).epsilon(0.01));
  CHECK(s.power_peak_w < 49.0);  // the published maximum bounds the estimate
}

TEST_CASE("sn10 matches ISSCC 2022", "[arch][summary][presets]") {
  const arch::Summary s = summary_of("sn10");
  CHECK(s.tiles == 4);
  CHECK(s.pcus == 640);
  CHECK(s.pmus == 640);
  CHECK(s.sram_bytes == 320 * k_mib);
  CHECK(s.peak_flops / 1e12 == Approx(307).epsilon(0.02));
  CHECK(s.sram_bytes_per_s / 1e12 == Approx(150).epsilon(0.03));
  REQUIRE(s.tiers.size() == 1);
  CHECK(s.tiers[0].peak_bytes_per_s / 1e9 >= 128);
  CHECK(s.tiers[0].peak_bytes_per_s / 1e9 <= 154);
  CHECK(s.tiers[0].sustained_bytes_per_s / 1e9 == Approx(100).epsilon(0.05));
}

TEST_CASE("sn30 matches its published figures", "[arch][summary][presets]") {
  const arch::Summary s = summary_of("sn30");
  CHECK(s.tiles == 8);
  CHECK(s.pcus == 1280);
  CHECK(s.sram_bytes == 640 * k_mib);
  CHECK(s.peak_flops / 1e12 == Approx(688).epsilon(0.02));
}

TEST_CASE("sn40l matches Hot Chips 2024", "[arch][summary][presets]") {
  const arch::Summary s = summary_of("sn40l");
  CHECK(s.pcus == 1040);
  CHECK(s.pmus == 1040);
  CHECK(s.sram_bytes == 520 * k_mib);
  CHECK(s.peak_flops / 1e12 == Approx(638).epsilon(0.03));
  REQUIRE(s.tiers.size() == 2);
  CHECK(s.tiers[0].kind == "hbm");
  CHECK(s.tiers[0].capacity_bytes == 64 * 1024 * k_mib);
  CHECK(s.tiers[0].peak_bytes_per_s == Approx(1.6e12));
  CHECK(s.tiers[1].kind == "ddr");
  CHECK(s.tiers[1].capacity_bytes == 1536 * 1024 * k_mib);
  CHECK(s.tiers[1].peak_bytes_per_s == Approx(100e9));
}

TEST_CASE("bisection cuts between switch columns for any tile count", "[arch][summary]") {
  // One tile of 4 x 4: switch columns 0..4, the cut falls between columns 2 and 3: 5 links.
  CHECK(arch::summarize(arch::Fabric(test::tiny({"tiles=1"}))).bisection_bytes_per_s == 5 * 16 * 1e9);
  // Three tiles in a row: the cut runs through the middle tile, again 5 links.
  CHECK(arch::summarize(arch::Fabric(test::tiny({"tiles=3"}))).bisection_bytes_per_s == 5 * 16 * 1e9);
  // Plasticine: 16 x 8 cells, 9 rows of switches, 64 B links at 1 GHz.
  CHECK(summary_of("plasticine").bisection_bytes_per_s == 9 * 64 * 1e9);
}

TEST_CASE("PCU and PMU area scale with their size when the preset says what it was sized for", "[arch][summary]") {
  const auto file = test::source_dir() / "configs/arch/sn10.yaml";
  const auto area_of = [&](std::vector<core::Override> overrides) {
    return arch::summarize(arch::Fabric(arch::Spec::load_file(file, overrides)));
  };
  const arch::Summary base = area_of({});
  const arch::Summary narrow = area_of({core::Override::parse("pcu.lanes=16")});
  const arch::Summary small = area_of({core::Override::parse("pmu.capacity_kib=256")});
  CHECK(narrow.area_pcu_mm2 == Approx(base.area_pcu_mm2 / 2));
  CHECK(narrow.area_pmu_mm2 == Approx(base.area_pmu_mm2));
  CHECK(small.area_pmu_mm2 == Approx(base.area_pmu_mm2 / 2));
  CHECK(small.area_mm2 == Approx(base.area_mm2 - base.area_pmu_mm2 / 2));
  // Without the keys (tiny.yaml) the areas stay fixed.
  const auto tiny = test::source_dir() / "configs/arch/tiny.yaml";
  const std::vector<core::Override> wide{core::Override::parse("pcu.lanes=8")};
  CHECK(arch::summarize(arch::Fabric(arch::Spec::load_file(tiny, wide))).area_mm2 ==
        arch::summarize(arch::Fabric(arch::Spec::load_file(tiny))).area_mm2);
}
