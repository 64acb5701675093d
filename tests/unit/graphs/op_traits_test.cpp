// Op traits (graphs/op_traits.h): every kind declares them, a kind without them is rejected, the
// GEMM views multiply out to the kinds' FLOPs, and nothing outside graphs/ classifies an op by
// its kind's name.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "graph_test_util.h"
#include "graphs/op_registry.h"
#include "tests/test_paths.h"

using namespace rdasim;
using graphs::Engine;
using graphs::GpuKernel;
using test::attrs;
using test::ints;
using test::one_op;

namespace {

graphs::OpDef minimal_def(std::string kind) {
  graphs::OpDef def;
  def.kind = std::move(kind);
  def.infer = [](const graphs::OpContext& ctx) {
    return std::vector<graphs::TensorInfo>{{ctx.in_shape(0), ctx.in_dtype(0)}};
  };
  def.flops = [](const graphs::OpContext&) { return 0.0; };
  return def;
}

/// What op 0's output streamed along `out_axis` needs of input `slot`.
graphs::StreamNeed need(const graphs::Graph& g, std::size_t slot, std::size_t out_axis) {
  const auto& op = g.ops()[0];
  return graphs::op_traits(g, 0).stream(graphs::OpContext(g, op), slot, out_axis);
}

/// 2 x batch x m x n x k of op 0's GEMM view.
double gemm_flops(const graphs::Graph& g) {
  const auto v = graphs::gemm_view(g, 0);
  return 2.0 * static_cast<double>(v.batch * v.m * v.n * v.k);
}

}  // namespace

TEST_CASE("every registered op kind declares its traits", "[graphs][traits]") {
  const auto& registry = graphs::OpRegistry::instance();
  for (const auto& kind : registry.kinds()) {
    INFO(kind);
    const graphs::OpDef* def = registry.find(kind);
    REQUIRE(def->traits.has_value());
    if (def->traits->engine == Engine::matrix) CHECK(def->traits->gemm);
    // A view moves no data, so no unit and no GPU kernel run it.
    if (def->is_view) {
      CHECK(def->traits->engine == Engine::none);
      CHECK(def->traits->gpu == GpuKernel::none);
    }
  }
  CHECK(registry.traits("NoSuchKind") == nullptr);
}

TEST_CASE("a kind registered without traits is rejected", "[graphs][traits]") {
  graphs::OpRegistry registry;
  CHECK_THROWS_AS(registry.add(minimal_def("Untraited")), core::InternalError);
  CHECK(registry.find("Untraited") == nullptr);

  auto matrix = minimal_def("GemmWithoutView");
  matrix.traits = graphs::elementwise_traits();
  matrix.traits->engine = Engine::matrix;
  CHECK_THROWS_WITH(registry.add(matrix),
                    Catch::Matchers::Contains("matrix op kind without a GEMM view: GemmWithoutView"));

  auto unstreamed = minimal_def("Unstreamed");
  unstreamed.traits = graphs::OpTraits{};  // no stream rule
  CHECK_THROWS_WITH(registry.add(unstreamed), Catch::Matchers::Contains("op kind without a stream rule"));

  auto fine = minimal_def("Traited");
  fine.traits = graphs::elementwise_traits();
  registry.add(fine);
  CHECK(registry.traits("Traited")->engine == Engine::vector);
}

