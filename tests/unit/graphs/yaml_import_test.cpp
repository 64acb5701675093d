// The YAML graph format: the committed examples load, dims bind, errors carry file positions.
#include <catch2/catch.hpp>

#include "graphs/export.h"
#include "graphs/import/yaml_import.h"
#include "tests/test_paths.h"

using namespace rdasim;
using Catch::Matchers::Contains;

namespace {
std::string example(const std::string& name) {
  return (test::source_dir() / "configs" / "graphs" / (name + ".yaml")).string();
}
graphs::Graph parse(const std::string& text, const graphs::DimBindings& dims = {}) {
  return graphs::parse_yaml_graph(core::ConfigNode::parse(text, "g.yaml"), dims);
}
const char* k_header = "name: g\ndims: {batch: 2}\ninputs:\n  - {name: x, shape: [batch, 4]}\n";
}  // namespace

TEST_CASE("the MLP example: shapes, params and FLOPs by hand", "[graphs][yaml]") {
  const auto g = graphs::load_yaml_graph(example("mlp"), {{"batch", 64}});
  const auto t = graphs::totals(g);
  CHECK(t.params == 784 * 256 + 256 + 256 * 10 + 10);
  // Two Gemms with bias (2MNK + MN), ReLU (1 per element), Softmax (8 per element).
  const double expected = (2.0 * 64 * 256 * 784 + 64 * 256) + 64 * 256 + (2.0 * 64 * 10 * 256 + 64 * 10) + 8 * 64 * 10;
  CHECK(t.flops == expected);
  CHECK(g.tensor(*g.find_tensor("y")).shape == graphs::Shape{64, 10});
}

TEST_CASE("the EDSR block example: F=64 residual block costs", "[graphs][yaml]") {
  const auto g = graphs::load_yaml_graph(example("conv_block"));
  const auto t = graphs::totals(g);
  CHECK(t.params == 2 * (64 * 64 * 9 + 64));
  const double conv = 111.0 * 111 * 64 * (2.0 * 64 * 9 + 1);
  CHECK(t.flops == 2 * conv + 3 * 111.0 * 111 * 64);
}

TEST_CASE("YAML graph errors point into the file", "[graphs][yaml][errors]") {
  CHECK_THROWS_WITH(
      parse(std::string(k_header) + "ops:\n  - {name: r, op: Rleu, inputs: [x], outputs: [y]}\noutputs: [y]\n"),
      Contains("g.yaml:6:19: ops.0.op: unsupported op kind 'Rleu' (did you mean 'Relu'?)"));
  CHECK_THROWS_WITH(
      parse(std::string(k_header) + "ops:\n  - {name: r, op: Relu, inputs: [z], outputs: [y]}\noutputs: [y]\n"),
      Contains("g.yaml:6:34: ops.0.inputs.0: op 'r' reads 'z', which no input, param, const or op output defines"));
  CHECK_THROWS_WITH(
      parse(std::string(k_header) +
            "ops:\n  - {name: s, op: Softmax, inputs: [x], outputs: [y], attrs: {axes: 1}}\noutputs: [y]\n"),
      Contains("unknown key 'axes' (did you mean 'axis'?)"));
  CHECK_THROWS_WITH(
      parse(std::string(k_header) + "params:\n  - {name: w, shape: [5, 3]}\n"
                                    "ops:\n  - {name: m, op: MatMul, inputs: [x, w], outputs: [y]}\noutputs: [y]\n"),
      Contains("g.yaml:8:5: ops.0: op 'm' (MatMul): inner dimensions differ"));
  CHECK_THROWS_WITH(parse("name: g\ninputs:\n  - {name: x, shape: [btach, 4]}\nops: []\noutputs: []\n"),
                    Contains("'btach' is not a declared dimension"));
  CHECK_THROWS_WITH(parse(std::string(k_header) + "ops: []\noutputs: [x]\n"), Contains("output 'x' is a graph input"));
  CHECK_THROWS_WITH(parse(std::string(k_header) + "ops: []\noutputs: []\n", {{"bacth", 3}}),
                    Contains("the graph has no dimension 'bacth' (did you mean 'batch'?)"));
  CHECK_THROWS_WITH(
      parse(std::string(k_header) + "consts:\n  - {name: c, shape: [2], values: [1, 2, 3]}\nops: []\noutputs: []\n"),
      Contains("expected 2 values for shape [2], found 3"));
}

TEST_CASE("ops may be listed in any order", "[graphs][yaml]") {
  const auto g = parse(
      std::string(k_header) +
      "ops:\n  - {name: b, op: Neg, inputs: [a], outputs: [y]}\n  - {name: a_op, op: Abs, inputs: [x], outputs: [a]}\n"
      "outputs: [y]\n");
  CHECK(g.tensor(*g.find_tensor("y")).shape == graphs::Shape{2, 4});
}
