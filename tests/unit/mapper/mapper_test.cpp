// Lowering, sectioning and the Mapping contract: fusion against one op per section, the
// EDSR stack against the fabric's roofline, tenants and their isolation, JSON round trips.
#include <algorithm>
#include <functional>

#include <catch2/catch.hpp>

#include "arch/fabric.h"
#include "arch/summary.h"
#include "core/error.h"
#include "graphs/transforms.h"
#include "mapper/infeasible.h"
#include "mapper/mapping.h"
#include "mapper/place.h"
#include "mapper/report.h"
#include "mapper/streaming.h"
#include "tests/unit/mapper/fixtures.h"

using namespace rdasim;
using Catch::Matchers::Contains;

namespace {

using test::apps;
using test::fabric;

mapper::Mapping map(const std::string& name, const std::map<std::string, std::string, std::less<>>& params,
                    const std::string& preset, mapper::Mode mode = mapper::Mode::o1) {
  mapper::MapOptions options;
  options.mode = mode;
  return mapper::map_applications(apps(name, params), fabric(preset), options);
}

double dram(const mapper::Mapping& m) {
  double b = 0;
  for (const auto& t : m.tenants) {
    for (const auto& s : t.sections) b += s.dram_read_bytes + s.dram_write_bytes;
  }
  return b;
}

}  // namespace

TEST_CASE("a 3x3 convolution of 256 channels fills the PCU's lanes and stages", "[mapper][lower]") {
  const auto g = apps("lensing", {{"stage", "denoise"}, {"blocks", "1"}}).front();
  const auto demands = mapper::lower(g, fabric("sn10").spec());
  const auto conv = *g.find_op("denoise/block0/conv1/conv");
  const auto& d = demands[static_cast<std::size_t>(conv)];
  CHECK(d.engine == mapper::Engine::matrix);
  CHECK(d.utilization == Approx(1.0));  // 256 outputs over 32 lanes, 2304-deep sums over 6 stages
  CHECK(d.cycles == Approx(d.flops / (2.0 * 32 * 6)));
  CHECK(d.weight_bytes == Approx((256.0 * 256 * 9 + 256) * 2));  // bf16
  // The head's 3 input channels leave most of each 6-stage sum idle: 27 of 30 slots.
  const auto& head = demands[static_cast<std::size_t>(*g.find_op("denoise/head/conv"))];
  CHECK(head.utilization == Approx(27.0 / 30.0));
}

TEST_CASE("fusing ops into sections cuts DRAM traffic and time against one op per section", "[mapper][sections]") {
  for (const auto& [name, params] :
       std::vector<std::pair<std::string, std::map<std::string, std::string, std::less<>>>>{
           {"lensing", {{"stage", "denoise"}, {"batch", "4"}}},
           {"lensing", {{"stage", "encoder"}, {"batch", "4"}}},
           {"inversion", {}},
           {"dcrnn", {}}}) {
    INFO(name);
    const auto fused = map(name, params, "sn10", mapper::Mode::o1);
    const auto unfused = map(name, params, "sn10", mapper::Mode::o0);
    CHECK(fused.tenants[0].sections.size() < unfused.tenants[0].sections.size());
    CHECK(dram(fused) < dram(unfused));
    CHECK(fused.tenants[0].cycles() < unfused.tenants[0].cycles());
    CHECK(mapper::check(fused, fabric("sn10")).empty());
    CHECK(mapper::check(unfused, fabric("sn10")).empty());
  }
}

TEST_CASE("the EDSR stack at batch 4 runs within 1.5x of the fabric's roofline", "[mapper][roofline]") {
  for (const std::string preset : {"sn10", "sn40l"}) {
    INFO(preset);
    const auto m = map("lensing", {{"stage", "denoise"}, {"batch", "4"}}, preset);
    const auto& spec = fabric(preset).spec();
    const auto summary = arch::summarize(fabric(preset));
    double flops = 0;
    for (const auto& s : m.tenants[0].sections) flops += s.flops;
    // Compulsory traffic: the images in and out, the weights once (bf16).
    const double compulsory = (4.0 * 3 * 111 * 111 * 2) * 2 + 19'486'723.0 * 2;
    const double roofline = std::max(flops / summary.peak_flops,
                                     compulsory / (mapper::dram_bytes_per_cycle(spec) * spec.clock_ghz() * 1e9));
    const double analytic = m.tenants[0].cycles() / (spec.clock_ghz() * 1e9);
    CHECK(analytic >= roofline);
    CHECK(analytic <= 1.5 * roofline);
  }
}

