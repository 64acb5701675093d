// `rdasim sim` on the science workloads at their published sizes on SN10 (tagged [published]:
// the optimized build runs them, the sanitizer build leaves them out for time). For each:
// simulated cycles between the mapper's analytic bound and twice it; bytes per memory tier
// exactly the mapper's; halving the token chunk moves the total by under 2%. Multi-tenant
// workloads also run with their trace: every unit and link a tenant touched lies in its region.
#include <filesystem>

#include <catch2/catch.hpp>

#include "arch/fabric.h"
#include "core/json.h"
#include "mapper/mapping.h"
#include "tests/integration/cli_runner.h"

using namespace rdasim;

namespace {

const std::string k_sn10 = "configs/arch/sn10.yaml";

core::Json simulate(std::vector<std::string> args) {
  const auto r = test::run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  return core::Json::parse(r.out);
}

/// Bound, memory accounting and convergence of one workload; `out` keeps the default run's
/// files (report, trace, mapping) for the isolation check.
void check_workload(const std::vector<std::string>& model, const std::string& out = {}) {
  std::vector<std::string> args{"-q", "sim"};
  args.insert(args.end(), model.begin(), model.end());
  args.insert(args.end(), {"--arch", k_sn10, "--json"});
  auto first = args;
  if (out.empty()) first.push_back("--no-alone");
  else first.insert(first.end(), {"--out", out});
  const auto report = simulate(first);
  const double cycles = report.at("cycles").get<double>(), analytic = report.at("analytic_cycles").get<double>();
  INFO("simulated " << cycles << " cycles, analytic " << analytic);
  CHECK(cycles >= analytic);
  CHECK(cycles <= 2 * analytic);
  double mapped = 0;
  for (const auto& t : report.at("tenants")) mapped += t.at("dram_bytes").get<double>();
  double moved = 0;
  for (const auto& tier : report.at("memory"))
    moved += tier.at("read_bytes").get<double>() + tier.at("write_bytes").get<double>();
  CHECK(moved == Approx(mapped).epsilon(1e-9));
  // Convergence: half the chunk, and no cap on the tokens a section has.
  auto half = args;
  half.insert(half.end(), {"--no-alone", "--chunk", std::to_string(report.at("chunk").get<int>() / 2), "--max-tokens",
                           std::to_string(1 << 20)});
  const double finer = simulate(half).at("cycles").get<double>();
  CHECK(std::abs(finer - cycles) < 0.02 * cycles);
}

/// Every slice of tenant t's trace (pid t + 1) names units and links of its own region.
void check_isolation(const std::filesystem::path& dir) {
  const arch::Fabric fabric(arch::Spec::load_file(k_sn10));
  const auto mapping = mapper::mapping_from_json(core::read_json_file(dir / "mapping.json"), "mapping.json");
  const auto trace = core::read_json_file(dir / "trace.json");
  const auto report = core::read_json_file(dir / "report.json");
  std::vector<arch::Region> regions;
  for (const auto& t : mapping.tenants) regions.push_back(t.region(fabric));
  std::size_t units = 0, links = 0;
  for (const auto& e : trace.at("traceEvents")) {
    if (e.at("ph") != "X") continue;
    const auto& region = regions.at(e.at("pid").get<std::size_t>() - 1);
    const auto& a = e.at("args");
    if (a.contains("unit")) {
      ++units;
      CHECK(fabric.contains(region, fabric.unit(a.at("unit").get<int>())));
    }
    if (a.contains("link")) {
      ++links;
      CHECK(fabric.contains(region, fabric.links()[a.at("link").get<std::size_t>()]));
    }
  }
  CHECK(units > mapping.tenants.size());
  CHECK(links > mapping.tenants.size());
  // Sharing the memory slows every tenant down against running alone, and the report says so.
  for (const auto& t : report.at("tenants")) {
    CHECK(t.at("alone_cycles").get<double>() > 0);
    CHECK(t.at("slowdown").get<double>() >= 0.999);
  }
}

}  // namespace

TEST_CASE("sim lensing at published size", "[integration][sim][published]") { check_workload({"lensing"}); }

TEST_CASE("sim inversion at published size", "[integration][sim][published]") { check_workload({"inversion"}); }

