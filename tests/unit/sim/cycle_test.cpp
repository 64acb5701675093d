// The SystemC simulator against analytic answers (issue: each within 5% of cycles): a GEMM on one
// PCU and on many (compute bound), an element-wise op larger than SRAM (memory bound), a
// two-stage pipeline (the slowest stage sets the pace), two streams forced over one link (each
// gets half) and a section switch (reconfiguration plus weight load). SystemC elaborates once per
// process, so each case runs in its own process (catch_discover_tests) and cases that need
// several runs use sim::simulate, which forks.
#include <deque>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "arch/fabric.h"
#include "core/error.h"
#include "core/files.h"
#include "graphs/import/yaml_import.h"
#include "mapper/mapping.h"
#include "sim/cycle/dataflow.h"
#include "sim/cycle/simulate.h"
#include "tests/test_paths.h"

using namespace rdasim;
using Catch::Matchers::Contains;

namespace {

const std::string k_tiny = (test::source_dir() / "configs/arch/tiny.yaml").string();

arch::Fabric tiny(const std::vector<std::string>& sets = {}) {
  std::vector<core::Override> overrides;
  for (const auto& s : sets) overrides.push_back(core::Override::parse(s));
  return arch::Fabric(arch::Spec::load_file(k_tiny, overrides));
}

/// A mapping written by hand on tile 0 of a fabric: ops on chosen units, streams routed on the
/// shortest path through switches, DRAM streams; what check() accepts.
class HandMapping {
 public:
  explicit HandMapping(const arch::Fabric& fabric) : m_fabric(fabric) {
    m.arch = fabric.spec().name();
    m.arch_hash = fabric.spec().hash();
    m.mode = mapper::Mode::o1;
    m.dram_tier = fabric.spec().memory_tiers()[0].name;
    mapper::Tenant t;
    t.name = "hand";
    t.tiles = {0};
    t.method = "hand";
    m.tenants.push_back(t);
  }
  /// The PCU or PMU at (x, y) of tile 0.
  [[nodiscard]] int at(int x, int y) const { return m_fabric.cell_unit(0, x, y); }
  mapper::MappedSection& section() {
    auto& s = m.tenants[0].sections.emplace_back();
    s.reconfig_cycles = static_cast<double>(m_fabric.spec().reconfig_cycles());
    return s;
  }
  /// An op on `pcus` PCUs then PMUs (its output PMU first); engine "memory" when it has no PCU.
  void op(mapper::MappedSection& s, const std::string& name, const std::vector<int>& units, int pcus,
          double stage_cycles, double flops = 0) {
    mapper::MappedOp o;
    o.name = name;
    o.kind = pcus > 0 ? "MatMul" : "Concat";
    o.engine = pcus > 0 ? graphs::Engine::matrix : graphs::Engine::memory;
    o.parallel = pcus > 0 ? pcus : 1;
    o.buffer_pmus = static_cast<int>(units.size()) - pcus;
    o.output_pmus = std::min(1, o.buffer_pmus);
    o.flops = flops;
    o.cycles = stage_cycles * std::max(pcus, 1);
    o.stage_cycles = stage_cycles;
    o.units = units;
    s.ops.push_back(o);
    s.pcus += pcus;
    s.pmus += o.buffer_pmus;
    s.flops += flops;
    s.compute_cycles = std::max(s.compute_cycles, stage_cycles);
  }
  void stream(mapper::MappedSection& s, int src, int dst, double bytes, std::vector<int> links = {},
              mapper::TokenNeed need = {}) {
    if (links.empty()) links = route(src, dst);
    s.streams.push_back({src, dst, bytes, links, static_cast<int>(s.streams.size()), need});
  }
  void dram(mapper::MappedSection& s, int unit, double bytes, bool write, bool preload = false) {
    s.dram.push_back({unit, bytes, write, preload});
    (write ? s.dram_write_bytes : s.dram_read_bytes) += bytes;
  }
  /// Shortest path of links from unit a to unit b through switches of tile 0.
  [[nodiscard]] std::vector<int> route(int a, int b) const {
    const auto region = m_fabric.region("hand", {0});
    std::map<int, int> via;  // unit -> link that reached it
    std::deque<int> queue{a};
    via[a] = -1;
    while (!queue.empty()) {
      const int u = queue.front();
      queue.pop_front();
      if (u == b) break;
      if (u != a && m_fabric.unit(u).kind != arch::UnitKind::switch_box) continue;
      for (int l : m_fabric.out_links(u)) {
        const auto& link = m_fabric.links()[static_cast<std::size_t>(l)];
        if (!m_fabric.contains(region, link) || via.count(link.dst)) continue;
        via[link.dst] = l;
        queue.push_back(link.dst);
      }
    }
    REQUIRE(via.count(b) == 1);
    std::vector<int> path;
    for (int u = b; via.at(u) >= 0; u = m_fabric.links()[static_cast<std::size_t>(via.at(u))].src)
      path.insert(path.begin(), via.at(u));
    return path;
  }
  mapper::Mapping m;

 private:
  const arch::Fabric& m_fabric;
};

graphs::Graph yaml_graph(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("rdasim_sim_" + name + ".yaml");
  core::write_text_file(path, text);
  auto g = graphs::load_yaml_graph(path);
  std::filesystem::remove(path);
  return g;
}

double dram_bytes_per_cycle(const arch::Spec& spec) {
  const auto& t = spec.memory_tiers()[0];
  return t.bandwidth_gbps * t.efficiency / spec.clock_ghz();
}

}  // namespace