TEST_CASE("tenants get disjoint tiles; check() finds shared units and overfull sections", "[mapper][tenants]") {
  const auto ensemble = map("ensemble", {{"members", "4"}, {"batch", "8"}}, "sn10");
  REQUIRE(ensemble.tenants.size() == 4);
  for (std::size_t t = 0; t < 4; ++t) CHECK(ensemble.tenants[t].tiles == std::vector<int>{static_cast<int>(t)});
  CHECK(mapper::check(ensemble, fabric("sn10")).empty());

  auto shared = ensemble;
  shared.tenants[1].tiles = {0};
  CHECK_THAT(mapper::check(shared, fabric("sn10")).at(0),
             Contains("tenant 'member1/dcrnn' shares 685 units with tenant 'member0/dcrnn': it is not isolated"));
  // 685: the tile's 160 PCUs, 160 PMUs, 17 x 21 switches and 8 AGCUs.
  auto overfull = ensemble;
  auto& ops = overfull.tenants[0].sections[0].ops;
  std::find_if(ops.begin(), ops.end(), [](const mapper::MappedOp& o) {
    return o.engine == graphs::Engine::matrix;
  })->parallel += 1000;
  overfull.tenants[0].sections[0].pcus += 1000;
  CHECK_THAT(mapper::check(overfull, fabric("sn10")).at(0), Contains("exceed its region's 160 and 160"));
}

TEST_CASE("more applications than tiles share tiles in bands of rows, isolated", "[mapper][tenants]") {
  // Five members on four tiles: bands of half a tile each (8 of 16 rows).
  const auto five = map("ensemble", {{"members", "5"}, {"batch", "8"}}, "sn10");
  REQUIRE(five.tenants.size() == 5);
  CHECK(five.tenants[0].tiles == std::vector<int>{0});
  CHECK(five.tenants[0].end_row - five.tenants[0].first_row == 8);
  CHECK(five.tenants[1].first_row == 8);
  CHECK(five.tenants[4].tiles == std::vector<int>{2});
  CHECK(mapper::check(five, fabric("sn10")).empty());
  // Overlapping bands are caught.
  auto overlap = five;
  overlap.tenants[1].first_row = 4;
  CHECK_THAT(mapper::check(overlap, fabric("sn10")).at(0), Contains("shares"));
  // Explicit sizes: whole tiles first, then bands.
  const auto fabric10 = std::cref(fabric("sn10"));
  const auto regions = mapper::allocate_regions(fabric10, {"a", "b", "c"}, {{2, 0}, {0, 4}, {0, 14}});
  CHECK(regions[0].tiles == std::vector<int>{0, 1});
  CHECK(mapper::describe(regions[1]) == "tile 2 rows 0-3");
  CHECK(mapper::describe(regions[2]) == "tile 3 rows 0-13");
  CHECK_THROWS_AS(mapper::allocate_regions(fabric10, {"a", "b"}, {{4, 0}, {1, 0}}), mapper::Infeasible);
  CHECK_THROWS_AS(mapper::allocate_regions(fabric10, {"a"}, {{0, 17}}), mapper::Infeasible);
  CHECK_THROWS_AS(mapper::allocate_regions(fabric10, {"a"}, {{1, 2}}), core::InputError);
  try {
    (void)mapper::allocate_regions(fabric10, {"a", "b", "c"}, {{3, 0}, {2, 0}, {2, 0}});
    FAIL("expected Infeasible");
  } catch (const mapper::Infeasible& e) {
    REQUIRE(e.reasons().size() == 2);  // one per application that does not fit
    CHECK_THAT(e.reasons()[0], Contains("application 'b': asks for 2 tiles after 3 are taken; 'sn10' has 4"));
  }
}

TEST_CASE("an op that cannot fit its region is reported by name, with what it needs", "[mapper][errors]") {
  const arch::Fabric& small = fabric("tiny");
  const auto g = apps("lensing", {{"stage", "denoise"}, {"blocks", "1"}}).front();
  const auto demands = mapper::lower(g, small.spec());
  try {
    (void)mapper::plan_sections(g, demands, small.spec(), {1, 2}, mapper::Mode::o1);
    FAIL("expected Infeasible");
  } catch (const mapper::Infeasible& e) {
    REQUIRE_FALSE(e.reasons().empty());
    CHECK_THAT(e.reasons()[0], Contains("op denoise/head/conv (Conv)"));
    CHECK_THAT(e.reasons()[0], Contains("the region has 1 PCUs and 2 PMUs"));
  }
}

