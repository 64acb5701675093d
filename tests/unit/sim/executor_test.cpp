// The functional reference: precisions, the seeded initializer, inputs, and the comparison
// rdasim check applies.
#include <cmath>
#include <filesystem>

#include <catch2/catch.hpp>

#include "../graphs/graph_test_util.h"
#include "core/error.h"
#include "graphs/import/yaml_import.h"
#include "sim/functional/check.h"
#include "sim/functional/executor.h"
#include "tests/test_paths.h"

using namespace rdasim;
using namespace rdasim::sim::functional;
using Catch::Matchers::Contains;

namespace {

const std::filesystem::path k_source = test::source_dir();

graphs::Array<double> array(graphs::Shape shape, std::vector<double> data) {
  graphs::Array<double> a;
  a.shape = std::move(shape);
  a.data = std::move(data);
  return a;
}

double max_difference(const graphs::Array<double>& a, const graphs::Array<double>& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a.data[i] - b.data[i]));
  return d;
}

}  // namespace

TEST_CASE("bf16 runs round operands to bf16 but accumulate in fp32", "[sim][functional]") {
  // [1, 2^-8 x 256] . ones = 2 exactly. Every term is a bf16 value; a bf16 accumulator would
  // stay at 1 (1 + 2^-8 ties to even at bf16's spacing of 2^-7 near 1), fp32 reaches 2.
  const graphs::Graph g = test::one_op("MatMul", {{"a", {1, 257}}, {"b", {257, 1}}});
  std::vector<double> a(257, 0x1p-8);
  a[0] = 1.0;
  const Values inputs{{"a", array({1, 257}, a)}, {"b", array({257, 1}, std::vector<double>(257, 1.0))}};
  CHECK(run(g, inputs, {Precision::bf16, 1, {}}).at("out0").data[0] == 2.0);
  // Operands are rounded: 1 + 2^-9 becomes 1 in bf16, so 1.001953125 x 1 gives 1.
  const graphs::Graph mul = test::one_op("Mul", {{"x", {1}}, {"y", {1}}});
  const Values operands{{"x", array({1}, {1.0 + 0x1p-9})}, {"y", array({1}, {1.0})}};
  CHECK(run(mul, operands, {Precision::bf16, 1, {}}).at("out0").data[0] == 1.0);
  CHECK(run(mul, operands, {Precision::fp32, 1, {}}).at("out0").data[0] == 1.0 + 0x1p-9);
}

TEST_CASE("fp32 and bf16 runs differ from fp64 by what their precision allows", "[sim][functional]") {
  const graphs::Graph g = graphs::load_yaml_graph(k_source / "configs/graphs/mlp.yaml", {{"batch", 4}});
  graphs::Array<double> x({4, 784});
  for (std::size_t i = 0; i < x.size(); ++i) x.data[i] = std::sin(0.37 * static_cast<double>(i));
  const Values inputs{{"x", x}};
  const auto exact = run(g, inputs, {Precision::fp64, 7, {}}).at("y");
  const auto fp32 = run(g, inputs, {Precision::fp32, 7, {}}).at("y");
  const auto bf16 = run(g, inputs, {Precision::bf16, 7, {}}).at("y");
  REQUIRE(exact.shape == graphs::Shape{4, 10});
  double sum = 0;
  for (std::size_t i = 0; i < 10; ++i) sum += exact.data[i];
  CHECK(sum == Approx(1.0).epsilon(1e-12));  // softmax rows
  CHECK(max_difference(exact, fp32) < 1e-6);
  CHECK(max_difference(exact, bf16) > 1e-5);
  CHECK(max_difference(exact, bf16) < 2e-2);
  CHECK(compare(bf16, exact, default_tolerance(Precision::bf16)).mismatched == 0);
}

