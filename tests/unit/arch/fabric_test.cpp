// arch::Fabric: units, the switch lattice, links, tiles and regions.
#include <catch2/catch.hpp>

#include <queue>
#include <set>

#include "arch/fabric.h"
#include "arch/tile_picture.h"
#include "arch_test_util.h"

using namespace rdasim;
using arch::UnitKind;

namespace {

/// Units reachable from `start` over directed links.
std::size_t reachable(const arch::Fabric& fabric, int start) {
  std::vector<bool> seen(fabric.units().size(), false);
  std::queue<int> todo;
  todo.push(start);
  seen[static_cast<std::size_t>(start)] = true;
  std::size_t count = 1;
  while (!todo.empty()) {
    const int u = todo.front();
    todo.pop();
    for (int link_id : fabric.out_links(u)) {
      const int v = fabric.links()[static_cast<std::size_t>(link_id)].dst;
      if (!seen[static_cast<std::size_t>(v)]) {
        seen[static_cast<std::size_t>(v)] = true;
        ++count;
        todo.push(v);
      }
    }
  }
  return count;
}

}  // namespace

TEST_CASE("tiny fabric: counts of every unit kind and link", "[arch][fabric]") {
  const arch::Fabric fabric(test::tiny());
  CHECK(fabric.count(UnitKind::pcu) == 16);
  CHECK(fabric.count(UnitKind::pmu) == 16);
  CHECK(fabric.count(UnitKind::switch_box) == 2 * 5 * 5);
  CHECK(fabric.count(UnitKind::agcu) == 4);
  CHECK(fabric.count(UnitKind::memory) == 1);
  // Per tile: mesh 2 * (5*4 + 4*5) = 40 connections, 16 cells x 4 corners, 2 AGCUs; between
  // the two tiles, one connection per row of switches (5); each of the 4 AGCUs to the memory
  // tier (4). Two directed links per connection.
  const std::size_t connections = 2 * (40 + 64 + 2) + 5 + 4;
  CHECK(fabric.links().size() == 2 * connections);
  CHECK(fabric.tile_grid_rows() == 1);
  CHECK(fabric.tile_grid_cols() == 2);
}

TEST_CASE("cells follow the layout and switches sit at their corners", "[arch][fabric]") {
  const arch::Fabric fabric(test::tiny());
  for (int tile = 0; tile < 2; ++tile) {
    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < 4; ++x) {
        const arch::Unit& u = fabric.unit(fabric.cell_unit(tile, x, y));
        CHECK(u.kind == ((x + y) % 2 == 0 ? UnitKind::pcu : UnitKind::pmu));
        CHECK(u.tile == tile);
        CHECK(u.x == x);
        CHECK(u.y == y);
        std::set<int> neighbours;
        for (int link_id : fabric.out_links(u.id))
          neighbours.insert(fabric.links()[static_cast<std::size_t>(link_id)].dst);
        CHECK(neighbours == std::set<int>{fabric.switch_at(tile, x, y), fabric.switch_at(tile, x + 1, y),
                                          fabric.switch_at(tile, x, y + 1), fabric.switch_at(tile, x + 1, y + 1)});
      }
    }
  }
}

TEST_CASE("every link has the spec's bandwidth and latency, and a reverse twin", "[arch][fabric]") {
  const arch::Fabric fabric(test::tiny({"network.link_bytes_per_cycle=32", "network.hop_latency_cycles=3"}));
  std::multiset<std::pair<int, int>> pairs;
  for (const auto& link : fabric.links()) {
    CHECK(link.bytes_per_cycle == 32);
    const bool off_chip =
        fabric.unit(link.src).kind == UnitKind::memory || fabric.unit(link.dst).kind == UnitKind::memory;
    CHECK(link.latency_cycles == (off_chip ? 100 : 3));  // the tier's 100 ns at 1 GHz
    pairs.insert({link.src, link.dst});
  }
  for (const auto& link : fabric.links()) CHECK(pairs.count({link.dst, link.src}) == 1);
}

TEST_CASE("the whole fabric is connected", "[arch][fabric]") {
  for (const char* name : {"tiny", "plasticine", "sn10"}) {
    const arch::Fabric fabric(arch::Spec::load_file(test::preset(name)));
    CHECK(reachable(fabric, 0) == fabric.units().size());
  }
}

TEST_CASE("AGCUs sit on both edges and attach to an edge switch", "[arch][fabric]") {
  const arch::Fabric fabric(test::tiny({"agcu.count=3"}));
  int left = 0;
  int right = 0;
  for (const auto& u : fabric.units()) {
    if (u.kind != UnitKind::agcu || u.tile != 0) continue;
    (u.x < 0 ? left : right) += 1;
    // One link to its edge switch, one to the memory tier.
    REQUIRE(fabric.out_links(u.id).size() == 2);
    const auto& sw = fabric.unit(fabric.links()[static_cast<std::size_t>(fabric.out_links(u.id)[0])].dst);
    CHECK(sw.kind == UnitKind::switch_box);
    CHECK(sw.x == (u.x < 0 ? 0 : 4));
    CHECK(sw.y == u.y);
    const auto& memory = fabric.unit(fabric.links()[static_cast<std::size_t>(fabric.out_links(u.id)[1])].dst);
    CHECK(memory.id == fabric.memory_unit(0));
  }
  CHECK(left == 2);
  CHECK(right == 1);
}