TEST_CASE("o1 keeps the better of the greedy fill and the METIS cuts, all in execution order", "[mapper][sections]") {
  const auto g = apps("lensing", {{"stage", "encoder"}, {"batch", "4"}}).front();
  const auto& spec = fabric("sn10").spec();
  const auto demands = mapper::lower(g, spec);
  const auto plan = mapper::plan_sections(g, demands, spec, {24, 24}, mapper::Mode::o1);
  REQUIRE(plan.candidates.size() >= 2);
  CHECK(plan.candidates[0].method == "greedy");
  for (const auto& c : plan.candidates) CHECK(plan.totals().cycles <= c.cycles * (1 + 1e-12));
  // Every tensor flows forward: no op reads what a later section writes.
  std::vector<int> section_of(g.ops().size(), -1);
  for (std::size_t k = 0; k < plan.sections.size(); ++k) {
    for (const auto& so : plan.sections[k].ops) section_of[static_cast<std::size_t>(so.op)] = static_cast<int>(k);
  }
  for (std::size_t i = 0; i < g.ops().size(); ++i) {
    REQUIRE(section_of[i] >= 0);
    for (auto t : g.ops()[i].inputs) {
      if (t == graphs::k_no_tensor || g.tensor(t).producer < 0) continue;
      CHECK(section_of[static_cast<std::size_t>(g.tensor(t).producer)] <= section_of[i]);
    }
  }
}

TEST_CASE("a mapping survives JSON, and bad JSON is refused with its key path", "[mapper][json]") {
  const auto m = map("inversion", {{"batch", "8"}}, "sn40l");
  const auto json = mapper::to_json(m);
  const auto back = mapper::mapping_from_json(json, "mapping.json");
  CHECK(mapper::to_json(back) == json);
  CHECK(mapper::check(back, fabric("sn40l")).empty());
  CHECK_FALSE(mapper::check(back, fabric("sn10")).empty());  // another fabric
  auto broken = json;
  broken["tenants"][0]["sections"][0].erase("pcus");
  CHECK_THROWS_WITH(mapper::mapping_from_json(broken, "mapping.json"),
                    Contains("mapping.tenants[0].sections[0].pcus is missing"));
}

TEST_CASE("bad values in a mapping are refused with their key path", "[mapper][json]") {
  const auto json = mapper::to_json(map("inversion", {{"batch", "2"}}, "tiny"));
  const auto refused = [&](const std::function<void(core::Json&)>& edit) {
    auto broken = json;
    edit(broken);
    return mapper::mapping_from_json(broken, "mapping.json");
  };
  CHECK_THROWS_WITH(refused([](core::Json& j) { j["tenants"][0]["sections"][0]["ops"][0]["engine"] = "systolic"; }),
                    Contains("mapping.tenants[0].sections[0].ops[0].engine is 'systolic'; expected none, matrix, "
                             "vector, memory or link"));
  CHECK_THROWS_WITH(refused([](core::Json& j) { j["tenants"][0]["sections"][0]["ops"][0]["kind"] = "Softmaxx"; }),
                    Contains("mapping.tenants[0].sections[0].ops[0].kind 'Softmaxx' is not an op kind rdasim knows"));
  CHECK_THROWS_WITH(refused([](core::Json& j) { j["mode"] = "o2"; }),
                    Contains("mapping.mode is 'o2'; expected o0 or o1"));
  CHECK_THROWS_WITH(refused([](core::Json& j) { j["tenants"][0]["rows"] = {0}; }),
                    Contains("mapping.tenants[0].rows must be [first_row, end_row]"));
  CHECK_THROWS_WITH(refused([](core::Json& j) { j["tenants"][0]["sections"] = 3; }),
                    Contains("mapping.tenants[0].sections must be an array"));
  CHECK_THROWS_WITH(refused([](core::Json& j) { j["tenants"][0]["sections"][0]["pcus"] = "many"; }),
                    Contains("mapping.tenants[0].sections[0].pcus has the wrong type (string)"));
  CHECK_THROWS_WITH(refused([](core::Json& j) { j["tenants"][0] = 1; }),
                    Contains("mapping.tenants[0] must be an object, found number"));
  CHECK_THROWS_WITH(refused([](core::Json& j) { j.erase("format"); }), Contains("mapping.format is missing"));
  CHECK_THROWS_WITH(refused([](core::Json& j) {
                      j["tenants"][0]["sections"][0]["streams"][0]["need"] = {{"dependency", "some"}};
                    }),
                    Contains("mapping.tenants[0].sections[0].streams[0].need.dependency is 'some'; expected same, "
                             "slice, window, prefix or all"));
}