TEST_CASE("a large GEMM on one PCU runs at the PCU's MAC rate", "[sim][validation]") {
  const auto fabric = tiny({"pmu.capacity_kib=64", "pmu.banks=16"});
  const auto& spec = fabric.spec();
  const double m = 2048, k = 64, n = 64;
  const double flops = 2 * m * n * k;
  const double expected = flops / (2.0 * spec.pcu().lanes * spec.pcu().stages);  // MACs per cycle
  HandMapping h(fabric);
  auto& s = h.section();
  const int pcu = h.at(0, 0), out = h.at(1, 0), weights = h.at(0, 1);
  h.op(s, "gemm", {pcu, out, weights}, 1, expected, flops);
  h.dram(s, pcu, m * k * 4, false);
  h.dram(s, weights, k * n * 4, false, true);
  h.dram(s, out, m * n * 4, true);
  h.stream(s, weights, pcu, k * n * 4);
  h.stream(s, pcu, out, m * n * 4);
  REQUIRE(mapper::check(h.m, fabric).empty());
  const auto r = sim::simulate_here(h.m, fabric, {}).report;
  const auto& sec = r.tenants[0].sections[0];
  CHECK(sec.run_cycles == Approx(expected).epsilon(0.05));
  CHECK(sec.reconfig_cycles == Approx(static_cast<double>(spec.reconfig_cycles())));
  CHECK(r.flops == Approx(flops));
  // The PCU is busy nearly the whole time it streams.
  for (const auto& u : r.units) {
    if (u.unit == pcu) CHECK(u.busy > 0.9 * sec.run_cycles / r.cycles);
  }
}

TEST_CASE("a large GEMM on many PCUs runs at their MAC rate", "[sim][validation]") {
  // Mapped by the mapper: it deals the PCUs; the answer is FLOPs over the PCUs' MAC rate.
  const auto fabric = tiny({"pmu.capacity_kib=1024"});
  const auto& spec = fabric.spec();
  const auto g = yaml_graph("gemm", R"(name: gemm
inputs: [{name: x, shape: [256, 256]}]
params: [{name: w, shape: [256, 256]}]
ops: [{name: mm, op: MatMul, inputs: [x, w], outputs: [y]}]
outputs: [y]
)");
  const auto mapping = mapper::map_applications({g}, fabric, {});
  REQUIRE(mapping.tenants[0].sections.size() == 1);
  const auto& op = mapping.tenants[0].sections[0].ops[0];
  REQUIRE(op.reduction_split == 1);
  REQUIRE(op.parallel > 4);
  const double expected = 2.0 * 256 * 256 * 256 / (2.0 * spec.pcu().lanes * spec.pcu().stages * op.parallel);
  const auto r = sim::simulate_here(mapping, fabric, {}).report;
  CHECK(r.tenants[0].sections[0].run_cycles == Approx(expected).epsilon(0.05));
}

TEST_CASE("an element-wise op larger than SRAM streams at DRAM bandwidth", "[sim][validation]") {
  const auto fabric = tiny();
  const auto& spec = fabric.spec();
  const auto g = yaml_graph("relu", R"(name: relu
inputs: [{name: x, shape: [1024, 1024]}]
ops: [{name: relu, op: Relu, inputs: [x], outputs: [y]}]
outputs: [y]
)");
  const double bytes = 2.0 * 1024 * 1024 * 4;  // in and out, fp32
  const double sram = spec.pmu().capacity_kib * 1024 * fabric.count(arch::UnitKind::pmu);
  REQUIRE(bytes / 2 > sram);
  const auto mapping = mapper::map_applications({g}, fabric, {});
  const auto r = sim::simulate_here(mapping, fabric, {}).report;
  CHECK(r.tenants[0].sections[0].run_cycles == Approx(bytes / dram_bytes_per_cycle(spec)).epsilon(0.05));
  CHECK(r.memory[0].read_bytes + r.memory[0].write_bytes == Approx(bytes).epsilon(1e-12));
  CHECK(r.memory[0].utilization > 0.9);
}

TEST_CASE("a two-stage pipeline runs at the pace of its slower stage", "[sim][validation]") {
  const auto fabric = tiny({"pmu.banks=16"});
  HandMapping h(fabric);
  auto& s = h.section();
  const int a = h.at(0, 0), b = h.at(2, 0), a_out = h.at(1, 0), b_out = h.at(3, 0);
  const double slow = 200000, fast = 50000, bytes = 64 * 1024;
  h.op(s, "slow", {a, a_out}, 1, slow);
  h.op(s, "fast", {b, b_out}, 1, fast);
  h.dram(s, a, bytes, false);
  h.stream(s, a, a_out, bytes);
  h.stream(s, a_out, b, bytes);
  h.stream(s, b, b_out, bytes);
  h.dram(s, b_out, bytes, true);
  REQUIRE(mapper::check(h.m, fabric).empty());
  // The slow stage first, then the fast one: the same throughput either way round.
  const auto r = sim::simulate(h.m, fabric, {}).report;
  CHECK(r.tenants[0].sections[0].run_cycles == Approx(slow).epsilon(0.05));
  // Each of the four units fires each token once, and that is what the report counts.
  CHECK(r.events == 4.0 * static_cast<double>(r.tenants[0].sections[0].tokens));
  std::swap(h.m.tenants[0].sections[0].ops[0].stage_cycles, h.m.tenants[0].sections[0].ops[1].stage_cycles);
  const auto swapped = sim::simulate(h.m, fabric, {}).report;
  CHECK(swapped.tenants[0].sections[0].run_cycles == Approx(slow).epsilon(0.05));
  // The fast stage waits on its input for about three quarters of the time.
  for (const auto& u : r.units) {
    if (u.unit == b) CHECK(u.stalled_input == Approx(1.0 - fast / slow).margin(0.05));
  }
}

