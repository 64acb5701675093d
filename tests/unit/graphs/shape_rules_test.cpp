// Shape rules and costs of the op registry, against ONNX's documented examples and hand
// calculation.
#include <catch2/catch.hpp>

#include "graph_test_util.h"
#include "graphs/op_registry.h"

using namespace rdasim;
using Catch::Matchers::Contains;
using graphs::Shape;
using test::attrs;
using test::In;
using test::ints;
using test::one_op;
using test::out_shape;
using I = std::vector<std::int64_t>;

namespace {
double flops(const graphs::Graph& g) { return graphs::op_cost(g, 0).flops; }
}  // namespace

TEST_CASE("element-wise ops keep shapes and broadcast numpy-style", "[graphs][shapes]") {
  CHECK(out_shape(one_op("Relu", {{"x", {2, 3}}})) == Shape{2, 3});
  CHECK(out_shape(one_op("Add", {{"a", {2, 1, 4}}, {"b", {3, 1}}})) == Shape{2, 3, 4});
  CHECK(out_shape(one_op("Mul", {{"a", {}}, {"b", {5}}})) == Shape{5});
  CHECK(out_shape(one_op("Where", {{"c", {3, 1}, graphs::DType::boolean}, {"x", {1, 4}}, {"y", {}}})) == Shape{3, 4});
  CHECK(flops(one_op("Sigmoid", {{"x", {10, 10}}})) == 600);
  CHECK_THROWS_WITH(one_op("Add", {{"a", {2, 3}}, {"b", {4}}}),
                    Contains("op 'op' (Add): shapes [2, 3] and [4] ('b') do not broadcast"));
  CHECK_THROWS_WITH(one_op("Clip", {{"x", {4}}, {"lo", {2}}}), Contains("bound 'lo' must be a scalar"));
}

TEST_CASE("MatMul follows numpy, including 1-D operands and batch broadcasting", "[graphs][shapes]") {
  CHECK(out_shape(one_op("MatMul", {{"a", {2, 3, 4}}, {"b", {4, 5}}})) == Shape{2, 3, 5});
  CHECK(out_shape(one_op("MatMul", {{"a", {4}}, {"b", {4, 5}}})) == Shape{5});
  CHECK(out_shape(one_op("MatMul", {{"a", {3, 4}}, {"b", {4}}})) == Shape{3});
  CHECK(out_shape(one_op("MatMul", {{"a", {2, 1, 3, 4}}, {"b", {5, 4, 6}}})) == Shape{2, 5, 3, 6});
  CHECK(flops(one_op("MatMul", {{"a", {2, 3, 4}}, {"b", {4, 5}}})) == 2.0 * 2 * 3 * 5 * 4);
  CHECK_THROWS_WITH(one_op("MatMul", {{"a", {3, 4}}, {"b", {5, 6}}}), Contains("inner dimensions differ"));
}

TEST_CASE("Gemm transposes and broadcasts C", "[graphs][shapes]") {
  const auto g = one_op("Gemm", {{"a", {2, 3}}, {"b", {4, 3}}, {"c", {4}}}, 1, attrs({{"transB", std::int64_t{1}}}));
  CHECK(out_shape(g) == Shape{2, 4});
  CHECK(flops(g) == 2.0 * 2 * 4 * 3 + 8);
  CHECK_THROWS_WITH(one_op("Gemm", {{"a", {2, 3}}, {"b", {4, 3}}}), Contains("inner dimensions differ"));
  CHECK_THROWS_WITH(one_op("Gemm", {{"a", {2, 3}}, {"b", {3, 4}}, {"c", {3}}}), Contains("does not broadcast"));
}

