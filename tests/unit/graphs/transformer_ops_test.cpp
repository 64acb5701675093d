// The decoder-LLM kinds (graphs/ops/transformer.cpp): values worked out by hand, the causal
// alignment of a cache step, grouped KV heads, the in-place cache write's cost, and the shape
// rules' messages.
#include <cmath>

#include <catch2/catch.hpp>

#include "graph_test_util.h"
#include "graphs/op_registry.h"

using namespace rdasim;
using Catch::Matchers::Contains;
using graphs::DType;
using test::attrs;
using test::In;
using test::one_op;

namespace {

In values(std::string name, graphs::Shape shape, std::vector<double> v) {
  return In{std::move(name), std::move(shape), DType::f32, std::move(v)};
}

/// The folded values of op 0's output.
std::vector<double> result(const graphs::Graph& g) { return *g.tensor(g.ops()[0].outputs[0]).values; }

graphs::Attrs heads(std::int64_t q, std::int64_t kv, bool causal) {
  return attrs({{"q_num_heads", q}, {"kv_num_heads", kv}, {"is_causal", std::int64_t{causal}}});
}

}  // namespace

TEST_CASE("RMSNormalization divides by the root mean square and scales", "[graphs][llm]") {
  const auto g = one_op("RMSNormalization", {values("x", {2, 2}, {3, 4, 1, -1}), values("w", {2}, {1, 2})}, 1,
                        attrs({{"epsilon", 0.0}}));
  const auto y = result(g);
  const double rms0 = std::sqrt(12.5), rms1 = 1.0;
  CHECK(y[0] == Approx(3 / rms0));
  CHECK(y[1] == Approx(8 / rms0));
  CHECK(y[2] == Approx(1 / rms1));
  CHECK(y[3] == Approx(-2 / rms1));
  CHECK(graphs::op_cost(g, 0).flops == 16);
  CHECK_THROWS_WITH(one_op("RMSNormalization", {{"x", {2, 4}}, {"w", {3}}}),
                    Contains("'w' [3] does not broadcast to the normalized shape [4]"));
}

TEST_CASE("RotaryEmbedding rotates each head's halves by its position's angle", "[graphs][llm]") {
  // One head of 4: pairs (0, 2) and (1, 3); position 1 of the caches: cos 0, sin 1 (a quarter
  // turn) for pair 0, cos 1, sin 0 for pair 1.
  const auto g = one_op("RotaryEmbedding",
                        {values("x", {1, 1, 4}, {1, 2, 3, 4}),
                         values("cos", {2, 2}, {1, 1, 0, 1}),
                         values("sin", {2, 2}, {0, 0, 1, 0}),
                         {"pos", {1, 1}, DType::i64, std::vector<double>{1}}},
                        1, attrs({{"num_heads", std::int64_t{1}}}));
  CHECK(result(g) == std::vector<double>{-3, 2, 1, 4});
  // Interleaved pairs (0, 1) and (2, 3).
  const auto i = one_op("RotaryEmbedding",
                        {values("x", {1, 1, 4}, {1, 2, 3, 4}),
                         values("cos", {2, 2}, {1, 1, 0, 1}),
                         values("sin", {2, 2}, {0, 0, 1, 0}),
                         {"pos", {1, 1}, DType::i64, std::vector<double>{1}}},
                        1, attrs({{"num_heads", std::int64_t{1}}, {"interleaved", std::int64_t{1}}}));
  CHECK(result(i) == std::vector<double>{-2, 1, 3, 4});
  CHECK_THROWS_WITH(one_op("RotaryEmbedding",
                           {values("x", {1, 1, 4}, {1, 2, 3, 4}),
                            values("cos", {2, 2}, {1, 1, 0, 1}),
                            values("sin", {2, 2}, {0, 0, 1, 0}),
                            {"pos", {1, 1}, DType::i64, std::vector<double>{2}}},
                           1, attrs({{"num_heads", std::int64_t{1}}})),
                    Contains("position id 2 is out of range for caches of 2 positions"));
  CHECK_THROWS_WITH(one_op("RotaryEmbedding", {{"x", {1, 3, 6}}, {"cos", {3, 3}}, {"sin", {3, 3}}}, 1,
                           attrs({{"num_heads", std::int64_t{4}}})),
                    Contains("needs num_heads dividing its last dimension"));
}