TEST_CASE("two streams forced over one link each get half its bandwidth", "[sim][validation]") {
  const auto fabric = tiny({"pmu.banks=64"});
  const double link = fabric.spec().network().link_bytes_per_cycle;
  const double bytes = 1024 * 1024;
  auto build = [&](bool both) {
    HandMapping h(fabric);
    auto& s = h.section();
    const int a = h.at(0, 0), b = h.at(0, 2), sink = h.at(3, 2);
    h.op(s, "a", {a}, 1, 1);
    if (both) h.op(s, "b", {b}, 1, 1);
    h.op(s, "sink", {sink}, 0, 1);
    // b's route joins a's at a's first switch, so both share every link after it.
    const auto shared = h.route(a, sink);
    h.stream(s, a, sink, bytes, shared);
    if (both) {
      const int first_switch = fabric.links()[static_cast<std::size_t>(shared[0])].dst;
      auto path = h.route(b, first_switch);
      path.insert(path.end(), shared.begin() + 1, shared.end());
      h.stream(s, b, sink, bytes, path);
    }
    REQUIRE(mapper::check(h.m, fabric).empty());
    return h.m;
  };
  const auto alone = sim::simulate(build(false), fabric, {}).report;
  const auto shared = sim::simulate(build(true), fabric, {}).report;
  CHECK(alone.tenants[0].sections[0].run_cycles == Approx(bytes / link).epsilon(0.05));
  CHECK(shared.tenants[0].sections[0].run_cycles == Approx(2 * bytes / link).epsilon(0.05));
  // The shared links carried both streams; each was busy all the time.
  double most = 0, peak = 0;
  for (const auto& l : shared.links) {
    most = std::max(most, l.bytes);
    peak = std::max(peak, l.peak_utilization);
  }
  CHECK(most == Approx(2 * bytes));
  CHECK(peak == Approx(1.0).margin(0.05));
}

TEST_CASE("a section switch costs the reconfiguration and the weights' load", "[sim][validation]") {
  const auto fabric = tiny({"pmu.capacity_kib=2048", "pmu.banks=64", "network.link_bytes_per_cycle=64"});
  const auto& spec = fabric.spec();
  const double weights = 1024 * 1024;
  HandMapping h(fabric);
  for (int k = 0; k < 2; ++k) {
    auto& s = h.section();
    const int pcu = h.at(0, 0), out = h.at(1, 0), w = h.at(0, 1);
    h.op(s, fmt::format("layer{}", k), {pcu, out, w}, 1, 100);
    h.dram(s, w, weights, false, true);
    h.stream(s, w, pcu, weights);
    h.stream(s, pcu, out, 4096);
    h.dram(s, out, 4096, true);
  }
  REQUIRE(mapper::check(h.m, fabric).empty());
  const auto r = sim::simulate_here(h.m, fabric, {}).report;
  const auto& second = r.tenants[0].sections[1];
  const double expected = static_cast<double>(spec.reconfig_cycles()) + (weights + 4096) / dram_bytes_per_cycle(spec);
  CHECK(second.start == Approx(r.tenants[0].sections[0].end));
  CHECK(second.cycles() == Approx(expected).epsilon(0.05));
  CHECK(second.reconfig_cycles == Approx(static_cast<double>(spec.reconfig_cycles())));
}

TEST_CASE("simulate runs in a worker as often as asked, a second run in-process is refused", "[sim]") {
  const auto fabric = tiny();
  HandMapping h(fabric);
  auto& s = h.section();
  const int pcu = h.at(0, 0), out = h.at(1, 0);
  h.op(s, "op", {pcu, out}, 1, 1000);
  h.stream(s, pcu, out, 4096);
  h.dram(s, out, 4096, true);
  const auto first = sim::simulate(h.m, fabric, {});
  const auto second = sim::simulate(h.m, fabric, {});
  CHECK(sim::to_json(first.report).at("cycles") == sim::to_json(second.report).at("cycles"));
  CHECK(first.report.cycles > 1000);
  // A mapping the fabric cannot hold comes back from the worker as the same input error.
  auto broken = h.m;
  broken.tenants[0].sections[0].ops[0].units = {out, pcu};
  CHECK_THROWS_WITH(sim::simulate(broken, fabric, {}), Contains("needs a pcu but sits on unit"));
  CHECK_THROWS_AS(sim::simulate(broken, fabric, {}), core::InputError);
  // In this process SystemC elaborates once (and workers forked afterwards inherit that).
  (void)sim::simulate_here(h.m, fabric, {});
  CHECK_THROWS_AS(sim::simulate_here(h.m, fabric, {}), core::InternalError);
}

TEST_CASE("report.json reads back as it was written", "[sim]") {
  const auto fabric = tiny();
  HandMapping h(fabric);
  auto& s = h.section();
  h.op(s, "op", {h.at(0, 0), h.at(1, 0)}, 1, 500, 4000);
  h.stream(s, h.at(0, 0), h.at(1, 0), 4096);
  h.dram(s, h.at(1, 0), 4096, true);
  sim::SimOptions options;
  options.trace = true;
  const auto result = sim::simulate(h.m, fabric, options);
  const auto json = sim::to_json(result.report);
  CHECK(sim::to_json(sim::report_from_json(json, "test")) == json);
  CHECK_THROWS_WITH(sim::report_from_json(core::Json::object({{"format", "rdasim.report/1"}}), "r.json"),
                    Contains("report.tool_version is missing"));
  // The trace has the section's phases and the busy units.
  int slices = 0;
  for (const auto& e : result.trace.at("traceEvents")) slices += e.at("ph") == "X" ? 1 : 0;
  CHECK(slices >= 6);  // section, reconfigure, load, stream, two units (and links)
}