TEST_CASE("Conv: the lensing encoder's published output sizes", "[graphs][shapes]") {
  // WORKLOADS.md: 3x111x111 -> 64x55x55 -> 64x27x27 -> 128x9x9 -> 128x3x3 -> 256x1x1.
  struct Layer {
    std::int64_t cin, cout, k, s, p, out;
  };
  std::int64_t size = 111;
  for (const Layer& l : {Layer{3, 64, 4, 2, 1, 55}, Layer{64, 64, 4, 2, 1, 27}, Layer{64, 128, 4, 3, 1, 9},
                         Layer{128, 128, 4, 3, 1, 3}, Layer{128, 256, 3, 1, 0, 1}}) {
    const auto g = one_op("Conv", {{"x", {8, l.cin, size, size}}, {"w", {l.cout, l.cin, l.k, l.k}}}, 1,
                          attrs({{"strides", I{l.s, l.s}}, {"pads", I{l.p, l.p, l.p, l.p}}}));
    CHECK(out_shape(g) == Shape{8, l.cout, l.out, l.out});
    const auto d = [](std::int64_t v) { return static_cast<double>(v); };
    CHECK(flops(g) == 2.0 * 8 * d(l.cout) * d(l.out) * d(l.out) * d(l.cin) * d(l.k) * d(l.k));
    size = l.out;
  }
}

TEST_CASE("Conv: padding modes, dilation, groups and bias", "[graphs][shapes]") {
  CHECK(out_shape(one_op("Conv", {{"x", {1, 3, 111, 111}}, {"w", {64, 3, 3, 3}}, {"b", {64}}}, 1,
                         attrs({{"pads", I{1, 1, 1, 1}}}))) == Shape{1, 64, 111, 111});
  CHECK(out_shape(one_op("Conv", {{"x", {1, 1, 7, 7}}, {"w", {1, 1, 3, 3}}}, 1,
                         attrs({{"auto_pad", std::string("SAME_UPPER")}, {"strides", I{2, 2}}}))) == Shape{1, 1, 4, 4});
  CHECK(out_shape(one_op("Conv", {{"x", {1, 1, 7, 7}}, {"w", {1, 1, 3, 3}}}, 1,
                         attrs({{"auto_pad", std::string("VALID")}, {"strides", I{2, 2}}}))) == Shape{1, 1, 3, 3});
  CHECK(out_shape(one_op("Conv", {{"x", {1, 2, 10}}, {"w", {4, 1, 3}}}, 1,
                         attrs({{"group", std::int64_t{2}}, {"dilations", I{2}}}))) == Shape{1, 4, 6});
  CHECK_THROWS_WITH(one_op("Conv", {{"x", {1, 3, 8, 8}}, {"w", {4, 2, 3, 3}}}), Contains("channels do not match"));
  CHECK_THROWS_WITH(one_op("Conv", {{"x", {1, 1, 2, 2}}, {"w", {1, 1, 3, 3}}}),
                    Contains("larger than the padded input"));
  CHECK_THROWS_WITH(one_op("Conv", {{"x", {1, 1, 8, 8}}, {"w", {1, 1, 3, 3}}}, 1, attrs({{"pads", I{1, 1}}})),
                    Contains("pads has 2 values, expected 4"));
}

TEST_CASE("ConvTranspose: ONNX's strided example", "[graphs][shapes]") {
  CHECK(out_shape(one_op("ConvTranspose", {{"x", {1, 1, 3, 3}}, {"w", {1, 2, 3, 3}}})) == Shape{1, 2, 5, 5});
  CHECK(out_shape(one_op("ConvTranspose", {{"x", {1, 1, 3, 3}}, {"w", {1, 2, 3, 3}}}, 1,
                         attrs({{"strides", I{3, 2}}, {"output_padding", I{1, 1}}}))) == Shape{1, 2, 10, 8});
  CHECK(out_shape(one_op("ConvTranspose", {{"x", {1, 1, 3, 3}}, {"w", {1, 2, 3, 3}}}, 1,
                         attrs({{"output_shape", I{10, 8}}, {"strides", I{3, 2}}}))) == Shape{1, 2, 10, 8});
}

