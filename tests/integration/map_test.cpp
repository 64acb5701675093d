// `rdasim map` as a user runs it: several models as tenants, a deployment file, the three
// reports, and mapping.json read back and checked against the fabric.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "arch/fabric.h"
#include "core/files.h"
#include "core/json.h"
#include "mapper/mapping.h"
#include "tests/integration/cli_runner.h"

using namespace rdasim;
using Catch::Matchers::Contains;

namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

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
  const auto m = mapper::mapping_from_json(core::Json::parse(read(dir / "mapping.json")), "mapping.json");
  REQUIRE(m.tenants.size() == 2);
  CHECK(m.tenants[0].tiles == std::vector<int>{0});
  CHECK(m.tenants[1].first_row == 4);
  CHECK(mapper::check(m, fabric).empty());
  // placement.txt names every tenant's region; placement.svg has a panel per section step.
  const auto text = read(dir / "placement.txt");
  CHECK_THAT(text, Contains("tenant mlp on tile 0 rows 0-3 (40 PCUs, 40 PMUs)"));
  CHECK_THAT(text, Contains("tenant inversion on tile 0 rows 4-7"));
  std::size_t steps = 0;
  for (const auto& t : m.tenants) steps = std::max(steps, t.sections.size());
  const auto svg = read(dir / "placement.svg");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(count(svg, "font-weight=\"bold\">section ") == steps);
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