// The figures a report derives from what the simulator measured are computed in one place
// (make_report), by hand here: no SystemC run needed.
TEST_CASE("a report derives seconds, totals, fractions and energy from the measurements", "[sim][report]") {
  const auto fabric = tiny();
  const auto& spec = fabric.spec();
  HandMapping h(fabric);
  auto& s = h.section();
  h.op(s, "gemm", {h.at(0, 0), h.at(1, 0)}, 1, 100.0, 2e6);
  s.dram_read_bytes = 4096;
  sim::Measurements m;
  m.tenants.push_back({});
  m.tenants[0].cycles = 1000;
  m.tenants[0].alone_cycles = 800;
  m.tenants[0].pmu_bytes = 1e4;
  m.tenants[0].hop_bytes = 3e4;
  m.units.push_back({h.at(0, 0), 500, 100, 50});
  m.read_bytes = 4096;
  m.tier_busy_cycles = 250;
  const auto r = sim::make_report(h.m, fabric, m);
  const double hz = spec.clock_ghz() * 1e9;
  CHECK(r.seconds == Approx(1000 / hz));
  CHECK(r.tenants[0].seconds == Approx(1000 / hz));
  CHECK(r.tenants[0].slowdown == Approx(1.25));
  CHECK(r.tenants[0].flops == 2e6);
  CHECK(r.tenants[0].dram_bytes == 4096);
  CHECK(r.units[0].busy == Approx(0.5));
  CHECK(r.units[0].idle == Approx(0.35));
  REQUIRE(r.memory.size() == spec.memory_tiers().size());
  CHECK(r.memory[0].utilization == Approx(0.25));
  const auto& e = spec.energy();
  CHECK(r.energy.compute_j == Approx(2e6 * e.pj_per_flop * 1e-12));
  CHECK(r.energy.pmu_j == Approx(1e4 * e.pj_per_pmu_byte * 1e-12));
  CHECK(r.energy.network_j == Approx(3e4 * e.pj_per_hop_byte * 1e-12));
  CHECK(r.energy.dram_j == Approx(4096 * spec.memory_tiers()[0].pj_per_byte * 1e-12));
  CHECK(r.energy.static_j == Approx(e.static_w * r.seconds));
  CHECK(r.average_power_w == Approx(r.energy.total_j() / r.seconds));
  // What it writes reads back as the same report.
  const auto back = sim::report_from_json(sim::to_json(r), "report.json");
  CHECK(sim::to_json(back) == sim::to_json(r));
}

// ---- Token dependencies (DESIGN.md §Modelling): microbenchmarks against hand calculations,
// simulated and analytic. A whole-input op waits for its producer's last token, so N of them
// chained take N passes; element-wise ops stream through one pass; a window waits for its halo.

namespace {

/// A YAML graph of `n` ops of `kind` chained on input x of `shape` (an op line's tail after
/// "op: <kind>, inputs: [...], outputs: [...]" in `attrs`, e.g. ", attrs: {axis: 0}").
std::string chain_yaml(const std::string& kind, int n, const std::string& shape, const std::string& attrs = "",
                       const std::string& params = "") {
  std::string text = fmt::format("name: chain\ninputs: [{{name: x, shape: {}}}]\n", shape);
  if (!params.empty()) text += "params:\n";
  for (int i = 0; i < n && !params.empty(); ++i) text += fmt::format("  - {{name: w{}, shape: {}}}\n", i, params);
  text += "ops:\n";
  for (int i = 0; i < n; ++i) {
    const std::string in = i == 0 ? "x" : fmt::format("t{}", i - 1);
    const std::string weight = params.empty() ? "" : fmt::format(", w{}", i);
    const std::string out = i + 1 == n ? "y" : fmt::format("t{}", i);
    text +=
        fmt::format("  - {{name: op{}, op: {}, inputs: [{}{}], outputs: [{}]{}}}\n", i, kind, in, weight, out, attrs);
  }
  return text + "outputs: [y]\n";
}

arch::Fabric preset(const std::string& name, const std::vector<std::string>& sets = {}) {
  std::vector<core::Override> overrides;
  for (const auto& s : sets) overrides.push_back(core::Override::parse(s));
  return arch::Fabric(
      arch::Spec::load_file((test::source_dir() / "configs/arch" / (name + ".yaml")).string(), overrides));
}

/// The tiny fabric with room for whole tensors and DRAM, links and PMU banks too fast to
/// matter: what is left is the passes, each long (a few PCUs per op) against the pipeline's fill.
arch::Fabric passes_only() {
  return tiny({"pmu.capacity_kib=256", "pmu.banks=256", "network.link_bytes_per_cycle=1024",
               "memory.tiers.0.bandwidth_gbps=1000000"});
}

struct Timed {
  mapper::Mapping mapping;
  double analytic = 0;   ///< the section's critical path (compute), cycles
  double simulated = 0;  ///< the section's streaming time, cycles
  double slowest = 0;    ///< the slowest op's stage, cycles
};

/// 256 tokens a section: fine enough that one token's fill per op is under half a percent of a
/// pass.
sim::TokenOptions fine_tokens() {
  sim::TokenOptions t;
  t.chunk = 1 << 20;
  t.min_tokens = 256;
  return t;
}

/// Maps a one-section graph and simulates it (in a worker: several per test).
Timed timed(const std::string& text, const arch::Fabric& fabric, const sim::TokenOptions& tokens = fine_tokens()) {
  Timed t;
  t.mapping = mapper::map_applications({yaml_graph("chain", text)}, fabric, {});
  REQUIRE(t.mapping.tenants[0].sections.size() == 1);
  const auto& s = t.mapping.tenants[0].sections[0];
  t.analytic = s.compute_cycles;
  for (const auto& o : s.ops) t.slowest = std::max(t.slowest, o.stage_cycles);
  sim::SimOptions options;
  options.tokens = tokens;
  t.simulated = sim::simulate(t.mapping, fabric, options).report.tenants[0].sections[0].run_cycles;
  return t;
}

}  // namespace