TEST_CASE("each section streams along an axis it records, and says what each op waits for", "[mapper][streaming]") {
  // Images held channels-last stream by rows, image after image.
  CHECK(mapper::streamed_axis({4, 64, 111, 111}, true).axis == 2);
  CHECK(mapper::streamed_axis({4, 64, 111, 111}, true).slices == 4 * 111);
  CHECK(mapper::streamed_axis({4, 64, 1, 1}, true).axis == 0);
  CHECK(mapper::streamed_axis({4, 64, 111, 111}, false).axis == 0);
  CHECK(mapper::streamed_axis({1, 16384, 256}, false).axis == 1);
  CHECK(mapper::streamed_axis({1, 1}, false).axis == -1);
  // The lensing encoder: convolutions (rows with a halo) and its batch norms' statistics
  // (reductions over the streamed rows: barriers), said in the Mapping and placement.txt.
  const auto m = map("lensing", {{"stage", "encoder"}, {"batch", "4"}}, "sn10");
  const auto& s = m.tenants[0].sections[0];
  CHECK_THAT(s.streamed, Contains("channels-last"));
  int windows = 0, whole = 0;
  for (const auto& st : s.streams) {
    windows += st.need.dependency == graphs::Dependency::window ? 1 : 0;
    whole += st.need.dependency == graphs::Dependency::all ? 1 : 0;
  }
  CHECK(windows > 0);
  const auto back = mapper::mapping_from_json(mapper::to_json(m), "mapping.json");
  for (std::size_t i = 0; i < s.streams.size(); ++i)
    CHECK(back.tenants[0].sections[0].streams[i].need == s.streams[i].need);
  CHECK(back.tenants[0].sections[0].streamed == s.streamed);
  const auto text = mapper::placement_text(m, fabric("sn10"));
  CHECK_THAT(text, Contains("streamed along axis 2 of"));
  CHECK_THAT(text, Contains("waits: halo "));
  if (whole > 0) CHECK_THAT(text, Contains("waits: whole input"));
}

// Files an earlier release wrote (tests/data/mapping/README.md) still load, and the record
// writes them back byte for byte: no field was renamed, dropped or reordered.
TEST_CASE("mapping.json files written by release 0.1.0 load and write back identically", "[mapper][json]") {
  for (const char* name : {"mlp_tiny_v0.1.0.json", "inversion_train_tiny_v0.1.0.json"}) {
    INFO(name);
    const auto path = test::source_dir() / "tests/data/mapping" / name;
    const auto json = core::read_json_file(path);
    const auto m = mapper::mapping_from_json(json, path.string());
    CHECK(core::to_json_text(mapper::to_json(m)) == core::to_json_text(json));
    CHECK(mapper::check(m, fabric("tiny")).empty());
  }
}

TEST_CASE("past its output splits a matrix op splits its reduction, paying a partial-sum tree", "[mapper][lower]") {
  mapper::OpDemand d;
  d.engine = mapper::Engine::matrix;
  d.cycles = 64'000;   // on one PCU
  d.max_parallel = 4;  // four output vectors
  d.output_vectors = 4;
  d.max_reduction_split = 8;
  CHECK(mapper::split_of(d, 3).outputs == 3);
  CHECK(mapper::next_parallel(d, 3) == 4);
  CHECK(mapper::next_parallel(d, 4) == 8);  // a second copy of the 4-way output split
  CHECK(mapper::split_of(d, 8).reduction == 2);
  CHECK(mapper::stage_cycles(d, 8) == Approx(64'000.0 / 8 + 1 * 4 / 4));
  CHECK(mapper::stage_cycles(d, 32) == Approx(64'000.0 / 32 + 3 * 4 / 4));  // log2(8) levels
  CHECK(mapper::next_parallel(d, 32) == 0);                                 // the reduction cannot split further
  // A tiny op gains nothing from a split whose tree costs more than it saves.
  d.cycles = 8;
  CHECK(mapper::next_parallel(d, 4) == 0);
}
