// `rdasim arch show`: the published figures through the command line (issue "Must show"), the
// text view, help and version.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "cli_runner.h"
#include "core/json.h"

using namespace rdasim;
using Catch::Matchers::Contains;

namespace {

core::Json show_json(const std::string& preset) {
  const auto r = test::run_cli({"arch", "show", "configs/arch/" + preset + ".yaml", "--json"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  return core::Json::parse(r.out);
}

constexpr double k_mib = 1024.0 * 1024.0;

}  // namespace

TEST_CASE("arch show --json: plasticine", "[integration][arch]") {
  const auto j = show_json("plasticine");
  CHECK(j["units"]["pcu"] == 64);
  CHECK(j["units"]["pmu"] == 64);
  CHECK(j["sram"]["bytes"].get<double>() == 16 * k_mib);
  CHECK(j["sram"]["mib"].get<double>() == 16.0);
  CHECK(j["compute"]["peak_tflops"].get<double>() == Approx(12.29).epsilon(0.001));
  CHECK(j["offchip_gbps"].get<double>() == Approx(51.2));
  CHECK(j["machine_balance_flop_per_byte"].get<double>() == Approx(240));
  CHECK(j["spec"]["name"] == "plasticine");
}

TEST_CASE("arch show --json: sn10", "[integration][arch]") {
  const auto j = show_json("sn10");
  CHECK(j["units"]["pcu"] == 640);
  CHECK(j["units"]["pmu"] == 640);
  CHECK(j["sram"]["mib"].get<double>() == 320.0);
  CHECK(j["compute"]["peak_tflops"].get<double>() == Approx(307).epsilon(0.02));
  CHECK(j["compute"]["precision"] == "bf16_fp32acc");
}

TEST_CASE("arch show --json: sn40l has an HBM and a DDR tier", "[integration][arch]") {
  const auto j = show_json("sn40l");
  CHECK(j["units"]["pcu"] == 1040);
  CHECK(j["units"]["pmu"] == 1040);
  CHECK(j["sram"]["mib"].get<double>() == 520.0);
  CHECK(j["compute"]["peak_tflops"].get<double>() == Approx(638).epsilon(0.03));
  REQUIRE(j["memory_tiers"].size() == 2);
  CHECK(j["memory_tiers"][0]["kind"] == "hbm");
  CHECK(j["memory_tiers"][1]["kind"] == "ddr");
}

TEST_CASE("arch show --json: sn30 and tiny load", "[integration][arch]") {
  CHECK(show_json("sn30")["units"]["pcu"] == 1280);
  CHECK(show_json("tiny")["compute"]["peak_flops"].get<double>() == 256e9);
}

TEST_CASE("arch show --set changes the derived figures", "[integration][arch]") {
  const auto r = test::run_cli({"arch", "show", "configs/arch/plasticine.yaml", "--json", "--set", "pcu.lanes=32",
                                "--set", "memory.tiers.0.bandwidth_gbps=102.4"});
  REQUIRE(r.status == 0);
  const auto j = core::Json::parse(r.out);
  CHECK(j["compute"]["peak_tflops"].get<double>() == Approx(24.576));
  CHECK(j["offchip_gbps"].get<double>() == Approx(102.4));
  CHECK(j["spec"]["pcu"]["lanes"] == 32);
}

TEST_CASE("arch show prints a readable summary and a tile", "[integration][arch]") {
  const auto r = test::run_cli({"arch", "show", "configs/arch/plasticine.yaml"});
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("64 PCU, 64 PMU"));
  CHECK_THAT(r.out, Contains("12.29 TFLOP/s"));
  CHECK_THAT(r.out, Contains("16 MiB in 64 PMUs"));
  CHECK_THAT(r.out, Contains("240 FLOP per off-chip byte"));
  CHECK_THAT(r.out, Contains("|C|M|C|M|"));
  CHECK_THAT(r.out, Contains("C = PCU, M = PMU"));
}

TEST_CASE("help on every level and the version", "[integration][cli]") {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"arch", "--help"}, {"arch", "show", "--help"}}) {
    const auto r = test::run_cli(args);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Contains("Usage:") || Contains("USAGE"));
  }
  CHECK_THAT(test::run_cli({"arch", "show", "--help"}).out, Contains("--set"));
  const auto v = test::run_cli({"--version"});
  CHECK(v.status == 0);
  CHECK_THAT(v.out, Contains("rdasim 0."));
  // The allocator the build chose, and jemalloc with the settings compiled into the program:
  // timings are comparable only between programs that allocate alike.
