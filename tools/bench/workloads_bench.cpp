// Time to build each science workload at its published size (shapes inferred and verified):
// what a design-space sweep pays per point before mapping.
// Run: build/release/tools/bench/rdasim_bench_workloads
#include <benchmark/benchmark.h>

#include <map>
#include <string>

#include "workloads/workload.h"

namespace {

using Given = std::map<std::string, std::string, std::less<>>;

void build(benchmark::State& state, const std::string& name, const Given& params) {
  std::size_t ops = 0;
  for (auto _ : state) {
    auto w = rdasim::workloads::build(name, params);
    ops = 0;
    for (const auto& app : w.apps) ops += app.ops().size();
    benchmark::DoNotOptimize(w);
  }
  state.counters["ops"] = static_cast<double>(ops);
}

}  // namespace

BENCHMARK_CAPTURE(build, lensing_full, std::string("lensing"), Given{})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(build, inversion, std::string("inversion"), Given{})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(build, dcrnn_sparse, std::string("dcrnn"), Given{})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(build, dcrnn_dense, std::string("dcrnn"), Given{{"diffusion", "dense"}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(build, gp_dcrnn_64, std::string("gp-dcrnn"), Given{})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(build, ensemble_dcrnn_5, std::string("ensemble"), Given{})->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
