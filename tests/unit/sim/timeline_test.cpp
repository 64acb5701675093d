// The system timeline (sim/system): collectives simulated step by step on RDA systems' links take
// the closed form of their algorithm when every rank starts together, and a straggler delays a
// ring less than it delays a direct exchange's every rank.
#include <algorithm>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "arch/system.h"
#include "graphs/editor.h"
#include "graphs/parallel.h"
#include "graphs/verify.h"
#include "sim/system/timeline.h"
#include "tests/test_paths.h"

namespace rdasim::sim {
namespace {

arch::SystemSpec system(const std::string& name, int devices, const std::string& topology = "") {
  std::vector<core::Override> overrides;
  if (!topology.empty()) overrides.push_back(core::Override::parse("interconnect.topology=" + topology));
  return arch::SystemSpec::load_file(test::source_dir() / "configs/systems" / (name + ".yaml"), overrides, devices);
}

/// One collective of `kind` over n ranks, each with `bytes` of bf16 (an all-gather: its part).
graphs::Graph collective_graph(const std::string& kind, int n, double bytes) {
  graphs::Graph g(kind);
  graphs::GraphEditor e(g);
  std::vector<graphs::TensorId> ins;
  std::vector<std::int64_t> devices;
  for (int r = 0; r < n; ++r) {
    ins.push_back(e.source(fmt::format("x{}", r), {static_cast<std::int64_t>(bytes / 2)}, graphs::Role::input));
    devices.push_back(r);
  }
  for (const auto t : e.op_n(kind, "c", ins, ins.size(), graphs::make_attrs({{"devices", devices}}))) {
    g.mark_output(t);
  }
  graphs::verify(g);
  return g;
}

LinkRun run_one(const graphs::Graph& g, const arch::SystemSpec& s) {
  const auto plan = graphs::schedule(g, devices_used(g));
  const auto timeline = run_timeline(g, plan, std::vector<double>(plan.segments.size(), 0.0), s, {});
  REQUIRE(timeline.links.size() == 1);
  return timeline.links.front();
}

TEST_CASE("simulated collectives on RDA systems take the closed form", "[sim][system][collective]") {
  for (int n = 2; n <= 16; ++n) {
    for (const double bytes : {4096.0, 1048576.0, 67108864.0, 1073741824.0}) {
      INFO("n " << n << ", " << bytes << " B");
      // SN40L sockets through a switch: 4 links of 64 GB/s each way, 2 us.
      const auto sw = system("sn40l-16", n);
      const double b = 256e9, a = 2e-6;
      const auto ar = run_one(collective_graph("AllReduce", n, bytes), sw);
      const double ar_closed = std::min(a + (n - 1) * bytes / b, 2 * (a + (n - 1.0) / n * bytes / b));
      CHECK(ar.end_s - ar.start_s == Approx(ar_closed).epsilon(0.05));
      const auto ag = run_one(collective_graph("AllGather", n, bytes / n), sw);
      const double gathered = n * std::floor(bytes / n / 2) * 2;
      CHECK(ag.end_s - ag.start_s == Approx(a + (n - 1.0) / n * gathered / b).epsilon(0.05));
      // A ring of SN10s (4 links, 2 to each neighbour, of 32 GB/s; 5 us): 2(n-1)/n S/B + 2(n-1) a
      // with B both neighbours' links.
      const auto rr =
          run_one(collective_graph("AllReduce", n, bytes),
                  arch::SystemSpec::load_file(test::source_dir() / "configs/systems/sn10-8.yaml",
                                              std::vector{core::Override::parse("interconnect.topology=ring"),
                                                          core::Override::parse("interconnect.links_per_device=4")},
                                              n));
      const double b_ring = 4 * 32e9;  // n = 2: all 4 links to the one peer; else 2 + 2 both ways
      CHECK(rr.end_s - rr.start_s == Approx(2.0 * (n - 1) / n * bytes / b_ring + 2.0 * (n - 1) * 5e-6).epsilon(0.05));
      CHECK(rr.algorithm == arch::CollectiveAlgorithm::ring);
    }
  }
}

TEST_CASE("a straggler holds up a direct exchange for everyone, a ring step by step", "[sim][system][collective]") {
  const auto sw = system("sn40l-8", 8);
  const auto plan = arch::plan_collective(sw, arch::Collective::all_reduce, 64e6, 8);
  std::vector<double> start(8, 0.0);
  start[3] = 1e-3;  // one rank 1 ms late
  const auto end = simulate_collective(plan, start);
  // Direct: nobody finishes before the late rank's data is in.
  for (const double e : end) CHECK(e >= 1e-3 + plan.seconds / plan.steps);
  const std::vector<double> together(8, 0.0);
  for (const double e : simulate_collective(plan, together)) CHECK(e == Approx(plan.seconds));
}

TEST_CASE("send and receive: the receiver waits for the sender's data", "[sim][system]") {
  graphs::Graph g("p2p");
  graphs::GraphEditor e(g);
  const auto x = e.source("x", {1 << 20}, graphs::Role::input);
  const auto attrs = graphs::make_attrs({{"from", std::int64_t{0}}, {"to", std::int64_t{1}}});
  e.place_on(0);
  const auto y = e.op("Relu", "work0", {x});
  const auto sent = e.op("Send", "send", {y}, attrs);
  e.place_on(1);
  const auto got = e.op("Recv", "recv", {sent}, attrs);
  g.mark_output(e.op("Relu", "work1", {got}));
  graphs::verify(g);
  const auto plan = graphs::schedule(g, 2);
  REQUIRE(plan.segments.size() == 2);
  const auto s = system("sn40l-8", 2);
  const auto timeline = run_timeline(g, plan, {1e-3, 2e-3}, s, {});
  const double transfer = 2e-6 + (1 << 20) * 2.0 / 256e9;
  CHECK(timeline.seconds == Approx(1e-3 + transfer + 2e-3));
  CHECK(timeline.devices[1].wait_s == Approx(1e-3 + transfer));
}

}  // namespace
}  // namespace rdasim::sim
