// The IR's invariants: verifier errors name the op or tensor, cycles are reported as paths,
// orders are deterministic.
#include <catch2/catch.hpp>

#include "graph_test_util.h"
#include "graphs/algorithms.h"
#include "graphs/export.h"

using namespace rdasim;
using Catch::Matchers::Contains;
using graphs::Shape;
using test::In;
using test::one_op;

namespace {

graphs::TensorId tensor(graphs::Graph& g, const std::string& name, graphs::Role role, Shape shape = {4}) {
  graphs::Tensor t;
  t.name = name;
  t.role = role;
  t.shape = std::move(shape);
  return g.add_tensor(std::move(t));
}

void op(graphs::Graph& g, const std::string& name, const std::string& kind, std::vector<graphs::TensorId> in,
        std::vector<graphs::TensorId> out) {
  graphs::Op o;
  o.name = name;
  o.kind = kind;
  o.inputs = std::move(in);
  o.outputs = std::move(out);
  g.add_op(std::move(o));
}

}  // namespace

TEST_CASE("topological order is deterministic and follows data", "[graphs][ir]") {
  graphs::Graph g("chain");
  const auto x = tensor(g, "x", graphs::Role::input);
  const auto a = tensor(g, "a", graphs::Role::activation);
  const auto b = tensor(g, "b", graphs::Role::activation);
  const auto c = tensor(g, "c", graphs::Role::output);
  // Added out of order: c = relu(b), b = neg(a), a = abs(x).
  op(g, "third", "Relu", {b}, {c});
  op(g, "second", "Neg", {a}, {b});
  op(g, "first", "Abs", {x}, {a});
  const auto order = graphs::topological_order(g);
  REQUIRE(order.size() == 3);
  CHECK(g.op(order[0]).name == "first");
  CHECK(g.op(order[1]).name == "second");
  CHECK(g.op(order[2]).name == "third");
  graphs::infer_shapes(g);
  CHECK(g.tensor(c).shape == Shape{4});
}

TEST_CASE("a cycle is reported with its path", "[graphs][ir][errors]") {
  graphs::Graph g("loop");
  const auto x = tensor(g, "x", graphs::Role::input);
  const auto a = tensor(g, "a", graphs::Role::activation);
  const auto b = tensor(g, "b", graphs::Role::activation);
  const auto y = tensor(g, "y", graphs::Role::output);
  op(g, "p", "Add", {x, b}, {a});
  op(g, "q", "Relu", {a}, {b});
  op(g, "r", "Relu", {a}, {y});
  CHECK_THROWS_WITH(graphs::topological_order(g),
                    Contains("the ops form a cycle: p -> q -> p") || Contains("the ops form a cycle: q -> p -> q"));
}

TEST_CASE("structural errors name the op or tensor", "[graphs][ir][errors]") {
  SECTION("unsupported kinds are listed together") {
    graphs::Graph g("g");
    const auto x = tensor(g, "x", graphs::Role::input);
    const auto a = tensor(g, "a", graphs::Role::activation);
    const auto y = tensor(g, "y", graphs::Role::output);
    op(g, "n1", "Frobnicate", {x}, {a});
    op(g, "n2", "Tanhh", {a}, {y});
    CHECK_THROWS_WITH(graphs::infer_shapes(g), Contains("2 ops of unsupported kind: 'n1' (Frobnicate), 'n2' (Tanhh)"));
  }
  SECTION("a tensor nobody produces") {
    graphs::Graph g("g");
    const auto ghost = tensor(g, "ghost", graphs::Role::activation);
    const auto y = tensor(g, "y", graphs::Role::output);
    op(g, "n", "Relu", {ghost}, {y});
    CHECK_THROWS_WITH(graphs::infer_shapes(g), Contains("tensor 'ghost': no op produces it (read by 'n')"));
  }
  SECTION("arity and attributes") {
    CHECK_THROWS_WITH(one_op("Relu", {{"a", {2}}, {"b", {2}}}), Contains("op 'op' (Relu): has 2 inputs, expected 1"));
    CHECK_THROWS_WITH(one_op("Softmax", {{"a", {2}}}, 1, test::attrs({{"axsi", std::int64_t{0}}})),
                      Contains("unknown attribute 'axsi' (did you mean 'axis'?)"));
    CHECK_THROWS_WITH(one_op("Softmax", {{"a", {2}}}, 1, test::attrs({{"axis", std::string("last")}})),
                      Contains("attribute 'axis' must be int, found string"));
    CHECK_THROWS_WITH(one_op("Gemm", {{"a", {2, 2}}, {"", {}}}), Contains("input 1 is required but omitted"));
  }
  SECTION("shapes whose element count overflows 64 bits") {
    CHECK_THROWS_WITH(one_op("Relu", {{"x", {1LL << 40, 1LL << 40}}}),
                      Contains("tensor 'x': shape [1099511627776, 1099511627776] has a negative dimension or more than "
                               "2^63 elements"));
  }
  SECTION("names are unique and a tensor has one producer") {
    graphs::Graph g("g");
    tensor(g, "x", graphs::Role::input);
    CHECK_THROWS_WITH(tensor(g, "x", graphs::Role::input), Contains("tensor 'x' is defined twice"));
    const auto y = tensor(g, "y", graphs::Role::output);
    op(g, "a", "Relu", {0}, {y});
    CHECK_THROWS_WITH(op(g, "b", "Relu", {0}, {y}), Contains("tensor 'y' is written by both 'a' and 'b'"));
    CHECK_THROWS_WITH(op(g, "a", "Relu", {0}, {}), Contains("op 'a' is defined twice"));
  }
}

TEST_CASE("verify catches a transformation that broke a shape", "[graphs][ir][errors]") {
  auto g = one_op("MatMul", {{"a", {2, 3}}, {"b", {3, 4}}});
  CHECK_NOTHROW(graphs::verify(g));
  g.tensor(g.ops()[0].outputs[0]).shape = {2, 5};
  CHECK_THROWS_WITH(graphs::verify(g), Contains("output 'out0' is f32 [2, 5] but the shape rule gives f32 [2, 4]"));
}

TEST_CASE("symbolic dimensions rebind and shapes follow", "[graphs][ir]") {
  graphs::Graph g("dims");
  graphs::Tensor x;
  x.name = "x";
  x.role = graphs::Role::input;
  x.shape = {8, 3};
  x.dim_names = {"batch", ""};
  const auto xi = g.add_tensor(std::move(x));
  const auto y = tensor(g, "y", graphs::Role::output);
  op(g, "r", "Relu", {xi}, {y});
  g.set_dim("batch", 64);
  graphs::infer_shapes(g);
  CHECK(g.tensor(y).shape == Shape{64, 3});
}

TEST_CASE("JSON and DOT views carry every op", "[graphs][export]") {
  const auto g = one_op("Gemm", {{"a", {2, 3}}, {"b", {3, 4}}});
  const auto j = graphs::to_json(g);
  CHECK(j["ops"].size() == 1);
  CHECK(j["ops"][0]["kind"] == "Gemm");
  CHECK(j["ops"][0]["flops"] == 48.0);
  CHECK(j["totals"]["flops"] == 48.0);
  const std::string dot = graphs::to_dot(g);
  CHECK_THAT(dot, Contains("digraph \"test\""));
  CHECK_THAT(dot, Contains("\"t:a\" -> \"o:op\""));
  CHECK_THAT(dot, Contains("\"o:op\" -> \"t:out0\""));
}
