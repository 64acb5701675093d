// System specs (configs/systems/) and the collectives over their links (arch/collective.h):
// presets load, --devices rescales, and each algorithm's time is its closed form.
#include <cmath>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "arch/collective.h"
#include "arch/system.h"
#include "core/error.h"
#include "core/files.h"
#include "tests/test_paths.h"

namespace rdasim::arch {
namespace {

std::filesystem::path preset(const std::string& name) {
  return test::source_dir() / "configs/systems" / (name + ".yaml");
}

TEST_CASE("system presets load with their device and links", "[arch][system]") {
  const auto sn10 = SystemSpec::load_file(preset("sn10-8"));
  CHECK(sn10.devices == 8);
  CHECK_FALSE(sn10.is_gpu());
  CHECK(sn10.fabric->name() == "sn10");
  const auto h100 = SystemSpec::load_file(preset("dgx-h100"));
  CHECK(h100.is_gpu());
  CHECK(h100.gpu->id == "h100");
  CHECK(h100.device_bytes_per_s() == Approx(450e9));  // NVLink 4: 18 x 25 GB/s each way
  CHECK(SystemSpec::load_file(preset("dgx-a100")).device_bytes_per_s() == Approx(300e9));
  CHECK(SystemSpec::load_file(preset("sn40l-16")).devices == 16);
  // The two published SN40L memory figures are both kept.
  const auto hot_chips = SystemSpec::load_file(preset("sn40l-8"));
  const auto micro = SystemSpec::load_file(preset("sn40l-8-micro24"));
  CHECK(hot_chips.fabric->memory_tiers().at(0).bandwidth_gbps == 1600);
  CHECK(micro.fabric->memory_tiers().at(0).bandwidth_gbps == 1800);
  CHECK(micro.fabric->memory_tiers().at(1).bandwidth_gbps == 200);
}

TEST_CASE("a system names its device by file or by preset, and is itself a preset by name", "[arch][system]") {
  // sn40l-8 by name; a copy of it naming its device `arch: sn40l` instead of the relative file.
  const auto named = SystemSpec::load_file("sn40l-8");
  CHECK(named.devices == 8);
  const auto copy = std::filesystem::temp_directory_path() / "rdasim_system_by_preset.yaml";
  auto text = core::read_text_file(preset("sn40l-8"));
  const auto at = text.find("arch: ../arch/sn40l.yaml");
  REQUIRE(at != std::string::npos);
  text.replace(at, std::string("arch: ../arch/sn40l.yaml").size(), "arch: sn40l");
  core::write_text_file(copy, text);
  const auto by_preset = SystemSpec::load_file(copy);
  std::filesystem::remove(copy);
  CHECK(by_preset.fabric->hash() == named.fabric->hash());
  CHECK_THROWS_WITH(SystemSpec::load_file("sn40l-4"), Catch::Matchers::Contains("the presets are"));
}

TEST_CASE("a --devices override rescales a system and is validated like the document", "[arch][system]") {
  for (const int n : {1, 2, 4}) CHECK(SystemSpec::load_file(preset("dgx-a100"), {}, n).devices == n);
  CHECK(SystemSpec::load_file(preset("sn40l-8"), {}, 16).devices == 16);
  CHECK_THROWS_AS(SystemSpec::load_file(preset("sn40l-8"), {}, 0), core::InputError);
  // A full mesh needs a link to every peer.
  const std::vector overrides{core::Override::parse("interconnect.topology=full_mesh")};
  CHECK_NOTHROW(SystemSpec::load_file(preset("sn40l-8"), overrides, 5));
  CHECK_THROWS_WITH(SystemSpec::load_file(preset("sn40l-8"), overrides, 6),
                    Catch::Contains("a full mesh of 6 devices needs a link to each of 5 peers"));
}

/// The system with `topology`, `links` links of 50 GB/s and 2 us latency, `n` devices.
SystemSpec system_of(const std::string& topology, int links, int n) {
  return SystemSpec::load_file(
      preset("sn40l-8"),
      std::vector{core::Override::parse("interconnect.topology=" + topology),
                  core::Override::parse("interconnect.links_per_device=" + std::to_string(links)),
                  core::Override::parse("interconnect.link_bandwidth_gbps=50"),
                  core::Override::parse("interconnect.latency_us=2")},
      n);
}

TEST_CASE("collectives take the closed form of the algorithm used", "[arch][system][collective]") {
  const double alpha = 2e-6;
  for (const int n : {2, 4, 8, 16}) {
    for (const double bytes : {4096.0, 1048576.0, 1073741824.0}) {
      INFO("n " << n << ", " << bytes << " B");
      // Ring: 2 links per device, one to each neighbour, both directions used.
      const auto ring = system_of("ring", 2, n);
      const double b_ring = 100e9;  // both neighbours' links (n = 2: both links to the one peer)
      const auto ar = plan_collective(ring, Collective::all_reduce, bytes, n);
      CHECK(ar.algorithm == CollectiveAlgorithm::ring);
      CHECK(ar.seconds == Approx(2.0 * (n - 1) / n * bytes / b_ring + 2.0 * (n - 1) * alpha));
      const auto ag = plan_collective(ring, Collective::all_gather, bytes, n);
      CHECK(ag.seconds == Approx(1.0 * (n - 1) / n * bytes / b_ring + (n - 1) * alpha));
      const auto p2p = plan_collective(ring, Collective::send, bytes, n);
      CHECK(p2p.seconds == Approx(alpha + bytes / (n == 2 ? 100e9 : 50e9)));

      // Switch: every device's 4 links (200 GB/s) to the switch; the faster of one-shot and
      // two-shot (reduce-scatter then all-gather, each one direct step).
      const auto sw = system_of("switch", 4, n);
      const double b = 200e9;
      const double two_shot = 2 * (alpha + (n - 1.0) / n * bytes / b);
      const double one_shot = alpha + (n - 1.0) * bytes / b;
      const auto sw_ar = plan_collective(sw, Collective::all_reduce, bytes, n);
      CHECK(sw_ar.seconds == Approx(std::min(two_shot, one_shot)));
      CHECK(sw_ar.algorithm == (one_shot < two_shot ? CollectiveAlgorithm::one_shot : CollectiveAlgorithm::direct));
      CHECK(plan_collective(sw, Collective::all_gather, bytes, n).seconds == Approx(alpha + (n - 1.0) / n * bytes / b));
    }
  }
  // Full mesh: each peer over its own links.
  const auto mesh = system_of("full_mesh", 7, 8);
  const auto rs = plan_collective(mesh, Collective::reduce_scatter, 8e6, 8);
  CHECK(rs.algorithm == CollectiveAlgorithm::direct);
  CHECK(rs.seconds == Approx(alpha + 1e6 / 50e9));
  // A group of one moves nothing.
  CHECK(plan_collective(mesh, Collective::all_reduce, 8e6, 1).seconds == 0);
}

}  // namespace
}  // namespace rdasim::arch