TEST_CASE("N chained whole-input ops take N passes, N element-wise ops one pass and N fills", "[sim][streaming]") {
  const auto fabric = passes_only();
  for (int n : {1, 4}) {
    INFO(n << " softmaxes over the streamed axis");
    // Softmax over axis 0 while rows stream: each waits for all of its input. Its passes run
    // one after another: n x its stage (every op of the chain gets the same PCUs).
    const auto softmax = timed(chain_yaml("Softmax", n, "[4096, 64]", ", attrs: {axis: 0}"), fabric);
    const double passes = n * softmax.slowest;
    CHECK(softmax.analytic == Approx(passes).epsilon(0.05));
    CHECK(softmax.simulated == Approx(passes).epsilon(0.05));
    CHECK(softmax.mapping.tenants[0].sections[0].barriers == n - 1);
  }
  // Relu streams token by token: one pass of the slowest stage; each op adds only its pipeline
  // fill, tens of cycles against a pass of thousands.
  const auto relu = timed(chain_yaml("Relu", 4, "[4096, 64]"), fabric);
  CHECK(relu.mapping.tenants[0].sections[0].barriers == 0);
  CHECK(relu.analytic == Approx(relu.slowest).epsilon(0.05));
  CHECK(relu.simulated == Approx(relu.slowest).epsilon(0.05));
}

TEST_CASE("a chain of 3x3 convolutions streams rows with a halo of one row per layer", "[sim][streaming]") {
  const auto fabric = passes_only();
  // [1, 16, 16, 16] held channels-last streams by rows: 16 slices. Each layer emits row j once
  // row j + 1 of its input is in, one sixteenth of a pass behind the layer before it.
  const int layers = 4;
  const auto conv =
      timed(chain_yaml("Conv", layers, "[1, 16, 16, 16]", ", attrs: {pads: [1, 1, 1, 1]}", "[16, 16, 3, 3]"), fabric);
  const auto& s = conv.mapping.tenants[0].sections[0];
  CHECK_THAT(s.streamed, Contains("16 slices, channels-last"));
  const double hand = conv.slowest * (1.0 + (layers - 1) / 16.0);
  CHECK(conv.analytic == Approx(hand).epsilon(0.05));
  CHECK(conv.simulated == Approx(hand).epsilon(0.05));
  int windows = 0;
  for (const auto& st : s.streams) windows += st.need.dependency == graphs::Dependency::window ? 1 : 0;
  CHECK(windows >= layers - 1);
}

TEST_CASE("a recurrence whose step needs its whole previous state takes one pass per step", "[sim][streaming]") {
  const auto fabric = passes_only();
  // h(t+1) = relu(A h(t)) over 64 nodes streamed by node: every node of the next state sums
  // over every node of this one (a graph diffusion), so step t+1 starts when step t has ended.
  const int steps = 4;
  std::string text =
      "name: recurrence\ninputs: [{name: h0, shape: [64, 32]}]\nparams: [{name: a, shape: [64, 64]}]\nops:\n";
  for (int t = 0; t < steps; ++t) {
    text += fmt::format("  - {{name: mix{0}, op: MatMul, inputs: [a, h{0}], outputs: [m{0}]}}\n", t);
    text += fmt::format("  - {{name: act{0}, op: Relu, inputs: [m{0}], outputs: [h{1}]}}\n", t, t + 1);
  }
  text += fmt::format("outputs: [h{}]\n", steps);
  const auto r = timed(text, fabric);
  const auto& s = r.mapping.tenants[0].sections[0];
  CHECK(s.barriers == steps - 1);
  // Each step: its MatMul's pass, the Relu streaming behind it.
  double hand = 0;
  for (std::size_t i = 0; i + 1 < s.ops.size(); i += 2)
    hand += std::max(s.ops[i].stage_cycles, s.ops[i + 1].stage_cycles);
  CHECK(r.analytic == Approx(hand).epsilon(0.05));
  CHECK(r.simulated == Approx(hand).epsilon(0.05));
}

