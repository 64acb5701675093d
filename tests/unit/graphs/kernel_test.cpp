// Reference kernels as the registry declares them, value rounding, and constant folding.
#include <cmath>

#include <catch2/catch.hpp>

#include "core/error.h"
#include "graph_test_util.h"
#include "graphs/builder.h"
#include "graphs/op_registry.h"
#include "graphs/transforms.h"
#include "graphs/verify.h"

using namespace rdasim;
using Catch::Matchers::Contains;

TEST_CASE("every op kind has a reference kernel, except Constant whose output holds its values", "[graphs][kernels]") {
  const auto& reg = graphs::OpRegistry::instance();
  for (const auto& kind : reg.kinds()) {
    INFO(kind);
    CHECK(static_cast<bool>(reg.find(kind)->kernel) == (kind != "Constant"));
  }
}

TEST_CASE("representable rounds as a conversion to the type would", "[graphs][types]") {
  using graphs::DType;
  using graphs::representable;
  // bf16 keeps 8 significant bits: at 1.0 the spacing is 2^-7; a tie goes to even.
  CHECK(representable(DType::bf16, 1.0 + 0x1p-8) == 1.0);
  CHECK(representable(DType::bf16, 1.0 + 3 * 0x1p-8) == 1.0 + 0x1p-6);
  CHECK(representable(DType::bf16, 1.0 + 0x1p-8 + 0x1p-20) == 1.0 + 0x1p-7);
  CHECK(representable(DType::bf16, 3.14159265) == 3.140625);
  CHECK(std::isinf(representable(DType::bf16, 3.4e38)));    // above bf16's largest finite 3.39e38
  CHECK(representable(DType::bf16, 0x1p-130) == 0x1p-130);  // subnormal, exact
  // f16: 11 significant bits, largest finite 65504, subnormals down to 2^-24.
  CHECK(representable(DType::f16, 65504.0) == 65504.0);
  CHECK(std::isinf(representable(DType::f16, 65520.0)));
  CHECK(representable(DType::f16, 0x1p-24) == 0x1p-24);
  CHECK(representable(DType::f16, 0x1p-26) == 0.0);
  CHECK(representable(DType::f32, 0.1) == static_cast<double>(0.1f));
  // Integers truncate toward zero and wrap; bool is "not zero".
  CHECK(representable(DType::i64, -2.7) == -2.0);
  CHECK(representable(DType::u8, 257.9) == 1.0);
  CHECK(representable(DType::i8, 130.0) == -126.0);
  CHECK(representable(DType::boolean, -0.5) == 1.0);
  CHECK(std::isnan(representable(DType::f32, std::nan(""))));
  // The float fast path agrees with the general rounding on floats.
  for (float x : {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 3.14159265f, -2.71828f, 1e-39f, 3.3e38f, 6.5e-3f}) {
    INFO(x);
    CHECK(static_cast<double>(graphs::round_to_bf16(x)) == representable(DType::bf16, static_cast<double>(x)));
  }
  CHECK(std::isinf(graphs::round_to_bf16(3.4e38f)));
}

TEST_CASE("PyTorch's shape arithmetic before a Reshape folds into a constant", "[graphs][fold]") {
  using graphs::DType;
  using graphs::Role;
  // y = x.view(x.size(0), -1), as torch.onnx exports it without constant folding.
  graphs::GraphBuilder b("view");
  const auto x = b.input("x", {2, 3, 4});
  const auto shape = b.op("Shape", "size", {x});
  const auto batch = b.op("Gather", "dim0", {shape, b.constant("zero", {}, {0}, DType::i64)});
  const auto batch1 = b.op("Unsqueeze", "unsqueeze", {batch, b.ints("axes", {0})});
  graphs::Attrs axis;
  axis.values["axis"] = std::int64_t{0};
  const auto target = b.op("Concat", "concat", {batch1, b.ints("minus_one", {-1})}, axis);
  b.output(b.op("Reshape", "view", {x, target}));
  const graphs::Graph g = b.finish();  // infers shapes, and the values along the way
  CHECK(g.tensor(target).values == std::vector<double>{2, -1});
  const graphs::Graph folded = graphs::fold_constants(g);
  REQUIRE(folded.ops().size() == 1);
  CHECK(folded.ops()[0].kind == "Reshape");
  const auto& new_target = folded.tensor(*folded.find_tensor("concat"));
  CHECK(new_target.role == Role::constant);
  CHECK(new_target.values == std::vector<double>{2, -1});
  CHECK(folded.tensor(*folded.find_tensor("view")).shape == graphs::Shape{2, 12});
  CHECK_FALSE(folded.find_tensor("zero"));  // nothing reads it any more
  CHECK(folded.find_tensor("x"));
}