TEST_CASE("GroupedQueryAttention: grouped heads share a KV head, causal steps align to the last key", "[graphs][llm]") {
  // Two query heads of size 1 sharing one KV head; three keys.
  const std::vector<double> k{0, 0, 0}, v{1, 2, 3};  // equal scores: a plain mean of V
  SECTION("a decode step (S = 1) attends to every key, causal or not") {
    const auto g = one_op("GroupedQueryAttention",
                          {values("q", {1, 1, 2}, {5, -5}), values("k", {1, 3, 1}, k), values("v", {1, 3, 1}, v)}, 1,
                          heads(2, 1, true));
    CHECK(result(g) == std::vector<double>{2, 2});
  }
  SECTION("a prefill of three tokens: token s sees keys 0 .. s") {
    const auto g =
        one_op("GroupedQueryAttention",
               {values("q", {1, 3, 2}, {1, 1, 1, 1, 1, 1}), values("k", {1, 3, 1}, k), values("v", {1, 3, 1}, v)}, 1,
               heads(2, 1, true));
    CHECK(result(g) == std::vector<double>{1, 1, 1.5, 1.5, 2, 2});
    // Pairs scored: 1 + 2 + 3 per head; per pair 2 (D + Dv) + 5 FLOPs.
    CHECK(graphs::op_cost(g, 0).flops == 2 * 6 * (2.0 * 2 + 5));
    const auto view = graphs::gemm_view(g, 0);
    CHECK(view.batch == 1);  // both query heads share the one KV head: one GEMM of their rows
    CHECK(view.m == 6);
    CHECK(view.n == 2);
    CHECK(view.k == 2);
  }
  SECTION("scores follow Q K^T / sqrt(D)") {
    // One head of 2; keys (1, 0) and (0, 1); q = (ln 4 sqrt 2, 0): weights 4/5 and 1/5.
    const double q0 = std::log(4.0) * std::sqrt(2.0);
    const auto g = one_op(
        "GroupedQueryAttention",
        {values("q", {1, 1, 2}, {q0, 0}), values("k", {1, 2, 2}, {1, 0, 0, 1}), values("v", {1, 2, 2}, {10, 0, 0, 10})},
        1, heads(1, 1, false));
    CHECK(result(g)[0] == Approx(8));
    CHECK(result(g)[1] == Approx(2));
  }
  CHECK_THROWS_WITH(
      one_op("GroupedQueryAttention", {{"q", {1, 1, 6}}, {"k", {1, 3, 4}}, {"v", {1, 3, 4}}}, 1, heads(3, 2, false)),
      Contains("q_num_heads 3 must be a positive multiple of kv_num_heads 2"));
  CHECK_THROWS_WITH(
      one_op("GroupedQueryAttention", {{"q", {1, 4, 2}}, {"k", {1, 3, 1}}, {"v", {1, 3, 1}}}, 1, heads(2, 1, true)),
      Contains("a causal step of 4 queries needs at least as many keys, not 3"));
}

TEST_CASE("TensorScatter writes the new entries at each batch's index, moving only them", "[graphs][llm]") {
  // Cache [batch 2, 3 positions, 1]; one new entry per batch at positions 2 and 0.
  const auto g = one_op("TensorScatter",
                        {values("cache", {2, 3, 1}, {1, 2, 0, 4, 5, 6}),
                         values("new", {2, 1, 1}, {9, 8}),
                         {"at", {2}, DType::i64, std::vector<double>{2, 0}}},
                        1, attrs({{"axis", std::int64_t{1}}}));
  CHECK(result(g) == std::vector<double>{1, 2, 9, 8, 5, 6});
  const auto cost = graphs::op_cost(g, 0);
  CHECK(cost.bytes_written == 2 * 4);       // the two new entries, not the cache
  CHECK(cost.bytes_read == 2 * 4 + 2 * 8);  // the entries and the indices, not the cache
  CHECK(graphs::OpRegistry::instance().traits("TensorScatter")->updates_in_place == 0u);
  CHECK_THROWS_WITH(one_op("TensorScatter",
                           {values("cache", {1, 3, 1}, {1, 2, 3}),
                            values("new", {1, 2, 1}, {9, 8}),
                            {"at", {1}, DType::i64, std::vector<double>{2}}},
                           1, attrs({{"axis", std::int64_t{1}}})),
                    Contains("write index 2 of batch 0 puts 2 entries past the cache's 3 along axis 1"));
  CHECK_THROWS_WITH(
      one_op("TensorScatter", {{"cache", {1, 3, 2}}, {"new", {1, 1, 3}}}, 1, attrs({{"axis", std::int64_t{1}}})),
      Contains("must match the cache [1, 3, 2] except along axis 1"));
}