TEST_CASE("Pooling: ceil mode, padding, indices and the global form", "[graphs][shapes]") {
  CHECK(out_shape(one_op("MaxPool", {{"x", {1, 1, 4, 4}}}, 1,
                         attrs({{"kernel_shape", I{3, 3}}, {"strides", I{2, 2}}, {"ceil_mode", std::int64_t{1}}}))) ==
        Shape{1, 1, 2, 2});
  const auto indices =
      one_op("MaxPool", {{"x", {1, 3, 32, 32}}}, 2, attrs({{"kernel_shape", I{2, 2}}, {"strides", I{2, 2}}}));
  CHECK(out_shape(indices, 1) == Shape{1, 3, 16, 16});
  CHECK(indices.tensor(indices.ops()[0].outputs[1]).dtype == graphs::DType::i64);
  CHECK(out_shape(one_op("AveragePool", {{"x", {1, 3, 32, 32}}}, 1,
                         attrs({{"kernel_shape", I{5, 5}}, {"pads", I{2, 2, 2, 2}}}))) == Shape{1, 3, 32, 32});
  CHECK(out_shape(one_op("GlobalAveragePool", {{"x", {2, 8, 5, 7}}})) == Shape{2, 8, 1, 1});
  CHECK_THROWS_WITH(one_op("MaxPool", {{"x", {1, 1, 4, 4}}}), Contains("missing required attribute 'kernel_shape'"));
}

TEST_CASE("Reshape, Flatten, Squeeze, Unsqueeze, Transpose", "[graphs][shapes]") {
  CHECK(out_shape(one_op("Reshape", {{"x", {2, 3, 4}}, ints("s", {0, -1})})) == Shape{2, 12});
  CHECK_THROWS_WITH(one_op("Reshape", {{"x", {2, 3, 4}}, ints("s", {5, -1})}), Contains("cannot reshape [2, 3, 4]"));
  CHECK_THROWS_WITH(one_op("Reshape", {{"x", {2, 3}}, {"s", {2}, graphs::DType::i64}}), Contains("must be a constant"));
  CHECK(out_shape(one_op("Flatten", {{"x", {2, 3, 4}}})) == Shape{2, 12});
  CHECK(out_shape(one_op("Flatten", {{"x", {2, 3, 4}}}, 1, attrs({{"axis", std::int64_t{0}}}))) == Shape{1, 24});
  CHECK(out_shape(one_op("Flatten", {{"x", {2, 3, 4}}}, 1, attrs({{"axis", std::int64_t{3}}}))) == Shape{24, 1});
  CHECK(out_shape(one_op("Flatten", {{"x", {2, 3, 4}}}, 1, attrs({{"axis", std::int64_t{-1}}}))) == Shape{6, 4});
  CHECK(out_shape(one_op("Squeeze", {{"x", {1, 3, 1, 5}}})) == Shape{3, 5});
  CHECK(out_shape(one_op("Squeeze", {{"x", {1, 3, 1, 5}}, ints("a", {-2})})) == Shape{1, 3, 5});
  CHECK_THROWS_WITH(one_op("Squeeze", {{"x", {1, 3}}, ints("a", {1})}), Contains("dimension 1 of [1, 3] is not 1"));
  CHECK(out_shape(one_op("Unsqueeze", {{"x", {3, 4, 5}}, ints("a", {0, 4})})) == Shape{1, 3, 4, 5, 1});
  CHECK(out_shape(one_op("Unsqueeze", {{"x", {3}}}, 1, attrs({{"axes", I{1}}}))) == Shape{3, 1});
  CHECK(out_shape(one_op("Transpose", {{"x", {2, 3, 4}}})) == Shape{4, 3, 2});
  CHECK(out_shape(one_op("Transpose", {{"x", {2, 3, 4}}}, 1, attrs({{"perm", I{0, 2, 1}}}))) == Shape{2, 4, 3});
  CHECK_THROWS_WITH(one_op("Transpose", {{"x", {2, 3}}}, 1, attrs({{"perm", I{0, 0}}})), Contains("not a permutation"));
  const auto view = one_op("Reshape", {{"x", {2, 3, 4}}, ints("s", {24})});
  CHECK(graphs::op_cost(view, 0).bytes_read == 0);  // a view moves no data
}

