// The mapper's stages one by one: the virtual section, the two starts, annealing, routing and
// the checks between stages (mapper/verify.h).
#include <algorithm>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "core/error.h"
#include "mapper/lower.h"
#include "mapper/place.h"
#include "mapper/route.h"
#include "mapper/sections.h"
#include "mapper/verify.h"
#include "tests/unit/mapper/fixtures.h"

using namespace rdasim;
using Catch::Matchers::Contains;
using test::apps;
using test::fabric;

namespace {

/// The largest section of one EDSR block on a tile of sn10, ready to place.
struct PlacedCase {
  graphs::Graph graph = apps("lensing", {{"stage", "denoise"}, {"blocks", "1"}}).front();
  std::vector<mapper::OpDemand> demands = mapper::lower(graph, fabric("sn10").spec());
  mapper::RegionIndex region{fabric("sn10"), fabric("sn10").region("t0", {0})};
  mapper::Budget budget{fabric("sn10").count(region.region(), arch::UnitKind::pcu),
                        fabric("sn10").count(region.region(), arch::UnitKind::pmu)};
  mapper::SectionPlan plan = mapper::plan_sections(graph, demands, fabric("sn10").spec(), budget, mapper::Mode::o1);
  const mapper::Section& section =
      *std::max_element(plan.sections.begin(), plan.sections.end(),
                        [](const auto& a, const auto& b) { return a.ops.size() < b.ops.size(); });
  mapper::VirtualSection units = mapper::virtual_section(demands, section);
  double cycles = std::max(section.compute_cycles, section.memory_cycles);
};

/// Bytes per link of a routing, a multicast group's bytes once over the union of its paths.
std::map<int, double> link_loads(const std::vector<mapper::RouteDemand>& demands, const mapper::Routing& routing) {
  std::map<int, std::set<int>> tree;
  std::map<int, double> group_bytes;
  for (std::size_t s = 0; s < demands.size(); ++s) {
    group_bytes[demands[s].group] += demands[s].bytes;
    tree[demands[s].group].insert(routing.paths[s].begin(), routing.paths[s].end());
  }
  std::map<int, double> load;
  for (const auto& [group, links] : tree) {
    for (int l : links) load[l] += group_bytes[group];
  }
  return load;
}

}  // namespace

TEST_CASE("a section's virtual units are its ops' PCUs and PMUs, and its streams join them", "[mapper][place]") {
  const PlacedCase c;
  std::size_t units = 0;
  for (std::size_t i = 0; i < c.section.ops.size(); ++i) {
    const auto& so = c.section.ops[i];
    const int pcus = mapper::uses_pcus(c.demands[static_cast<std::size_t>(so.op)].engine) ? so.parallel : 0;
    REQUIRE(c.units.op_units[i].size() == static_cast<std::size_t>(pcus + so.buffer_pmus));
    for (std::size_t k = 0; k < c.units.op_units[i].size(); ++k) {
      CHECK(c.units.is_pcu[static_cast<std::size_t>(c.units.op_units[i][k])] == (static_cast<int>(k) < pcus));
    }
    units += c.units.op_units[i].size();
  }
  CHECK(units == c.units.size());
  REQUIRE_FALSE(c.units.streams.empty());
  std::size_t ends = 0;
  for (const auto& in : c.units.incident) ends += in.size();
  CHECK(ends == 2 * c.units.streams.size());  // every stream listed at its source and its sink
}

TEST_CASE("the start is the cheaper of the greedy and bisection placements, and a valid one", "[mapper][place]") {
  const PlacedCase c;
  const auto start = mapper::start_placement(c.units, c.region, 1);
  CHECK(mapper::check_placement(c.units, c.region, start.where).empty());
  CHECK(start.cost == mapper::placement_cost(c.units, c.region, start.where));
  CHECK((start.method == "greedy" || start.method == "bisection"));
}

TEST_CASE("annealing is deterministic per seed and never ends worse than its start", "[mapper][place][anneal]") {
  const PlacedCase c;
  const auto start = mapper::start_placement(c.units, c.region, 1);
  const auto once = mapper::anneal(c.units, c.region, start.where, c.cycles, 7);
  const auto again = mapper::anneal(c.units, c.region, start.where, c.cycles, 7);
  CHECK(once.where == again.where);
  CHECK(once.objective == again.objective);
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const auto a = mapper::anneal(c.units, c.region, start.where, c.cycles, seed);
    CHECK(a.objective <= a.start_objective);
    CHECK(mapper::check_placement(c.units, c.region, a.where).empty());
  }
  // From a poor start (the greedy start's units dealt out backwards), annealing gains.
  mapper::Placement scrambled = start.where;
  for (const bool pcu : {true, false}) {
    std::vector<std::size_t> of_kind;
    for (std::size_t v = 0; v < scrambled.size(); ++v) {
      if (c.units.is_pcu[v] == pcu) of_kind.push_back(v);
    }
    const auto& pool = c.region.pool(pcu);
    for (std::size_t k = 0; k < of_kind.size(); ++k) scrambled[of_kind[k]] = pool[pool.size() - 1 - k];
  }
  const auto mended = mapper::anneal(c.units, c.region, scrambled, c.cycles, 1);
  CHECK(mended.objective < 0.8 * mended.start_objective);
  CHECK(mapper::placement_cost(c.units, c.region, mended.where) < mapper::placement_cost(c.units, c.region, scrambled));
}

