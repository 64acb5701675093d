// Throughput of the functional reference: its fp32 MatMul (the registry's kernel, through the
// executor with its buffers) against Eigen's own GEMM on the same sizes; the bf16 run (operands
// and results rounded to bf16); and a 3x3 convolution (im2col + GEMM) as in EDSR.
// Run: build/release/tools/bench/rdasim_bench_functional
#include <benchmark/benchmark.h>

#include <cmath>

#include <Eigen/Core>

#include "graphs/graph.h"
#include "graphs/verify.h"
#include "sim/functional/executor.h"

namespace {

using namespace rdasim;
using sim::functional::Precision;

graphs::TensorId input(graphs::Graph& g, const std::string& name, graphs::Shape shape,
                       graphs::Role role = graphs::Role::input) {
  graphs::Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.role = role;
  return g.add_tensor(std::move(t));
}

graphs::Graph one_op(const std::string& kind, std::vector<std::pair<std::string, graphs::Shape>> inputs,
                     graphs::Attrs attrs = {}) {
  graphs::Graph g("bench");
  graphs::Op op;
  op.kind = kind;
  op.attrs = std::move(attrs);
  for (auto& [name, shape] : inputs) op.inputs.push_back(input(g, name, shape));
  const graphs::TensorId y = input(g, "y", {}, graphs::Role::activation);
  op.outputs.push_back(y);
  g.add_op(std::move(op));
  g.mark_output(y);
  graphs::infer_shapes(g);
  return g;
}

graphs::Array<double> filled(const graphs::Shape& shape) {
  graphs::Array<double> a(shape);
  for (std::size_t i = 0; i < a.size(); ++i) a.data[i] = std::sin(0.1 * static_cast<double>(i));
  return a;
}

void set_flops(benchmark::State& state, double flops) {
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

void reference_matmul(benchmark::State& state, Precision precision) {
  const auto n = state.range(0);
  const graphs::Graph g = one_op("MatMul", {{"a", {n, n}}, {"b", {n, n}}});
  const sim::functional::Values inputs{{"a", filled({n, n})}, {"b", filled({n, n})}};
  for (auto _ : state) benchmark::DoNotOptimize(sim::functional::run(g, inputs, {precision, 1, {}}));
  set_flops(state, 2.0 * static_cast<double>(n * n * n));
}

void BM_ReferenceMatMulFp32(benchmark::State& state) { reference_matmul(state, Precision::fp32); }
void BM_ReferenceMatMulBf16(benchmark::State& state) { reference_matmul(state, Precision::bf16); }
void BM_ReferenceMatMulFp64(benchmark::State& state) { reference_matmul(state, Precision::fp64); }

void BM_EigenGemmFp32(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n);
  const Eigen::MatrixXf b = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * static_cast<double>(n * n * n));
}

void BM_ReferenceConv3x3Fp32(benchmark::State& state) {
  const auto c = state.range(0);
  const std::int64_t size = 56;
  graphs::Attrs attrs;
  attrs.values["pads"] = std::vector<std::int64_t>{1, 1, 1, 1};
  const graphs::Graph g = one_op("Conv", {{"x", {1, c, size, size}}, {"w", {c, c, 3, 3}}}, attrs);
  const sim::functional::Values inputs{{"x", filled({1, c, size, size})}, {"w", filled({c, c, 3, 3})}};
  for (auto _ : state) benchmark::DoNotOptimize(sim::functional::run(g, inputs, {Precision::fp32, 1, {}}));
  set_flops(state, 2.0 * static_cast<double>(c * c * 9 * size * size));
}

}  // namespace

BENCHMARK(BM_EigenGemmFp32)->RangeMultiplier(2)->Range(64, 1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReferenceMatMulFp32)->RangeMultiplier(2)->Range(64, 1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReferenceMatMulBf16)->RangeMultiplier(2)->Range(64, 1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReferenceMatMulFp64)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReferenceConv3x3Fp32)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
