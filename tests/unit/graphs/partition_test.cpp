// graphs::partition and its memo: equal inputs cut once, anything METIS reads tells inputs apart.
#include <catch2/catch.hpp>

#include <vector>

#include "core/error.h"
#include "graphs/partition.h"

using namespace rdasim;

namespace {

/// Two 4-cliques joined by one light edge: METIS cuts that edge.
graphs::WeightedGraph two_cliques() {
  std::vector<graphs::WeightedEdge> edges;
  for (int base : {0, 4}) {
    for (int u = 0; u < 4; ++u) {
      for (int v = u + 1; v < 4; ++v) edges.push_back({base + u, base + v, 10});
    }
  }
  edges.push_back({3, 4, 1});
  return graphs::WeightedGraph::from_edges(8, {}, 1, edges);
}

}  // namespace

TEST_CASE("a partition memo runs METIS once per distinct input and returns its cut", "[graphs][partition]") {
  const auto g = two_cliques();
  graphs::PartitionOptions options;
  options.parts = 2;
  const auto direct = graphs::partition(g, options);
  CHECK(direct.edge_cut == 1);

  graphs::PartitionMemo memo;
  const auto first = memo.partition(g, options);
  const auto again = graphs::partition(g, options, &memo);
  CHECK(first.part == direct.part);
  CHECK(again.part == direct.part);
  CHECK(again.edge_cut == direct.edge_cut);
  CHECK(memo.calls() == 2);
  CHECK(memo.computed() == 1);

  // Anything METIS reads makes another input: the seed, the target fractions, a weight.
  auto seeded = options;
  seeded.seed = 7;
  (void)memo.partition(g, seeded);
  auto uneven = options;
  uneven.target_fractions = {0.25, 0.75};
  (void)memo.partition(g, uneven);
  auto heavier = g;
  heavier.edge_weights.back() += 1;
  (void)memo.partition(heavier, options);
  CHECK(memo.computed() == 4);
  CHECK(memo.calls() == 5);

  // Without a memo, the plain call.
  CHECK(graphs::partition(g, options, nullptr).part == direct.part);
}

TEST_CASE("a partition memo passes bad input's errors through and remembers nothing of it", "[graphs][partition]") {
  graphs::PartitionMemo memo;
  graphs::PartitionOptions options;
  options.parts = 9;  // more parts than vertices
  CHECK_THROWS_AS(memo.partition(two_cliques(), options), core::InputError);
  CHECK(memo.computed() == 0);
}