TEST_CASE("regions split the tiles and isolate their units and links", "[arch][fabric][regions]") {
  const arch::Fabric fabric(arch::Spec::load_file(test::preset("sn10")));
  const std::vector<int> sizes{1, 2, 1};
  const auto regions = fabric.split(sizes);
  REQUIRE(regions.size() == 3);
  CHECK(regions[0].tiles == std::vector<int>{0});
  CHECK(regions[1].tiles == std::vector<int>{1, 2});
  CHECK(regions[2].tiles == std::vector<int>{3});
  for (const auto& u : fabric.units()) {
    int owners = 0;
    for (const auto& r : regions) owners += fabric.contains(r, u);
    CHECK(owners == (u.kind == UnitKind::memory ? 0 : 1));  // memory tiers are shared by all
  }
  for (const auto& link : fabric.links()) {
    int owners = 0;
    for (const auto& r : regions) owners += fabric.contains(r, link);
    const bool same_tile = fabric.unit(link.src).tile == fabric.unit(link.dst).tile;
    // Links inside a tile belong to its region; links between tiles only to a region holding both.
    if (same_tile) CHECK(owners == 1);
    else CHECK(owners <= 1);
  }
}

TEST_CASE("bands of rows share no unit, switch or link, and each is connected inside", "[arch][fabric][regions]") {
  const arch::Fabric fabric(arch::Spec::load_file(test::preset("sn10")));
  const int rows = fabric.spec().tile().rows;
  // Three bands of tile 1 covering all its rows, one of a single row.
  const std::vector<arch::Region> bands{fabric.band("a", 1, 0, 1), fabric.band("b", 1, 1, 9),
                                        fabric.band("c", 1, 9, rows)};
  for (const auto& u : fabric.units()) {
    int owners = 0;
    for (const auto& r : bands) owners += fabric.contains(r, u);
    CHECK(owners == (u.tile == 1 ? 1 : 0));
  }
  for (const auto& link : fabric.links()) {
    int owners = 0;
    for (const auto& r : bands) owners += fabric.contains(r, link);
    CHECK(owners <= 1);
  }
  CHECK(fabric.count(bands[0], UnitKind::pcu) == fabric.spec().tile().cols / 2);
  CHECK(fabric.count(bands[1], UnitKind::pmu) == 8 * fabric.spec().tile().cols / 2);
  // Every PCU and PMU of a band reaches every other over the band's own links.
  for (const auto& band : bands) {
    std::vector<int> members;
    for (const auto& u : fabric.units()) {
      if ((u.kind == UnitKind::pcu || u.kind == UnitKind::pmu) && fabric.contains(band, u)) members.push_back(u.id);
    }
    std::vector<bool> seen(fabric.units().size(), false);
    std::vector<int> stack{members.front()};
    seen[static_cast<std::size_t>(members.front())] = true;
    while (!stack.empty()) {
      const int u = stack.back();
      stack.pop_back();
      for (int l : fabric.out_links(u)) {
        const auto& link = fabric.links()[static_cast<std::size_t>(l)];
        if (!fabric.contains(band, link) || seen[static_cast<std::size_t>(link.dst)]) continue;
        seen[static_cast<std::size_t>(link.dst)] = true;
        stack.push_back(link.dst);
      }
    }
    for (int m : members) CHECK(seen[static_cast<std::size_t>(m)]);
  }
}

TEST_CASE("regions that do not fit are rejected", "[arch][fabric][regions][errors]") {
  const arch::Fabric fabric(test::tiny());
  const std::vector<int> too_many{1, 2};
  CHECK_THROWS_WITH(fabric.split(too_many), Catch::Matchers::Contains("2 regions need 3 tiles, but 'tiny' has 2"));
  const std::vector<int> zero{0};
  CHECK_THROWS_WITH(fabric.split(zero), Catch::Matchers::Contains("expected a positive tile count"));
  CHECK_THROWS_WITH(fabric.region("r", {0, 5}), Catch::Matchers::Contains("tile 5 does not exist; expected 0 to 1"));
  CHECK_THROWS_WITH(fabric.region("r", {1, 1}), Catch::Matchers::Contains("tile 1 is listed twice"));
  CHECK_THROWS_WITH(fabric.region("r", {}), Catch::Matchers::Contains("expected at least one tile"));
  CHECK_THROWS_WITH(fabric.band("r", 0, 2, 2), Catch::Matchers::Contains("rows 2 to 2 are not a band"));
  CHECK_THROWS_WITH(fabric.band("r", 0, 0, 99), Catch::Matchers::Contains("rows 0 to 99 are not a band"));
  CHECK_THROWS_WITH(fabric.band("r", 7, 0, 1), Catch::Matchers::Contains("tile 7 does not exist"));
}

TEST_CASE("the tile picture shows cells, switches and AGCUs", "[arch][fabric]") {
  const arch::Fabric fabric(test::tiny());
  const std::string picture = arch::tile_picture(fabric, 0);
  CHECK(picture ==
        "    +-+-+-+-+\n"
        "    |C|M|C|M|\n"
        "    +-+-+-+-+\n"
        "    |M|C|M|C|\n"
        "  A-+-+-+-+-+-A\n"
        "    |C|M|C|M|\n"
        "    +-+-+-+-+\n"
        "    |M|C|M|C|\n"
        "    +-+-+-+-+\n"
        "  tile 0 of 2: 4 x 4 cells, checkerboard layout. C = PCU, M = PMU, + = switch, A = AGCU\n");
}