TEST_CASE("annealing a placement that cannot improve returns it unchanged in cost", "[mapper][place][anneal]") {
  // Two PMUs and a PCU in a row, each stream one hop: the optimum. Every accepted uphill move
  // must be walked back, or the start returned.
  const auto& f = fabric("sn10");
  const mapper::RegionIndex region(f, f.region("t0", {0}));
  mapper::VirtualSection vs;
  vs.is_pcu = {false, true, false};
  vs.op_units = {{0}, {1}, {2}};
  vs.streams = {{0, 1, 1e6, 0, {}}, {1, 2, 1e6, 1, {}}};
  vs.incident = {{0}, {0, 1}, {1}};
  // Any PMU, the PCU beside it, a PMU beside that (the layout alternates PCU and PMU columns).
  const int pcu = region.pool(true).front();
  std::vector<int> pmus;
  for (int u : region.pool(false)) {
    if (region.distance(u, pcu) == 1) pmus.push_back(u);
  }
  REQUIRE(pmus.size() >= 2);
  const mapper::Placement best{pmus[0], pcu, pmus[1]};
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    const auto a = mapper::anneal(vs, region, best, 1e9, seed);
    CHECK(a.objective <= a.start_objective);
    CHECK(mapper::placement_cost(vs, region, a.where) == mapper::placement_cost(vs, region, best));
  }
}

TEST_CASE("annealing's channel estimate charges bytes over a segment's capacity, and undoes exactly",
          "[mapper][place]") {
  const auto& f = fabric("sn10");
  const mapper::RegionIndex region(f, f.region("all", {0}));
  // Two PCUs on the same row, four cells apart: four horizontal segments.
  const int a = f.cell_unit(0, 0, 0), b = f.cell_unit(0, 4, 0);
  mapper::ChannelLoad channels(region, 100.0, 2.0);
  CHECK(channels.add(a, b, 60.0) == 0.0);                     // under capacity
  CHECK(channels.add(a, b, 60.0) == Approx(4 * 2.0 * 20.0));  // 20 bytes over on each of 4 segments
  CHECK(channels.overflow_cost() == Approx(160.0));
  CHECK(channels.add(a, b, -60.0) == Approx(-160.0));
  CHECK(channels.overflow_cost() == 0.0);
  // Down a column: vertical segments only, at the sink's column.
  const int c = f.cell_unit(0, 4, 3);
  CHECK(channels.add(b, c, 150.0) == Approx(3 * 2.0 * 50.0));
}

namespace {

/// Two units on one row of tile 0, apart, with the capacity of their links in `cycles`.
struct RouteCase {
  const arch::Fabric& f = fabric("sn10");
  mapper::RegionIndex region{f, f.region("t0", {0})};
  int a = f.cell_unit(0, 1, 2), b = f.cell_unit(0, 7, 2);
  double cycles = 1000;
  /// The smallest capacity of any link a path from a to b may use.
  [[nodiscard]] double capacity() const {
    double c = std::numeric_limits<double>::max();
    for (const auto& l : f.links()) {
      if (region.usable(l.id)) c = std::min(c, l.bytes_per_cycle * cycles);
    }
    return c;
  }
};

}  // namespace

TEST_CASE("routing negotiates two streams that would share a link onto paths within capacity", "[mapper][route]") {
  const RouteCase c;
  REQUIRE(c.f.out_links(c.a).size() >= 2);  // a detour exists from the first link on
  // Each stream alone fits every link; together they would not: two groups, so no sharing.
  const double bytes = 0.6 * c.capacity();
  const std::vector<mapper::RouteDemand> demands{{c.a, c.b, bytes, 0}, {c.a, c.b, bytes, 1}};
  const auto routing = mapper::route(c.region, demands, c.cycles);
  CHECK(mapper::check_routing(c.region, demands, routing).empty());
  CHECK(routing.overused_links == 0);
  for (const auto& [link, load] : link_loads(demands, routing)) {
    CHECK(load <= c.f.links()[static_cast<std::size_t>(link)].bytes_per_cycle * c.cycles);
  }
  CHECK(routing.paths[0] != routing.paths[1]);
  CHECK(routing.max_link_bytes == Approx(bytes));
}

