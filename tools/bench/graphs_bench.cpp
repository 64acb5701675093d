// Timings of the graph front end: building, shape-inferring and verifying a generated graph of
// 100,000 ops (a chain of residual MLP blocks), and importing an ONNX model.
// Run: build/release/tools/bench/rdasim_bench_graphs
#include <benchmark/benchmark.h>

#include <string>

#include <fmt/format.h>

#include "graphs/export.h"
#include "graphs/graph.h"
#include "graphs/import/onnx_import.h"
#include "graphs/verify.h"

namespace {

using namespace rdasim::graphs;

/// `blocks` residual blocks of MatMul -> Add(bias) -> Relu -> Add(skip): four ops each.
Graph residual_chain(int blocks, std::int64_t width) {
  Graph g("chain");
  auto tensor = [&g](std::string name, Role role, Shape shape) {
    Tensor t;
    t.name = std::move(name);
    t.role = role;
    t.shape = std::move(shape);
    return g.add_tensor(std::move(t));
  };
  auto op = [&g](std::string name, std::string kind, std::vector<TensorId> in, TensorId out) {
    Op o;
    o.name = std::move(name);
    o.kind = std::move(kind);
    o.inputs = std::move(in);
    o.outputs = {out};
    g.add_op(std::move(o));
  };
  TensorId x = tensor("x", Role::input, {32, width});
  for (int b = 0; b < blocks; ++b) {
    auto name = [b](const char* part) { return fmt::format("b{}.{}", b, part); };
    const TensorId w = tensor(name("w"), Role::param, {width, width});
    const TensorId bias = tensor(name("bias"), Role::param, {width});
    const TensorId m = tensor(name("m"), Role::activation, {});
    const TensorId a = tensor(name("a"), Role::activation, {});
    const TensorId r = tensor(name("r"), Role::activation, {});
    const TensorId y = tensor(name("y"), b + 1 == blocks ? Role::output : Role::activation, {});
    op(name("matmul"), "MatMul", {x, w}, m);
    op(name("add_bias"), "Add", {m, bias}, a);
    op(name("relu"), "Relu", {a}, r);
    op(name("skip"), "Add", {r, x}, y);
    x = y;
  }
  return g;
}

void build_and_infer(benchmark::State& state) {
  const int blocks = static_cast<int>(state.range(0)) / 4;
  for (auto _ : state) {
    Graph g = residual_chain(blocks, 64);
    infer_shapes(g);
    benchmark::DoNotOptimize(g);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["ops"] = static_cast<double>(state.range(0));
}

void verify_only(benchmark::State& state) {
  Graph g = residual_chain(static_cast<int>(state.range(0)) / 4, 64);
  infer_shapes(g);
  for (auto _ : state) verify(g);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void costs(benchmark::State& state) {
  Graph g = residual_chain(static_cast<int>(state.range(0)) / 4, 64);
  infer_shapes(g);
  for (auto _ : state) benchmark::DoNotOptimize(totals(g));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void import_onnx(benchmark::State& state) {
  const std::string path = "/usr/include/onnx/backend/test/data/pytorch-converted/test_Conv2d/model.onnx";
  for (auto _ : state) benchmark::DoNotOptimize(load_onnx_model(path));
}

}  // namespace

BENCHMARK(build_and_infer)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(verify_only)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(costs)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(import_onnx)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