TEST_CASE("20 chained softmaxes or transposes add 19 of their passes, not 19 pipeline fills", "[sim][streaming]") {
  // The issue's two chains on sn10 as published (DRAM included). Hand calculation: DRAM moves
  // `read` cycles for x in and as many for y out. A softmax over axis 0 needs all of x first,
  // then runs its passes; its output splits into independent column groups, so y leaves
  // while the chain works. A transpose reads x in the order it needs it, its pass paced by
  // DRAM where DRAM is slower, and likewise the last one's writes.
  const auto fabric = preset("sn10");
  const double read = 16384.0 * 256 * 2 / dram_bytes_per_cycle(fabric.spec());
  for (const std::string kind : {"Softmax", "Transpose"}) {
    INFO(kind);
    const bool softmax = kind == "Softmax";
    const std::string shape = softmax ? "[16384, 256]" : "[2048, 2048]";
    const std::string attrs = softmax ? ", attrs: {axis: 0}" : "";
    const auto one = timed(chain_yaml(kind, 1, shape, attrs), fabric, {});
    const auto twenty = timed(chain_yaml(kind, 20, shape, attrs), fabric, {});
    const auto hand = [&](int n, double pass) {
      if (softmax) return std::max(read + n * pass, 2 * read);
      return n == 1 ? std::max(pass, 2 * read) : 2 * std::max(pass, read) + (n - 2) * pass;
    };
    const double hand_one = hand(1, one.slowest), hand_twenty = hand(20, twenty.slowest);
    CHECK(std::max(one.analytic, one.mapping.tenants[0].sections[0].memory_cycles) == Approx(hand_one).epsilon(0.05));
    CHECK(one.simulated == Approx(hand_one).epsilon(0.05));
    CHECK(std::max(twenty.analytic, twenty.mapping.tenants[0].sections[0].memory_cycles) ==
          Approx(hand_twenty).epsilon(0.05));
    CHECK(twenty.simulated == Approx(hand_twenty).epsilon(0.05));
    // What twenty add over one: their passes, less what DRAM hid of the single op's. The old
    // lock step added 19 pipeline fills, some hundreds of cycles each: 2% of this.
    CHECK(twenty.simulated - one.simulated == Approx(hand_twenty - hand_one).epsilon(0.1));
  }
}

TEST_CASE("weights streamed from HBM keep it busy: one wide GEMV, and a chain of GEMVs that wait on each other",
          "[sim][streaming]") {
  // A decode step's shape on sn40l: matrix-vector products whose weights come from HBM through
  // PMUs, 33 or more of them streaming into each PCU. HBM is the bound (the mapper's memory
  // time). Before, the network held every link of a route for a transfer, so a link shared by
  // converging streams idled whenever one stream's route was busy elsewhere (the wide GEMV took
  // 1.48x), and every unit prefetched at once, so a later op's weights took the bandwidth an
  // earlier op waited on and the chain's barriers ran after the last load (1.31x).
  const auto fabric = preset("sn40l");
  const auto check = [&](const std::string& text) {
    const auto mapping = mapper::map_applications({yaml_graph("decode", text)}, fabric, {});
    REQUIRE(mapping.tenants[0].sections.size() == 1);
    const auto& s = mapping.tenants[0].sections[0];
    REQUIRE(s.memory_cycles > std::max(s.compute_cycles, s.network_cycles));
    const auto r = sim::simulate(mapping, fabric, {}).report;
    CHECK(r.tenants[0].sections[0].run_cycles == Approx(s.memory_cycles).epsilon(0.05));
  };
  SECTION("one GEMV, 4096 x 14336") {
    check(
        "name: gemv\ninputs: [{name: x, shape: [1, 4096]}]\nparams: [{name: w, shape: [4096, 14336]}]\n"
        "ops: [{name: mv, op: MatMul, inputs: [x, w], outputs: [y]}]\noutputs: [y]\n");
  }
  SECTION("four chained GEMVs, 4096 x 4096") { check(chain_yaml("MatMul", 4, "[1, 4096]", "", "[4096, 4096]")); }
}

TEST_CASE("a port keeps only the arrivals a later firing looks at", "[sim][streaming]") {
  // A 9162-token prefill section has 193k ports; keeping every arrival of every port ran out of
  // 16 GiB.
  const auto fill = [](graphs::Dependency dependency, std::int64_t started) {
    sim::InPort port;
    port.need.dependency = dependency;
    for (int k = 0; k < 100; ++k) {
      port.arrivals.push_back({double(k), double(k) + 1});
      port.forget_before(started, 100);
    }
    return port;
  };
  const auto whole = fill(graphs::Dependency::all, 0);
  CHECK(whole.arrivals.size() == 1);
  CHECK(whole.base == 99);
  const auto same = fill(graphs::Dependency::same, 40);  // its reader is at token 40
  CHECK(same.base == 40);
  CHECK(same.arrivals.size() == 60);
  CHECK(same.arrivals.front().first == 40);
}

TEST_CASE("a PMU that loads weights from DRAM loads ahead into its scratchpad and sends at its reader's pace",
          "[sim][streaming]") {
  const auto fabric = preset("sn40l");
  const auto mapping = mapper::map_applications(
      {yaml_graph("gemv",
                  "name: gemv\ninputs: [{name: x, shape: [1, 4096]}]\nparams: [{name: w, shape: [4096, "
                  "14336]}]\nops: [{name: mv, op: MatMul, inputs: [x, w], outputs: [y]}]\noutputs: [y]\n")},
      fabric, {});
  const sim::SectionFlow flow(mapping.tenants[0].sections[0], fabric, 0, {});
  const double capacity = fabric.spec().pmu().capacity_kib * 1024.0;
  int loaders = 0;
  for (const auto& n : flow.nodes()) {
    if (n.kind != arch::UnitKind::pmu || n.dram_read <= 0) continue;
    ++loaders;
    // All it holds (here its whole share of the weight) may be in flight from HBM at once...
    CHECK(static_cast<double>(n.dram_window) ==
          Approx(std::min(static_cast<double>(flow.tokens()), std::floor(capacity / n.dram_read))));
    // ...but its streams hold a double buffer each, like any unit's.
    for (int c : n.outputs) CHECK(flow.channels()[static_cast<std::size_t>(c)].capacity == 2);
  }
  CHECK(loaders >= 200);
}