TEST_CASE("Concat, Split, Slice, Gather, Expand", "[graphs][shapes]") {
  CHECK(out_shape(one_op("Concat", {{"a", {2, 3}}, {"b", {2, 5}}}, 1, attrs({{"axis", std::int64_t{-1}}}))) ==
        Shape{2, 8});
  CHECK_THROWS_WITH(one_op("Concat", {{"a", {2, 3}}, {"b", {3, 5}}}, 1, attrs({{"axis", std::int64_t{1}}})),
                    Contains("does not match [2, 3] outside axis 1"));
  const auto split = one_op("Split", {{"x", {6, 4}}}, 3);
  CHECK(out_shape(split, 2) == Shape{2, 4});
  const auto uneven = one_op("Split", {{"x", {7}}, ints("s", {2, 5})}, 2);
  CHECK(out_shape(uneven, 1) == Shape{5});
  CHECK_THROWS_WITH(one_op("Split", {{"x", {7}}, ints("s", {2, 4})}, 2), Contains("do not add up"));
  // ONNX's negative-step example: x[20:0:-1, 10:0:-3, 4:1:-2] of a [20, 10, 5] tensor.
  CHECK(out_shape(one_op("Slice", {{"x", {20, 10, 5}},
                                   ints("st", {20, 10, 4}),
                                   ints("en", {0, 0, 1}),
                                   ints("ax", {0, 1, 2}),
                                   ints("sp", {-1, -3, -2})})) == Shape{19, 3, 2});
  CHECK(out_shape(one_op("Slice", {{"x", {20, 10, 5}}, ints("st", {0, 0}), ints("en", {3, 10}), ints("ax", {0, 1})})) ==
        Shape{3, 10, 5});
  CHECK(out_shape(one_op("Slice", {{"x", {20, 10}}, ints("st", {1}), ints("en", {1000}), ints("ax", {1})})) ==
        Shape{20, 9});
  CHECK(out_shape(one_op("Gather", {{"x", {5, 4, 3}}, {"i", {2, 6}, graphs::DType::i64}}, 1,
                         attrs({{"axis", std::int64_t{1}}}))) == Shape{5, 2, 6, 3});
  CHECK(out_shape(one_op("Expand", {{"x", {3, 1}}, ints("s", {2, 1, 6})})) == Shape{2, 3, 6});
}

TEST_CASE("Shape, Cast, Softmax, normalizations and reductions", "[graphs][shapes]") {
  const auto shape = one_op("Shape", {{"x", {2, 3, 4}}}, 1, attrs({{"start", std::int64_t{1}}}));
  CHECK(out_shape(shape) == Shape{2});
  CHECK(shape.tensor(shape.ops()[0].outputs[0]).dtype == graphs::DType::i64);
  const auto cast = one_op("Cast", {{"x", {4}}}, 1, attrs({{"to", std::string("bf16")}}));
  CHECK(cast.tensor(cast.ops()[0].outputs[0]).dtype == graphs::DType::bf16);
  CHECK_THROWS_WITH(one_op("Cast", {{"x", {4}}}, 1, attrs({{"to", std::string("float")}})),
                    Contains("'to' is 'float', expected a type name"));
  CHECK(out_shape(one_op("Softmax", {{"x", {2, 10}}})) == Shape{2, 10});
  const auto ln = one_op("LayerNormalization", {{"x", {2, 5, 8}}, {"g", {8}}, {"b", {8}}}, 3);
  CHECK(out_shape(ln, 1) == Shape{2, 5, 1});
  CHECK(out_shape(one_op("BatchNormalization",
                         {{"x", {2, 4, 3, 3}}, {"s", {4}}, {"b", {4}}, {"m", {4}}, {"v", {4}}})) == Shape{2, 4, 3, 3});
  CHECK_THROWS_WITH(one_op("BatchNormalization", {{"x", {2, 4, 3, 3}}, {"s", {3}}, {"b", {4}}, {"m", {4}}, {"v", {4}}}),
                    Contains("'s' must have shape [4]"));
  CHECK(out_shape(one_op("ReduceMean", {{"x", {2, 3, 4}}}, 1, attrs({{"axes", I{1}}}))) == Shape{2, 1, 4});
  CHECK(out_shape(one_op("ReduceSum", {{"x", {2, 3, 4}}, ints("a", {0, 2})}, 1,
                         attrs({{"keepdims", std::int64_t{0}}}))) == Shape{3});
  CHECK(out_shape(one_op("ReduceMax", {{"x", {2, 3, 4}}})) == Shape{1, 1, 1});
}