TEST_CASE("a causal mask as PyTorch exports it folds: ConstantOfShape, Range, Less, Where", "[graphs][fold]") {
  using graphs::DType;
  // mask = full((3, 3), -inf-ish); cond = arange(3); mask.masked_fill(cond < (cond + 1).view(3, 1), 0)
  graphs::GraphBuilder b("mask");
  graphs::Attrs fill;
  fill.values["value"] = -1e9;
  const auto full = b.op("ConstantOfShape", "full", {b.ints("size", {3, 3})}, fill);
  const auto cond = b.op("Range", "arange",
                         {b.constant("start", {}, {0}, DType::i64), b.constant("limit", {}, {3}, DType::i64),
                          b.constant("delta", {}, {1}, DType::i64)});
  const auto next =
      b.op("Reshape", "column",
           {b.op("Add", "plus1", {cond, b.constant("one", {}, {1}, DType::i64)}), b.ints("to_column", {3, 1})});
  const auto below = b.op("Less", "below", {cond, next});
  const auto mask = b.op("Where", "mask", {below, b.constant("zero", {}, {0}), full});
  b.output(b.op("Add", "scores", {b.input("x", {3, 3}), mask}));
  const graphs::Graph g = b.finish();
  CHECK(g.tensor(cond).values == std::vector<double>{0, 1, 2});
  CHECK(g.tensor(mask).values == std::vector<double>{0, -1e9, -1e9, 0, 0, -1e9, 0, 0, 0});
  const graphs::Graph folded = graphs::fold_constants(g);
  REQUIRE(folded.ops().size() == 1);  // only the Add that reads the input is left
  // The other comparisons and the rotary embedding's cos and sin, on constants.
  const auto values = [](const std::string& kind, std::vector<test::In> in) {
    const graphs::Graph one = test::one_op(kind, in);
    return *one.tensor(one.ops()[0].outputs[0]).values;
  };
  const test::In a{"a", {3}, DType::f32, std::vector<double>{1, 2, 3}},
      two{"b", {}, DType::f32, std::vector<double>{2}};
  CHECK(values("Greater", {a, two}) == std::vector<double>{0, 0, 1});
  CHECK(values("GreaterOrEqual", {a, two}) == std::vector<double>{0, 1, 1});
  CHECK(values("LessOrEqual", {a, two}) == std::vector<double>{1, 1, 0});
  CHECK(values("Cos", {a})[0] == Approx(std::cos(1.0)));
  CHECK(values("Sin", {a})[2] == Approx(std::sin(3.0)));
  CHECK(values("Range", {{"s", {}, DType::f32, std::vector<double>{1}},
                         {"l", {}, DType::f32, std::vector<double>{2}},
                         {"d", {}, DType::f32, std::vector<double>{0.25}}}) == std::vector<double>{1, 1.25, 1.5, 1.75});
  // An exporter's "to the end" (INT64_MAX, which a double rounds past int64) slices to the end.
  CHECK(values("Slice", {a, test::ints("starts", {1}), test::ints("ends", {9223372036854775807.0})}) ==
        std::vector<double>{2, 3});
}

TEST_CASE("shape arithmetic refuses what has no shape", "[graphs][fold]") {
  using graphs::DType;
  const auto scalar = [](const char* name, double v) { return test::In{name, {}, DType::i64, std::vector<double>{v}}; };
  CHECK_THROWS_WITH(test::one_op("Range", {scalar("s", 0), scalar("l", 4), scalar("d", 0)}), Contains("delta is 0"));
  CHECK_THROWS_WITH(test::one_op("Range", {scalar("s", 0), test::ints("l", {4, 5}), scalar("d", 1)}),
                    Contains("'limit' must be a scalar, found 2 values"));
  CHECK_THROWS_WITH(test::one_op("ConstantOfShape", {test::ints("shape", {2, -1})}),
                    Contains("shape [2, -1] has a negative dimension"));
  CHECK_THROWS_AS(test::one_op("ConstantOfShape", {{"shape", {2}, DType::i64}}), core::UnsupportedError);
  CHECK_THROWS_WITH(test::one_op("Range", {scalar("s", 0), {"l", {}, DType::i64}, scalar("d", 1)}),
                    Contains("'limit' known only at run time gives a data-dependent shape"));
}

TEST_CASE("an op returning a graph output is never folded away", "[graphs][fold]") {
  graphs::Graph g = test::one_op("Shape", {{"x", {2, 5}}});
  const graphs::Graph folded = graphs::fold_constants(g);
  REQUIRE(folded.ops().size() == 1);
  CHECK(folded.tensor(folded.tensors_with(graphs::Role::output).at(0)).values == std::vector<double>{2, 5});
}

TEST_CASE("kernels reject data a shape rule cannot see", "[graphs][kernels]") {
  // A Gather index past the end, known at load time, fails while values propagate.
  CHECK_THROWS_WITH(test::one_op("Gather", {{"data", {3}, graphs::DType::f32, std::vector<double>{1, 2, 3}},
                                            {"idx", {1}, graphs::DType::i64, std::vector<double>{3}}}),
                    Contains("op 'op' (Gather): index 3 is out of range for dimension 0 of size 3"));
}

TEST_CASE("expanding a recurrence refuses a ragged batch, naming the op", "[graphs][expand]") {
  graphs::Graph g = test::one_op("GRU",
                                 {{"x", {3, 2, 4}},
                                  {"w", {1, 15, 4}},
                                  {"r", {1, 15, 5}},
                                  {"", {}},
                                  {"lens", {2}, graphs::DType::i32, std::vector<double>{3, 1}}},
                                 2, [] {
                                   graphs::Attrs a;
                                   a.values["hidden_size"] = std::int64_t{5};
                                   return a;
                                 }());
  CHECK_THROWS_WITH(graphs::expand_recurrent(g),
                    Contains("op 'op' (GRU): cannot expand: sequence_lens other than constant full lengths"));
  g.tensor(*g.find_tensor("lens")).values = std::vector<double>{3, 3};
  CHECK(graphs::has_recurrent(g));
  const graphs::Graph expanded = graphs::expand_recurrent(g);
  for (const auto& op : expanded.ops()) CHECK(op.kind != "GRU");
  CHECK_FALSE(graphs::has_recurrent(expanded));
  CHECK(expanded.tensor(*expanded.find_tensor("out1")).shape == graphs::Shape{1, 2, 5});
}
