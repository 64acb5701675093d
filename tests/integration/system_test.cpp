// Systems end to end: `rdasim system show`, `rdasim sim --system` with its report (whole-system
// seconds and cycles on top, per-socket detail beside) and trace (a track per socket), and the
// same layout on the GPU side.
#include <filesystem>
#include <set>

#include <catch2/catch.hpp>

#include "core/files.h"
#include "core/json.h"
#include "tests/integration/cli_runner.h"

using namespace rdasim;
using Catch::Matchers::Contains;

namespace {

core::Json run_json(const std::vector<std::string>& args) {
  const auto r = test::run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  return core::Json::parse(r.out);
}

}  // namespace

TEST_CASE("system show prints a system's totals and its collectives", "[system]") {
  const auto text = test::run_cli({"system", "show", "configs/systems/dgx-h100.yaml", "--devices", "4"});
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Contains("4 x NVIDIA H100 SXM5"));
  CHECK_THAT(text.out, Contains("all_reduce"));
  const auto j = run_json({"system", "show", "configs/systems/sn40l-16.yaml", "--json"});
  CHECK(j["devices"] == 16);
  CHECK(j["interconnect"]["topology"] == "switch");
  CHECK(j["totals"]["peak_flops"].get<double>() > 16 * 600e12);
  CHECK(j["collectives"].size() == 12);  // 3 collectives x 4 sizes
}

TEST_CASE("sim --system writes a whole-system report and a track per socket", "[system]") {
  const auto out = std::filesystem::temp_directory_path() / "rdasim-system-sim";
  std::filesystem::remove_all(out);
  const auto r = test::run_cli({"-q", "sim", "inversion", "-p", "batch=16", "--system", "configs/systems/sn40l-8.yaml",
                                "--tp", "2", "--dp", "2", "--out", out.string()});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("tp 2 x pp 1 x dp 2"));
  const auto report = core::read_json_file(out / "report.json");
  CHECK(report["seconds"].get<double>() > 0);
  CHECK(report["cycles"].get<double>() == Approx(report["seconds"].get<double>() * report["clock_hz"].get<double>()));
  CHECK(report["sockets"].size() == 4);
  bool all_reduce = false;
  for (const auto& link : report["links"]) all_reduce = all_reduce || link["collective"] == "all_reduce";
  CHECK(all_reduce);
  std::set<int> tracks;
  const auto trace = core::read_json_file(out / "trace.json");
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "X") tracks.insert(e["pid"].get<int>());
  }
  CHECK(tracks == std::set<int>{0, 1, 2, 3});
  CHECK(std::filesystem::exists(out / "socket0" / "segment0" / "placement.txt"));
  std::filesystem::remove_all(out);
}

TEST_CASE("the GPU side runs the same layout", "[system]") {
  const auto rda = run_json({"-q", "map", "ensemble", "-p", "members=6", "-p", "base=inversion", "--system",
                             "configs/systems/sn10-8.yaml", "--devices", "3", "--json"});
  const auto gpu = run_json({"-q", "gpu", "ensemble", "-p", "members=6", "-p", "base=inversion", "--system",
                             "configs/systems/dgx-a100.yaml", "--devices", "3", "--json"});
  for (const auto* j : {&rda, &gpu}) {
    CHECK((*j)["layout"] == "spread");
    CHECK((*j)["segments"].size() == 3);
    for (const auto& s : (*j)["segments"]) CHECK(s["apps"].size() == 2);
  }
}