TEST_CASE("a mapping whose streams form a cycle is refused", "[sim][streaming]") {
  const auto fabric = tiny();
  HandMapping h(fabric);
  auto& s = h.section();
  const int a = h.at(0, 0), a_out = h.at(1, 0), b = h.at(2, 0), b_out = h.at(3, 0);
  h.op(s, "a", {a, a_out}, 1, 1000);
  h.op(s, "b", {b, b_out}, 1, 1000);
  h.stream(s, a, a_out, 4096);
  h.stream(s, a_out, b, 4096);
  h.stream(s, b, b_out, 4096);
  h.stream(s, b_out, a, 4096);
  CHECK_THAT(mapper::check(h.m, fabric).at(0), Contains("section 0: its streams form a cycle"));
  CHECK_THROWS_WITH(sim::simulate(h.m, fabric, {}), Contains("streams form a cycle"));
  CHECK_THROWS_AS(sim::simulate(h.m, fabric, {}), core::InputError);
}

TEST_CASE("a long section's tokens are capped by doubling its chunk, and converge", "[sim][streaming]") {
  // Llama-3-8B's LM head on sn40l: 1 GB of weights, more than the chip holds, streamed through
  // a few PMUs, made 9162 tokens of 64 vectors, half the firings of a whole decode step. Past
  // max_tokens the chunk doubles, so tokens still cut a window's slices evenly.
  const auto fabric = preset("sn40l");
  const auto mapping = mapper::map_applications(
      {yaml_graph("lm_head",
                  "name: lm_head\ninputs: [{name: x, shape: [1, 4096]}]\nparams: [{name: w, shape: [4096, "
                  "128256]}]\nops: [{name: mv, op: MatMul, inputs: [x, w], outputs: [y]}]\noutputs: [y]\n")},
      fabric, {});
  REQUIRE(mapping.tenants[0].sections.size() == 1);
  const auto& section = mapping.tenants[0].sections[0];
  const double vector_bytes = fabric.spec().pcu().lanes * 4.0;
  sim::TokenOptions uncapped;
  uncapped.max_tokens = 1 << 20;
  const auto fine = sim::section_tokens(section, vector_bytes, uncapped);
  REQUIRE(fine > 2 * sim::TokenOptions{}.max_tokens);
  sim::TokenOptions capped;
  const auto coarse = sim::section_tokens(section, vector_bytes, capped);
  CHECK(coarse <= capped.max_tokens);
  CHECK(coarse > capped.max_tokens / 2);  // the chunk doubled as few times as it had to
  capped.min_tokens = 4096;               // min_tokens over max_tokens wins
  CHECK(sim::section_tokens(section, vector_bytes, capped) == std::min<std::int64_t>(fine, 4096));

  sim::SimOptions options;
  const auto at_cap = sim::simulate(mapping, fabric, options).report;
  options.tokens = uncapped;
  const auto all = sim::simulate(mapping, fabric, options).report;
  CHECK(at_cap.tenants[0].sections[0].tokens == coarse);
  CHECK(all.tenants[0].sections[0].tokens == fine);
  CHECK(at_cap.cycles == Approx(all.cycles).epsilon(0.01));
}

TEST_CASE("a section alike to one already run takes its layout and replays its simulation", "[sim][streaming]") {
  // Four GEMVs, one a section (o0): alike but for their names. The mapper places the first and
  // gives the others its layout; a tenant alone on its chip replays the first's record, which
  // must give what simulating every section gives, counter for counter.
  const auto fabric = preset("sn40l");
  mapper::MapOptions map_options;
  map_options.mode = mapper::Mode::o0;
  const auto mapping = mapper::map_applications(
      {yaml_graph("chain", chain_yaml("MatMul", 4, "[1, 4096]", "", "[4096, 4096]"))}, fabric, map_options);
  const auto& sections = mapping.tenants[0].sections;
  REQUIRE(sections.size() == 4);
  for (const auto& s : sections) {
    CHECK(s.ops[0].units == sections[0].ops[0].units);
    CHECK(s.streams.size() == sections[0].streams.size());
  }
  sim::SimOptions options;
  options.trace = true;
  const auto replayed = sim::simulate(mapping, fabric, options);
  options.replay = false;
  const auto simulated = sim::simulate(mapping, fabric, options);
  const auto& a = replayed.report;
  const auto& b = simulated.report;
  CHECK(a.events < 0.5 * b.events);  // three of four sections replayed
  CHECK(a.cycles == Approx(b.cycles).epsilon(1e-9));
  CHECK(a.energy.total_j() == Approx(b.energy.total_j()).epsilon(1e-9));
  REQUIRE(a.tenants[0].sections.size() == 4);
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(a.tenants[0].sections[k].start == Approx(b.tenants[0].sections[k].start).epsilon(1e-9));
    CHECK(a.tenants[0].sections[k].end == Approx(b.tenants[0].sections[k].end).epsilon(1e-9));
  }
  REQUIRE(a.units.size() == b.units.size());
  for (std::size_t i = 0; i < a.units.size(); ++i) {
    CHECK(a.units[i].busy == Approx(b.units[i].busy).margin(1e-6));
    CHECK(a.units[i].stalled_input == Approx(b.units[i].stalled_input).margin(1e-6));
  }
  REQUIRE(a.links.size() == b.links.size());
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    CHECK(a.links[i].bytes == Approx(b.links[i].bytes).epsilon(1e-9));
    CHECK(a.links[i].peak_utilization == Approx(b.links[i].peak_utilization).epsilon(1e-9));
  }
  for (std::size_t i = 0; i < a.memory.size(); ++i) {
    CHECK(a.memory[i].read_bytes == Approx(b.memory[i].read_bytes).epsilon(1e-9));
    CHECK(a.memory[i].utilization == Approx(b.memory[i].utilization).epsilon(1e-9));
  }
  CHECK(replayed.trace.at("traceEvents").size() == simulated.trace.at("traceEvents").size());
}

