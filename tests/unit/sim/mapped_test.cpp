// The numerics of a mapping (sim/functional/mapped.h): a reduction split into partial products
// is exact in fp64 and within bf16 tolerance in bf16, its partial sums held in fp32; an
// all-reduce summed around a ring with bf16 on the links errs more than one summed directly.
#include <cmath>
#include <random>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "graphs/editor.h"
#include "graphs/verify.h"
#include "sim/functional/executor.h"
#include "sim/functional/mapped.h"

namespace rdasim::sim::functional {
namespace {

using graphs::Array;

Array<double> random_array(graphs::Shape shape, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  Array<double> a(std::move(shape));
  for (auto& v : a.data) v = u(rng);
  return a;
}

double largest_rel(const Array<double>& got, const Array<double>& want) {
  double scale = 0, worst = 0;
  for (const double v : want.data) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(got.data[i] - want.data[i]) / scale);
  return worst;
}

TEST_CASE("a reduction split into partial products sums them in a tree", "[sim][functional][mapped]") {
  // y = x W + b, K = 4096: long enough that bf16 accumulation order shows.
  graphs::Graph g("gemm");
  graphs::GraphEditor e(g);
  const auto x = e.source("x", {4, 4096}, graphs::Role::input);
  const auto w = e.source("w", {4096, 8}, graphs::Role::param, graphs::DType::f32, random_array({4096, 8}, 2).data);
  const auto b = e.source("b", {8}, graphs::Role::param, graphs::DType::f32, random_array({8}, 3).data);
  g.mark_output(e.op("Gemm", "fc", {x, w, b}));
  graphs::verify(g);
  const Values inputs{{"x", random_array({4, 4096}, 1)}};
  RunOptions exact;
  exact.precision = Precision::fp64;
  const auto reference = run(g, inputs, exact).at("fc");
  for (const int ways : {2, 3, 64}) {
    INFO(ways << " ways");
    MappedNumerics numerics;
    numerics.reduction_splits["fc"] = ways;
    const MappedGraph mapped = as_mapped(g, numerics);
    CHECK(mapped.split_ops == 1);
    CHECK(largest_rel(run(mapped.graph, inputs, exact).at("fc"), reference) < 1e-12);
    RunOptions low;
    low.precision = Precision::bf16;
    low.fp32_tensors = mapped.fp32_tensors;
    CHECK(mapped.fp32_tensors.size() >= static_cast<std::size_t>(ways));  // partials and inner sums
    CHECK(largest_rel(run(mapped.graph, inputs, low).at("fc"), reference) < 2e-2);
  }
}

TEST_CASE("an all-reduce sums in its algorithm's order, bf16 on the links", "[sim][functional][mapped]") {
  const int n = 16;
  graphs::Graph g("allreduce");
  graphs::GraphEditor e(g);
  std::vector<graphs::TensorId> ins;
  std::vector<std::int64_t> devices;
  Values inputs;
  for (int r = 0; r < n; ++r) {
    ins.push_back(e.source(fmt::format("x{}", r), {4096}, graphs::Role::input));
    devices.push_back(r);
    inputs.emplace(fmt::format("x{}", r), random_array({4096}, static_cast<std::uint64_t>(10 + r)));
  }
  const auto outs = e.op_n("AllReduce", "sum", ins, ins.size(), graphs::make_attrs({{"devices", devices}}));
  for (const auto t : outs) g.mark_output(t);
  graphs::verify(g);
  RunOptions exact;
  exact.precision = Precision::fp64;
  const auto reference = run(g, inputs, exact).at("sum");
  RunOptions low;
  low.precision = Precision::bf16;
  auto error_of = [&](const std::string& algorithm, bool bf16_links) {
    MappedNumerics numerics;
    numerics.all_reduce_algorithms["sum"] = algorithm;
    numerics.bf16_links = bf16_links;
    const auto mapped = as_mapped(g, numerics);
    return largest_rel(run(mapped.graph, inputs, low).at("sum"), reference);
  };
  const double direct = error_of("direct", true), ring = error_of("ring", true);
  CHECK(direct < 2e-2);
  CHECK(ring < 2e-2);
  CHECK(ring > direct);                             // 15 roundings to bf16 on the way around, against one at the end
  CHECK(error_of("ring", false) <= direct * 1.01);  // fp32 links: only the final rounding
}

}  // namespace
}  // namespace rdasim::sim::functional