TEST_CASE("GEMM views multiply out to the matrix kinds' FLOPs", "[graphs][traits]") {
  const auto matmul = one_op("MatMul", {{"a", {4, 3, 8}}, {"b", {8, 5}}});
  CHECK(graphs::gemm_view(matmul, 0).batch == 4);
  CHECK(graphs::gemm_view(matmul, 0).n == 5);
  CHECK(graphs::gemm_view(matmul, 0).k == 8);
  CHECK(gemm_flops(matmul) == graphs::op_cost(matmul, 0).flops);

  const auto gemm = one_op("Gemm", {{"a", {8, 6}}, {"b", {8, 7}}}, 1, attrs({{"transA", std::int64_t{1}}}));
  CHECK(graphs::gemm_view(gemm, 0).m == 6);
  CHECK(graphs::gemm_view(gemm, 0).k == 8);
  CHECK(gemm_flops(gemm) == graphs::op_cost(gemm, 0).flops);

  // A grouped convolution is one GEMM per group: M/group channels, depth C/group x kernel.
  const auto conv = one_op("Conv", {{"x", {2, 8, 10, 10}}, {"w", {12, 2, 3, 3}}}, 1,
                           attrs({{"group", std::int64_t{4}}, {"pads", std::vector<std::int64_t>{1, 1, 1, 1}}}));
  const auto cv = graphs::gemm_view(conv, 0);
  CHECK(cv.batch == 4);
  CHECK(cv.m == 200);
  CHECK(cv.n == 3);
  CHECK(cv.k == 18);
  CHECK(gemm_flops(conv) == graphs::op_cost(conv, 0).flops);

  const auto dw = one_op("ConvWeightGrad", {{"x", {2, 8, 10, 10}}, {"dy", {2, 12, 8, 8}}}, 1,
                         attrs({{"kernel_shape", std::vector<std::int64_t>{3, 3}}}));
  CHECK(graphs::gemm_view(dw, 0).n == 8 * 9);
  CHECK(graphs::gemm_view(dw, 0).k == 2 * 64);
  CHECK(gemm_flops(dw) == graphs::op_cost(dw, 0).flops);
}

TEST_CASE("traits that depend on the op's shapes and slots", "[graphs][traits]") {
  // PyTorch returns x[t] as a view: no kernel; a gather of many indices launches one.
  CHECK(graphs::gpu_kernel(one_op("Gather", {{"x", {5, 4}}, ints("i", {2})}), 0) == GpuKernel::none);
  CHECK(graphs::gpu_kernel(one_op("Gather", {{"x", {5, 4}}, ints("i", {2, 3})}), 0) == GpuKernel::vector);
  const auto* bn = graphs::OpRegistry::instance().traits("BatchNormalization");
  CHECK(bn->param_use(1) == graphs::ParamUse::norm_scale);
  CHECK(bn->param_use(4) == graphs::ParamUse::running_variance);
  CHECK(bn->param_use(9) == graphs::ParamUse::by_rank);
  CHECK(graphs::engine_from_string("memory") == Engine::memory);
  CHECK_FALSE(graphs::engine_from_string("systolic").has_value());
}