TEST_CASE("routing reports the overuse no detour can avoid", "[mapper][route]") {
  const RouteCase c;
  // More streams out of a than it has links, each over half a link: two must share one.
  double largest = 0;
  for (int l : c.f.out_links(c.a))
    largest = std::max(largest, c.f.links()[static_cast<std::size_t>(l)].bytes_per_cycle);
  const double bytes = 0.6 * largest * c.cycles;
  std::vector<mapper::RouteDemand> demands;
  for (std::size_t k = 0; k <= c.f.out_links(c.a).size(); ++k)
    demands.push_back({c.a, c.b, bytes, static_cast<int>(k)});
  const auto routing = mapper::route(c.region, demands, c.cycles);
  CHECK(mapper::check_routing(c.region, demands, routing).empty());  // every stream still reaches b
  CHECK(routing.overused_links >= 1);
  CHECK(routing.max_link_bytes >= 2 * bytes);
}

TEST_CASE("a multicast group loads each link of its tree once, with the group's bytes", "[mapper][route]") {
  const RouteCase c;
  const int b2 = c.f.cell_unit(0, 7, 3);
  const double bytes = 0.4 * c.capacity();
  const std::vector<mapper::RouteDemand> demands{{c.a, c.b, bytes, 0}, {c.a, b2, bytes, 0}};
  const auto routing = mapper::route(c.region, demands, c.cycles);
  CHECK(routing.overused_links == 0);
  CHECK(routing.max_link_bytes == Approx(2 * bytes));  // the group's bytes, once on each link
}

TEST_CASE("the checks between stages name what a stage got wrong", "[mapper][verify][errors]") {
  const PlacedCase c;
  SECTION("sectioning") {
    CHECK(mapper::check_sections(c.graph, c.demands, c.plan.sections, c.budget).empty());
    // One op per section (o0): many sections to put out of order.
    const auto o0 = mapper::plan_sections(c.graph, c.demands, fabric("sn10").spec(), c.budget, mapper::Mode::o0);
    CHECK(mapper::check_sections(c.graph, c.demands, o0.sections, c.budget).empty());
    REQUIRE(o0.sections.size() >= 2);
    auto reversed = o0.sections;
    std::reverse(reversed.begin(), reversed.end());
    CHECK_THAT(mapper::check_sections(c.graph, c.demands, reversed, c.budget).front(), Contains("makes later"));
    auto dropped = o0.sections;
    dropped.pop_back();
    CHECK_THAT(mapper::check_sections(c.graph, c.demands, dropped, c.budget).front(), Contains("is in no section"));
    const mapper::Budget small{1, 1};
    CHECK_THAT(mapper::check_sections(c.graph, c.demands, c.plan.sections, small).front(),
               Contains("exceed the budget of 1 and 1"));
  }
  SECTION("placement") {
    auto where = mapper::start_placement(c.units, c.region, 1).where;
    auto twice = where;
    const auto pcus = std::count(c.units.is_pcu.begin(), c.units.is_pcu.end(), true);
    REQUIRE(pcus >= 2);
    const auto first_pcu = std::find(c.units.is_pcu.begin(), c.units.is_pcu.end(), true) - c.units.is_pcu.begin();
    const auto second_pcu =
        std::find(c.units.is_pcu.begin() + first_pcu + 1, c.units.is_pcu.end(), true) - c.units.is_pcu.begin();
    twice[static_cast<std::size_t>(second_pcu)] = twice[static_cast<std::size_t>(first_pcu)];
    CHECK_THAT(mapper::check_placement(c.units, c.region, twice).front(), Contains("holds two virtual units"));
    auto wrong_kind = where;
    wrong_kind[static_cast<std::size_t>(first_pcu)] = c.region.pool(false).back();
    CHECK_THAT(mapper::check_placement(c.units, c.region, wrong_kind).front(), Contains("not a PCU of region 't0'"));
  }
  SECTION("routing") {
    const RouteCase r;
    const std::vector<mapper::RouteDemand> demands{{r.a, r.b, 1.0, 0}};
    auto routing = mapper::route(r.region, demands, r.cycles);
    REQUIRE(routing.paths[0].size() >= 2);
    routing.paths[0].erase(routing.paths[0].begin());
    CHECK_THAT(mapper::check_routing(r.region, demands, routing).front(), Contains("breaks at link"));
    routing.paths[0].clear();
    CHECK_THAT(mapper::check_routing(r.region, demands, routing).front(), Contains("ends at unit"));
  }
  SECTION("a failing check stops the mapper with an internal error naming the stage") {
    REQUIRE(mapper::verifying_stages());  // test builds verify between stages
    const auto failing = [] { return std::vector<std::string>{"op 'x' is in no section"}; };
    CHECK_THROWS_MATCHES(mapper::verify_stage("sectioning", failing), core::InternalError,
                         Catch::Matchers::Message("the mapper's sectioning stage produced an invalid result:\n"
                                                  "  op 'x' is in no section"));
  }
}