TEST_CASE("placing and simulating distinct sections side by side gives what one process gives", "[sim][streaming]") {
  // Two layers of a decoder-like chain at o0: several distinct sections and alike ones. Placement
  // is deterministic for its seed, so the layouts must be identical; the simulation of a tenant
  // alone starts each section on idle hardware, so workers agree with one process to rounding.
  const auto fabric = preset("sn40l");
  const std::string text =
      "name: mlp\ninputs: [{name: x, shape: [1, 4096]}]\n"
      "params: [{name: a0, shape: [4096, 4096]}, {name: b0, shape: [4096, 2048]}, {name: a1, shape: [2048, 4096]},"
      " {name: b1, shape: [4096, 2048]}]\n"
      "ops:\n  - {name: m0, op: MatMul, inputs: [x, a0], outputs: [t0]}\n"
      "  - {name: m1, op: MatMul, inputs: [t0, b0], outputs: [t1]}\n"
      "  - {name: r1, op: Relu, inputs: [t1], outputs: [u1]}\n"
      "  - {name: m2, op: MatMul, inputs: [u1, a1], outputs: [t2]}\n"
      "  - {name: m3, op: MatMul, inputs: [t2, b1], outputs: [y]}\noutputs: [y]\n";
  mapper::MapOptions one;
  one.mode = mapper::Mode::o0;
  auto two = one;
  two.jobs = 2;
  const auto a = mapper::map_applications({yaml_graph("mlp", text)}, fabric, one);
  const auto b = mapper::map_applications({yaml_graph("mlp", text)}, fabric, two);
  CHECK(mapper::to_json(a) == mapper::to_json(b));
  REQUIRE(a.tenants[0].sections.size() == 5);
  CHECK(a.tenants[0].sections[4].ops[0].units == a.tenants[0].sections[1].ops[0].units);  // alike: one layout

  sim::SimOptions alone;
  const auto r1 = sim::simulate(a, fabric, alone).report;
  alone.jobs = 2;
  const auto r2 = sim::simulate(a, fabric, alone).report;
  CHECK(r1.events == r2.events);
  CHECK(r1.cycles == Approx(r2.cycles).epsilon(1e-9));
  CHECK(r1.energy.total_j() == Approx(r2.energy.total_j()).epsilon(1e-9));
  for (std::size_t k = 0; k < r1.tenants[0].sections.size(); ++k)
    CHECK(r1.tenants[0].sections[k].end == Approx(r2.tenants[0].sections[k].end).epsilon(1e-9));
  for (std::size_t i = 0; i < r1.units.size(); ++i) CHECK(r1.units[i].busy == Approx(r2.units[i].busy).margin(1e-6));
}

TEST_CASE("tenants laid out alike are simulated alone once, and every tenant's alone time is its own", "[sim]") {
  // Three copies of one chain and a different one, as isolated tenants: the copies take alike
  // layouts in their regions (one alone run serves them), the fourth its own. Each tenant's
  // alone time must be what simulating its mapping by itself gives.
  const auto fabric = preset("sn40l");
  const auto chain = [](const std::string& name, int width) {
    return fmt::format(
        "name: {0}\ninputs: [{{name: x, shape: [64, {1}]}}]\nparams: [{{name: a, shape: [{1}, {1}]}}]\n"
        "ops:\n  - {{name: m, op: MatMul, inputs: [x, a], outputs: [t]}}\n"
        "  - {{name: r, op: Relu, inputs: [t], outputs: [y]}}\noutputs: [y]\n",
        name, width);
  };
  std::vector<graphs::Graph> apps;
  for (int k = 0; k < 3; ++k) apps.push_back(yaml_graph("copy", chain(fmt::format("copy{}", k), 512)));
  apps.push_back(yaml_graph("other", chain("other", 256)));
  const auto mapping = mapper::map_applications(apps, fabric, {});
  sim::SimOptions options;
  const auto r = sim::simulate(mapping, fabric, options).report;
  options.jobs = 3;  // the alone runs shared out over two workers
  const auto r3 = sim::simulate(mapping, fabric, options).report;
  REQUIRE(r.tenants.size() == 4);
  for (std::size_t t = 0; t < 4; ++t) {
    auto by_itself = mapping;
    by_itself.tenants = {mapping.tenants[t]};
    const auto single = sim::simulate(by_itself, fabric, {}).report;
    CHECK(r.tenants[t].alone_cycles == Approx(single.cycles).epsilon(1e-12));
    CHECK(r3.tenants[t].alone_cycles == r.tenants[t].alone_cycles);
  }
  CHECK(r.tenants[0].alone_cycles == r.tenants[2].alone_cycles);
  CHECK(r.tenants[3].alone_cycles != r.tenants[0].alone_cycles);
}