TEST_CASE("stream rules: what an output token needs of each input along the streamed axis", "[graphs][traits]") {
  using graphs::Dependency;
  const auto is = [](graphs::StreamNeed n, Dependency d, int axis, std::int64_t halo = 0) {
    INFO(graphs::to_string(n.dependency) << " axis " << n.axis << " halo " << n.halo);
    CHECK(n.dependency == d);
    if (d != Dependency::all) CHECK(n.axis == axis);
    CHECK(n.halo == halo);
  };
  // Element-wise, with broadcasting aligned from the right; an input broadcast along the
  // streamed axis is needed whole.
  const auto add = one_op("Add", {{"a", {8, 4}}, {"b", {4}}});
  is(need(add, 0, 0), Dependency::same, 0);
  is(need(add, 1, 0), Dependency::all, -1);
  is(need(add, 1, 1), Dependency::same, 0);
  // Softmax: each row whole when rows stream, everything when the axis it normalizes streams.
  const auto softmax = one_op("Softmax", {{"x", {8, 4}}}, 1, attrs({{"axis", std::int64_t{1}}}));
  is(need(softmax, 0, 0), Dependency::slice, 0);
  is(need(softmax, 0, 1), Dependency::all, -1);
  // A reduction without keepdims: the kept axis streams, the reduced one is a barrier.
  const auto sum =
      one_op("ReduceSum", {{"x", {8, 4, 2}}, ints("axes", {1})}, 1, attrs({{"keepdims", std::int64_t{0}}}));
  is(need(sum, 0, 0), Dependency::slice, 0);
  is(need(sum, 0, 1), Dependency::slice, 2);
  // Transpose: the output's axis 0 is the input's axis 1.
  const auto transpose = one_op("Transpose", {{"x", {8, 4}}}, 1, attrs({{"perm", std::vector<std::int64_t>{1, 0}}}));
  is(need(transpose, 0, 0), Dependency::same, 1);
  // MatMul: rows of the result need their rows of A whole and all of B.
  const auto matmul = one_op("MatMul", {{"a", {8, 4}}, {"b", {4, 3}}});
  is(need(matmul, 0, 0), Dependency::slice, 0);
  is(need(matmul, 1, 0), Dependency::all, -1);
  is(need(matmul, 1, 1), Dependency::slice, 1);
  // Convolution over [N, C, H, W]: images stream one by one, each whole; rows with a halo of (k-1)d - p
  // rows; channels mix, so they cannot stream.
  const auto conv = [](std::int64_t k, std::int64_t pad, std::int64_t stride) {
    return one_op("Conv", {{"x", {2, 3, 16, 16}}, {"w", {4, 3, k, k}}}, 1,
                  attrs({{"pads", std::vector<std::int64_t>{pad, pad, pad, pad}},
                         {"strides", std::vector<std::int64_t>{stride, stride}}}));
  };
  is(need(conv(3, 1, 1), 0, 0), Dependency::slice, 0);
  is(need(conv(3, 1, 1), 0, 2), Dependency::window, 2, 1);
  is(need(conv(3, 1, 2), 0, 2), Dependency::window, 2, 1);
  is(need(conv(5, 0, 1), 0, 3), Dependency::window, 3, 4);
  is(need(conv(1, 0, 1), 0, 2), Dependency::same, 2);
  is(need(conv(3, 1, 1), 0, 1), Dependency::all, -1);
  is(need(conv(3, 1, 1), 1, 2), Dependency::all, -1);  // the weights, whole
  // A recurrence over its sequence needs what came before: a prefix; batch rows are independent.
  const auto lstm = one_op("LSTM", {{"x", {5, 2, 3}}, {"w", {1, 16, 3}}, {"r", {1, 16, 4}}}, 1,
                           attrs({{"hidden_size", std::int64_t{4}}}));
  is(need(lstm, 0, 0), Dependency::prefix, 0);
  is(need(lstm, 0, 2), Dependency::slice, 1);
  is(need(lstm, 1, 0), Dependency::all, -1);
  CHECK(graphs::dependency_from_string("prefix") == Dependency::prefix);
  CHECK_FALSE(graphs::dependency_from_string("some").has_value());
}

// The layers above graphs/ ask the traits; an op kind spelt out as a string there is a fact kept
// in two places that nothing checks (graphs::kind names the few a model must name).
TEST_CASE("no op kind is named as a string literal in mapper/ or sim/", "[graphs][traits]") {
  namespace fs = std::filesystem;
  const auto kinds = graphs::OpRegistry::instance().kinds();
  std::vector<std::string> hits;
  std::size_t files = 0;
  for (const char* folder : {"mapper", "sim"}) {
    for (const auto& entry : fs::recursive_directory_iterator(test::source_dir() / folder)) {
      const auto ext = entry.path().extension();
      if (ext != ".cpp" && ext != ".h") continue;
      ++files;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      for (const auto& kind : kinds) {
        if (text.str().find('"' + kind + '"') != std::string::npos) {
          hits.push_back(fs::relative(entry.path(), test::source_dir()).string() + ": \"" + kind + "\"");
        }
      }
    }
  }
  CHECK(files > 20);  // the folders were found
  for (const auto& hit : hits) FAIL_CHECK(hit);
}

// The README's counts are the code's: a kind or a golden model added without updating it fails.
TEST_CASE("the README's op-kind and golden-model counts match the tree", "[graphs][docs]") {
  namespace fs = std::filesystem;
  std::ifstream in(test::source_dir() / "README.md");
  std::stringstream text;
  text << in.rdbuf();
  const auto kinds = graphs::OpRegistry::instance().kinds().size();
  CHECK_THAT(text.str(), Catch::Matchers::Contains(fmt::format("each of {} op kinds", kinds)));
  std::size_t golden = 0;
  for (const auto& entry : fs::directory_iterator(test::source_dir() / "workloads/models/golden")) {
    if (entry.is_directory()) ++golden;
  }
  CHECK_THAT(text.str(), Catch::Matchers::Contains(fmt::format("{} small PyTorch models", golden)));
}
