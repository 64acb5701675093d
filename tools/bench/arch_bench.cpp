// Timings of the fabric front end that every sweep point pays: loading and validating a spec,
// building its fabric, deriving the summary. Run from the repository root (it reads
// configs/arch/): build/release/tools/bench/rdasim_bench_arch
#include <benchmark/benchmark.h>

#include <string>

#include "arch/fabric.h"
#include "arch/summary.h"
#include "tools/bench/bench_paths.h"

namespace {

std::string preset_path(const std::string& name) { return rdasim::tools::bench_arch_preset(name).string(); }

void load_spec(benchmark::State& state, const std::string& name) {
  const std::string path = preset_path(name);  // looked up once, outside the timed loop
  for (auto _ : state) benchmark::DoNotOptimize(rdasim::arch::Spec::load_file(path));
}

void build_fabric(benchmark::State& state, const std::string& name) {
  const auto spec = rdasim::arch::Spec::load_file(preset_path(name));
  for (auto _ : state) benchmark::DoNotOptimize(rdasim::arch::Fabric(spec));
  state.counters["units"] = static_cast<double>(rdasim::arch::Fabric(spec).units().size());
}

void summarize(benchmark::State& state, const std::string& name) {
  const rdasim::arch::Fabric fabric(rdasim::arch::Spec::load_file(preset_path(name)));
  for (auto _ : state) benchmark::DoNotOptimize(rdasim::arch::summarize(fabric));
}

}  // namespace

BENCHMARK_CAPTURE(load_spec, plasticine, std::string("plasticine"));
BENCHMARK_CAPTURE(load_spec, sn40l, std::string("sn40l"));
BENCHMARK_CAPTURE(build_fabric, plasticine, std::string("plasticine"));
BENCHMARK_CAPTURE(build_fabric, sn10, std::string("sn10"));
BENCHMARK_CAPTURE(build_fabric, sn40l, std::string("sn40l"));
BENCHMARK_CAPTURE(summarize, sn40l, std::string("sn40l"));

BENCHMARK_MAIN();