TEST_CASE("sim dcrnn at published size", "[integration][sim][published]") { check_workload({"dcrnn"}); }

TEST_CASE("sim ensemble M=5, isolated tenants", "[integration][sim][published]") {
  const auto dir = std::filesystem::temp_directory_path() / "rdasim_sim_ensemble";
  std::filesystem::remove_all(dir);
  check_workload({"ensemble", "-p", "members=5"}, dir.string());
  check_isolation(dir);
  std::filesystem::remove_all(dir);
}

TEST_CASE("sim gp-dcrnn with 64 applications, isolated tenants", "[integration][sim][published]") {
  const auto dir = std::filesystem::temp_directory_path() / "rdasim_sim_gp_dcrnn";
  std::filesystem::remove_all(dir);
  check_workload({"gp-dcrnn"}, dir.string());
  check_isolation(dir);
  std::filesystem::remove_all(dir);
}

TEST_CASE("sim reads back the mapping.json that map wrote", "[integration][sim]") {
  const auto dir = std::filesystem::temp_directory_path() / "rdasim_sim_from_mapping";
  std::filesystem::remove_all(dir);
  const auto mapped = test::run_cli(
      {"-q", "map", "inversion", "-p", "batch=2", "--arch", "configs/arch/tiny.yaml", "--out", (dir / "map").string()});
  REQUIRE(mapped.status == 0);
  const auto from_file =
      simulate({"-q", "sim", (dir / "map" / "mapping.json").string(), "--arch", "configs/arch/tiny.yaml", "--json"});
  const auto direct =
      simulate({"-q", "sim", "inversion", "-p", "batch=2", "--arch", "configs/arch/tiny.yaml", "--json"});
  CHECK(from_file.at("cycles") == direct.at("cycles"));
  CHECK(from_file.at("energy") == direct.at("energy"));
  // The summary a person reads names the tenant, the time and the energy.
  const auto text = test::run_cli({"sim", "inversion", "-p", "batch=2", "--arch", "configs/arch/tiny.yaml"});
  CHECK(text.status == 0);
  CHECK(text.out.find("inversion on tiny (o1):") != std::string::npos);
  CHECK(text.out.find("average power") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("sim runs one op per section, sections of views alone included", "[integration][sim]") {
  // inversion's first op is a view (Unsqueeze): in o0 it is a section without units whose
  // DRAM traffic the sequencer moves.
  const auto report = simulate(
      {"-q", "sim", "inversion", "-p", "batch=2", "--arch", "configs/arch/tiny.yaml", "--mode", "o0", "--json"});
  CHECK(report.at("cycles").get<double>() >= report.at("analytic_cycles").get<double>());
  CHECK(report.at("cycles").get<double>() <= 2 * report.at("analytic_cycles").get<double>());
  double mapped = 0, moved = 0;
  for (const auto& t : report.at("tenants")) mapped += t.at("dram_bytes").get<double>();
  for (const auto& t : report.at("memory"))
    moved += t.at("read_bytes").get<double>() + t.at("write_bytes").get<double>();
  CHECK(moved == Approx(mapped).epsilon(1e-9));
}

TEST_CASE("sim a Llama-3-8B decode step on one SN40L within 1.3x of its HBM bound",
          "[integration][sim][published][llm]") {
  // Issue 21's bar: the bytes a decode step reads (weights, one embedding row, the KV cache of
  // 1024 tokens: 15.14 GB) over the preset's peak HBM bandwidth. The simulator's share of the
  // rest: HBM at the preset's 85% efficiency, reconfigurations, the LM head's barrier.
  const auto report =
      simulate({"-q", "sim", "llm", "-p", "model=llama-3-8b", "--arch", "configs/arch/sn40l.yaml", "--json"});
  const auto& hbm = report.at("memory").at(0);
  REQUIRE(hbm.at("name") == "hbm");
  const double read = hbm.at("read_bytes").get<double>();
  CHECK(read == Approx(15.14e9).epsilon(0.01));
  const double bound = read / 1.6e12;  // configs/arch/sn40l.yaml: 1600 GB/s
  const double seconds = report.at("seconds").get<double>();
  INFO("simulated " << seconds * 1e3 << " ms, bound " << bound * 1e3 << " ms");
  CHECK(seconds > bound);
  CHECK(seconds < 1.3 * bound);
}
