// `rdasim map` as a user runs it: several models as tenants, a deployment file, the three
// reports, and mapping.json read back and checked against the fabric.
#include <filesystem>
#include <set>

#include <catch2/catch.hpp>

#include "arch/fabric.h"
#include "core/files.h"
#include "core/json.h"
#include "core/text.h"
#include "mapper/mapping.h"
#include "tests/integration/cli_runner.h"

using namespace rdasim;
using Catch::Matchers::Contains;

using core::read_text_file;

TEST_CASE("two models map as isolated tenants and the reports agree", "[integration][map]") {
  const auto dir = std::filesystem::temp_directory_path() / "rdasim_map_two";
  std::filesystem::remove_all(dir);
  const auto r = test::run_cli({"map", "configs/graphs/mlp.yaml", "inversion", "-p", "batch=4", "--arch",
                                "configs/arch/sn10.yaml", "--rows-per-app", "4", "--out", dir.string()});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("2 tenants on sn10 (o1)"));
  // mapping.json loads and passes the checker; the tenants are bands of one tile.
  const arch::Fabric fabric(arch::Spec::load_file("configs/arch/sn10.yaml"));
  const auto m = mapper::mapping_from_json(core::Json::parse(read_text_file(dir / "mapping.json")), "mapping.json");
  REQUIRE(m.tenants.size() == 2);
  CHECK(m.tenants[0].tiles == std::vector<int>{0});
  CHECK(m.tenants[1].first_row == 4);
  CHECK(mapper::check(m, fabric).empty());
  // placement.txt names every tenant's region; placement.svg has a panel per section step.
  const auto text = read_text_file(dir / "placement.txt");
  CHECK_THAT(text, Contains("tenant mlp on tile 0 rows 0-3 (40 PCUs, 40 PMUs)"));
  CHECK_THAT(text, Contains("tenant inversion on tile 0 rows 4-7"));
  std::size_t steps = 0;
  for (const auto& t : m.tenants) steps = std::max(steps, t.sections.size());
  const auto svg = read_text_file(dir / "placement.svg");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(core::count_occurrences(svg, "font-weight=\"bold\">section ") == steps);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a deployment file maps with its per-application sizes", "[integration][map]") {
  const auto dir = std::filesystem::temp_directory_path() / "rdasim_map_deployment";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  core::write_text_file(dir / "two.yaml",
                        "applications:\n"
                        "  - {model: inversion, params: {batch: 2}, tiles: 1, name: big}\n"
                        "  - {model: inversion, params: {batch: 2, hidden: 64}, rows: 2, name: small}\n");
  const auto r = test::run_cli({"map", (dir / "two.yaml").string(), "--arch", "configs/arch/tiny.yaml", "--json"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto m = mapper::mapping_from_json(core::Json::parse(r.out), "stdout");
  REQUIRE(m.tenants.size() == 2);
  CHECK(m.tenants[0].name == "big");
  CHECK(m.tenants[0].tiles == std::vector<int>{0});
  CHECK(m.tenants[1].name == "small");
  CHECK(m.tenants[1].tiles == std::vector<int>{1});
  CHECK(m.tenants[1].end_row - m.tenants[1].first_row == 2);
  CHECK(mapper::check(m, arch::Fabric(arch::Spec::load_file("configs/arch/tiny.yaml"))).empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("a training step maps, shows where weights and optimizer state live, and simulates",
          "[integration][map][training]") {
  const auto dir = std::filesystem::temp_directory_path() / "rdasim_map_train";
  std::filesystem::remove_all(dir);
  const auto r = test::run_cli({"map", "inversion", "-p", "batch=4", "-p", "mode=train", "--arch",
                                "configs/arch/sn10.yaml", "--out", dir.string()});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("inversion_train on sn10 (o1)"));
  const arch::Fabric fabric(arch::Spec::load_file("configs/arch/sn10.yaml"));
  const auto m = mapper::mapping_from_json(core::Json::parse(read_text_file(dir / "mapping.json")), "mapping.json");
  CHECK(mapper::check(m, fabric).empty());
  double state = 0, weights = 0;
  std::set<std::string> kinds;
  for (const auto& s : m.tenants.front().sections) {
    state += s.state_bytes;
    weights += s.weight_bytes;
    for (const auto& o : s.ops) kinds.insert(o.kind);
  }
  // Adam keeps two moments per parameter: twice the 4,434,400 params, in bf16. Each tensor
  // counts once though the forward op, the backward op and the update all read it.
  CHECK(state == 2.0 * 4434400 * 2);
  CHECK(weights - state >= 4434400 * 2.0);
  CHECK(weights - state < (4434400 + 151 * 2000 + 2000 + 100) * 2.0);  // params, the Laplace kernel, axes
  CHECK(kinds.contains("AdamUpdate"));
  CHECK(kinds.contains("Gemm"));
  CHECK_THAT(read_text_file(dir / "placement.txt"), Contains("weights and optimizer state: "));
  // The simulator runs the step from the mapping file.
  const auto sim = test::run_cli({"sim", (dir / "mapping.json").string(), "--arch", "configs/arch/sn10.yaml"});
  INFO(sim.err);
  CHECK(sim.status == 0);
  CHECK_THAT(sim.out, Contains("inversion_train on sn10"));
  std::filesystem::remove_all(dir);
}