TEST_CASE("GRU and LSTM: DCRNN-sized shapes and costs", "[graphs][shapes]") {
  const auto gru = one_op("GRU", {{"x", {12, 64, 2}}, {"w", {1, 192, 2}}, {"r", {1, 192, 64}}, {"b", {1, 384}}}, 2,
                          attrs({{"hidden_size", std::int64_t{64}}}));
  CHECK(out_shape(gru, 0) == Shape{12, 1, 64, 64});
  CHECK(out_shape(gru, 1) == Shape{1, 64, 64});
  CHECK(flops(gru) == 12.0 * (2.0 * 64 * 192 * (2 + 64) + 64 * 64 * 28));
  const auto lstm = one_op("LSTM", {{"x", {5, 3, 8}}, {"w", {2, 64, 8}}, {"r", {2, 64, 16}}}, 3,
                           attrs({{"hidden_size", std::int64_t{16}}, {"direction", std::string("bidirectional")}}));
  CHECK(out_shape(lstm, 0) == Shape{5, 2, 3, 16});
  CHECK(out_shape(lstm, 2) == Shape{2, 3, 16});
  CHECK_THROWS_WITH(one_op("GRU", {{"x", {12, 64, 2}}, {"w", {1, 191, 2}}, {"r", {1, 192, 64}}}, 2,
                           attrs({{"hidden_size", std::int64_t{64}}})),
                    Contains("W 'w' must have shape [1, 192, 2]"));
}

TEST_CASE("SpMM: METR-LA diffusion shapes and sparse FLOPs", "[graphs][shapes]") {
  std::vector<double> row_ptr(208);
  for (std::size_t i = 0; i < row_ptr.size(); ++i) row_ptr[i] = static_cast<double>(i * 1722 / 207);
  const auto g = one_op("SpMM",
                        {{"rows", {208}, graphs::DType::i64, row_ptr},
                         {"cols", {1722}, graphs::DType::i64},
                         {"vals", {1722}},
                         {"x", {207, 128}}},
                        1, attrs({{"cols", std::int64_t{207}}}));
  CHECK(out_shape(g) == Shape{207, 128});
  CHECK(flops(g) == 2.0 * 1722 * 128);
  CHECK_THROWS_WITH(one_op("SpMM",
                           {{"rows", {208}, graphs::DType::i64},
                            {"cols", {1722}, graphs::DType::i64},
                            {"vals", {1722}},
                            {"x", {200, 128}}},
                           1, attrs({{"cols", std::int64_t{207}}})),
                    Contains("the sparse matrix has 207 columns but B [200, 128] has 200 rows"));
}

TEST_CASE("every op kind of the issue is registered", "[graphs][registry]") {
  const auto& reg = graphs::OpRegistry::instance();
  for (const char* kind : {"Conv",
                           "ConvTranspose",
                           "MatMul",
                           "Gemm",
                           "Add",
                           "Sub",
                           "Mul",
                           "Div",
                           "Pow",
                           "Sqrt",
                           "Exp",
                           "Log",
                           "Neg",
                           "Abs",
                           "Reciprocal",
                           "Relu",
                           "LeakyRelu",
                           "Sigmoid",
                           "Tanh",
                           "Softplus",
                           "Erf",
                           "Gelu",
                           "Clip",
                           "Softmax",
                           "LogSoftmax",
                           "LayerNormalization",
                           "BatchNormalization",
                           "MaxPool",
                           "AveragePool",
                           "GlobalAveragePool",
                           "Flatten",
                           "Reshape",
                           "Transpose",
                           "Concat",
                           "Split",
                           "Slice",
                           "Gather",
                           "Squeeze",
                           "Unsqueeze",
                           "Expand",
                           "ReduceMean",
                           "ReduceSum",
                           "ReduceMax",
                           "Identity",
                           "Constant",
                           "Shape",
                           "Cast",
                           "Where",
                           "GRU",
                           "LSTM",
                           "SpMM"}) {
    INFO(kind);
    CHECK(reg.find(kind) != nullptr);
  }
}