TEST_CASE("params without values come from a seeded initializer", "[sim][functional]") {
  const graphs::Graph g = graphs::load_yaml_graph(k_source / "configs/graphs/mlp.yaml", {{"batch", 1}});
  const graphs::TensorId w1 = *g.find_tensor("w1");
  const auto a = initial_values(g, w1, 1);
  const auto b = initial_values(g, w1, 1);
  const auto c = initial_values(g, w1, 2);
  CHECK(a.data == b.data);
  CHECK(a.data != c.data);
  const double bound = 1.0 / std::sqrt(256.0);  // fan-in of a [784, 256] weight as PyTorch counts it
  double lo = 0, hi = 0;
  for (double v : a.data) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo >= -bound);
  CHECK(hi < bound);
  CHECK(lo < -0.9 * bound);  // 200,704 draws fill the range
  CHECK(hi > 0.9 * bound);

  // Batch-norm variances stay positive so that sqrt(var + eps) is defined.
  const graphs::Graph bn = test::one_op("BatchNormalization",
                                        {{"x", {2, 3, 4}}, {"scale", {3}}, {"bias", {3}}, {"mean", {3}}, {"var", {3}}});
  graphs::Graph with_params = bn;
  with_params.tensor(*with_params.find_tensor("var")).role = graphs::Role::param;
  for (double v : initial_values(with_params, *with_params.find_tensor("var"), 3).data) CHECK(v >= 0.5);
}

TEST_CASE("a run names the input it lacks or cannot use", "[sim][functional][errors]") {
  const graphs::Graph g = test::one_op("Relu", {{"x", {2, 3}}});
  CHECK_THROWS_WITH(run(g, {}), Contains("no values for input 'x' [2, 3]"));
  CHECK_THROWS_WITH(run(g, {{"x", array({3, 2}, std::vector<double>(6, 0))}}),
                    Contains("input 'x' has shape [3, 2], the model expects [2, 3]"));
  const graphs::Graph gather = test::one_op("Gather", {{"data", {3}}, {"idx", {1}, graphs::DType::i64}});
  CHECK_THROWS_WITH(run(gather, {{"data", array({3}, {1, 2, 3})}, {"idx", array({1}, {-4})}}),
                    Contains("op 'op' (Gather): index -4 is out of range for dimension 0 of size 3"));
}

TEST_CASE("compare judges each element against the output's scale", "[sim][check]") {
  const auto expected = array({4}, {100.0, 1.0, -0.001, 0.0});
  auto got = expected;
  got.data[2] += 0.005;  // 5e-5 of the scale (100), though 5x the element itself
  auto s = compare(got, expected, 1e-4);
  CHECK(s.mismatched == 0);
  CHECK(s.max_abs == Approx(0.005));
  CHECK(s.max_rel == Approx(5e-5));
  CHECK(s.worst == 2);
  got.data[0] = 100.1;
  s = compare(got, expected, 1e-4);
  CHECK(s.mismatched == 1);
  CHECK(s.max_rel == Approx(1e-3));

  const auto special = array({3}, {std::nan(""), HUGE_VAL, 1.0});
  CHECK(compare(special, special, 1e-4).mismatched == 0);
  auto swapped = special;
  swapped.data[1] = -HUGE_VAL;
  CHECK(compare(swapped, special, 1e-4).mismatched == 1);
  swapped.data[0] = 0.0;
  CHECK(compare(swapped, special, 1e-4).mismatched == 2);
}

TEST_CASE("check_model runs a YAML graph on ONNX-layout test data", "[sim][check]") {
  const auto model = k_source / "workloads/models/golden/spmm/model.yaml";
  const auto report = check_model(model, model.parent_path(), {});
  REQUIRE(report.data_sets.size() == 1);
  CHECK(report.passed());
  CHECK(report.tolerance == 1e-4);
  CHECK(report.data_sets[0].outputs.at(0).error.max_rel < 1e-5);

  CHECK_THROWS_WITH(find_data_sets(k_source / "configs"),
                    Contains("holds no test data: expected input_K.pb/output_K.pb files or test_data_set_N folders"));
  CHECK_THROWS_WITH(find_data_sets(model), Contains("expected a folder of test data"));
}
