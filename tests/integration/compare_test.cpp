// `rdasim compare` end to end on the smallest case (inversion, one batch): the files it writes,
// measured times used where the CSV has them (and the model's error against them), verdicts
// read off the reports on both sides, the same files on a second run, and the plots.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/integration/cli_runner.h"

using namespace rdasim;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

test::CliResult compare(const std::string& out, bool plots) {
  std::vector<std::string> args{"-q",          "compare",
                                "--arch",      "configs/arch/sn10.yaml",
                                "--gpu",       "configs/gpu/a100.yaml",
                                "--gpu",       "configs/gpu/h100.yaml",
                                "--workloads", "inversion",
                                "--batch",     "32",
                                "--measured",  "tests/data/compare/measured",
                                "--out",       out};
  if (!plots) args.push_back("--no-plots");
  return test::run_cli(args);
}

}  // namespace

TEST_CASE("compare: writes the table, the reasons and the command, and uses measured times", "[compare]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "rdasim_compare_test";
  std::filesystem::remove_all(dir);
  const auto r = compare(dir.string(), true);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("inversion"));

  const auto csv = lines(read(dir / "compare.csv"));
  REQUIRE(csv.size() == 7);  // header, then {a100, h100} x {eager, fused, graph}
  CHECK_THAT(csv[0], StartsWith("case,batch,precision,gpu,gpu_run,rda_s,"));
  // a100 eager: the measured 0.5 ms is used, the model's error against it is reported.
  CHECK_THAT(csv[1], StartsWith("inversion,32,bf16,a100,eager,"));
  CHECK_THAT(csv[1], Contains(",0.0005,0.0005,measured,"));
  // a100 fused: the measured row failed (no time), so the model's time is used.
  CHECK_THAT(csv[2], StartsWith("inversion,32,bf16,a100,fused,"));
  CHECK_THAT(csv[2], Contains(",model,"));
  // As CUDA graphs would run it: fused, and no kernel waits on the host.
  CHECK_THAT(csv[3], StartsWith("inversion,32,bf16,a100,graph,"));
  CHECK_THAT(csv[3], Contains(",model,"));
  for (std::size_t i = 1; i < csv.size(); ++i) {
    CHECK_THAT(csv[i], Contains(",RDA: "));
    CHECK_THAT(csv[i], Contains("-bound in section 1 of"));
    CHECK_THAT(csv[i], Contains("\"GPU: "));
  }
  const std::string md = read(dir / "compare.md");
  CHECK_THAT(md, Contains("## sn10 vs NVIDIA A100-SXM4-80GB"));
  CHECK_THAT(md, Contains("## sn10 vs NVIDIA H100 SXM5"));
  CHECK_THAT(md, Contains("(measured)"));
  CHECK_THAT(md, Contains("Median absolute error"));
  CHECK_THAT(md, Contains("kernel launches"));
  const std::string command = read(dir / "command.txt");
  CHECK_THAT(command, StartsWith("rdasim compare --arch configs/arch/sn10.yaml --gpu configs/gpu/a100.yaml"));
  CHECK(std::filesystem::exists(dir / "speedup.png"));
  CHECK(std::filesystem::exists(dir / "breakdown.png"));

  // The same inputs give the same files.
  const std::filesystem::path again = std::filesystem::temp_directory_path() / "rdasim_compare_test_again";
  std::filesystem::remove_all(again);
  REQUIRE(compare(again.string(), false).status == 0);
  CHECK(read(again / "compare.csv") == read(dir / "compare.csv"));
  CHECK_FALSE(std::filesystem::exists(again / "speedup.png"));
}

TEST_CASE("gpu: the model of a workload, as text and as JSON", "[compare]") {
  const auto text = test::run_cli({"gpu", "dcrnn", "--gpu", "configs/gpu/h100.yaml", "--top", "3"});
  INFO(text.err);
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Contains("kernel launches"));
  CHECK_THAT(text.out, Contains("kernel (longest first)"));
  const auto json =
      test::run_cli({"gpu", "lensing", "-p", "stage=denoise", "--gpu", "configs/gpu/h100.yaml", "--json"});
  REQUIRE(json.status == 0);
  CHECK_THAT(json.out, Contains("\"verdict\": \"GPU: compute-bound"));
}