#ifdef RDASIM_EXPECT_JEMALLOC
  CHECK_THAT(v.out, Contains("allocator: jemalloc 5.") && Contains("(huge pages: always)"));
#else
  CHECK_THAT(v.out, Contains("allocator: the C library's malloc"));
#endif
}

TEST_CASE("the same input gives byte-identical JSON", "[integration][arch]") {
  const std::vector<std::string> args{"arch", "show", "configs/arch/sn40l.yaml", "--json"};
  CHECK(test::run_cli(args).out == test::run_cli(args).out);
}

TEST_CASE("arch keys lists every key in text, JSON and Markdown", "[integration][arch]") {
  const auto text = test::run_cli({"arch", "keys"});
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Contains("pcu.lanes"));
  CHECK_THAT(text.out, Contains("memory.tiers[].bandwidth_gbps"));
  const auto json = test::run_cli({"arch", "keys", "--format", "json"});
  REQUIRE(json.status == 0);
  const auto doc = core::Json::parse(json.out);
  CHECK(doc["document"] == "arch");
  CHECK(doc["keys"].size() > 40);
  const auto bad = test::run_cli({"arch", "keys", "--format", "yaml"});
  CHECK(bad.status == 2);
}

TEST_CASE("arch show --svg draws the chip to a file", "[integration][arch]") {
  const auto path = std::filesystem::temp_directory_path() / "rdasim_sn10_test.svg";
  std::filesystem::remove(path);
  const auto r = test::run_cli({"arch", "show", "configs/arch/sn10.yaml", "--svg", path.string()});
  REQUIRE(r.status == 0);
  REQUIRE(std::filesystem::exists(path));
  CHECK(std::filesystem::file_size(path) > 100000);
  CHECK_THAT(r.err, Contains("wrote"));
  std::filesystem::remove(path);
}

TEST_CASE("warnings go to stderr and into the JSON", "[integration][arch]") {
  const auto r =
      test::run_cli({"arch", "show", "configs/arch/tiny.yaml", "--json", "--set", "network.link_bytes_per_cycle=8"});
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Contains("rdasim: warning: configs/arch/tiny.yaml: network.link_bytes_per_cycle (8)"));
  CHECK(core::Json::parse(r.out)["warnings"].size() == 1);
}

TEST_CASE("options of enclosing commands work after a subcommand", "[integration][cli]") {
  const auto r = test::run_cli({"arch", "--log-level", "warn", "show", "configs/arch/tiny.yaml", "--json"});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(test::run_cli({"arch", "show", "configs/arch/tiny.yaml", "-q"}).status == 0);
}

TEST_CASE("an invalid RDASIM_LOG is named in the error", "[integration][cli][errors]") {
  ::setenv("RDASIM_LOG", "verbose", 1);
  const auto r = test::run_cli({"arch", "show", "configs/arch/tiny.yaml"});
  ::unsetenv("RDASIM_LOG");
  CHECK(r.status == 2);
  CHECK(r.err == "rdasim: error: RDASIM_LOG is 'verbose'; expected debug, info, warn, error or off\n");
}

TEST_CASE("graph reads ONNX models and YAML graphs", "[integration][graph]") {
  const auto onnx = test::run_cli(
      {"graph", "/usr/include/onnx/backend/test/data/pytorch-converted/test_Conv2d/model.onnx", "--json"});
  INFO(onnx.err);
  REQUIRE(onnx.status == 0);
  const auto j = core::Json::parse(onnx.out);
  CHECK(j["ops"][0]["kind"] == "Conv");
  CHECK(j["totals"]["flops"].get<double>() > 0);
  const auto yaml = test::run_cli({"graph", "configs/graphs/mlp.yaml", "-p", "batch=4"});
  REQUIRE(yaml.status == 0);
  CHECK_THAT(yaml.out, Contains("fc1"));
  CHECK_THAT(yaml.out, Contains("[4, 256]"));
  const auto ops = test::run_cli({"ops", "--json"});
  REQUIRE(ops.status == 0);
  const auto kinds = core::Json::parse(ops.out);
  CHECK(kinds.size() == 77);  // 64 forward kinds, 8 of training and 5 collectives
  int differentiable = 0;
  for (const auto& k : kinds) differentiable += k["gradient"].get<bool>() ? 1 : 0;
  // All but Constant, ConstantOfShape, Range, Shape, the 5 comparisons, GRU and LSTM (expanded
  // first), the 4 LLM kinds (inference), the 8 of training and the 5 collectives.
  CHECK(differentiable == 49);
}
