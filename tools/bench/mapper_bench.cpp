// Time to map each science workload at its published size onto SN40L and SN10 (lowering,
// sectioning, placement by annealing, negotiated routing): a sweep pays this per point.
// Run: build/release/tools/bench/rdasim_bench_mapper
#include <benchmark/benchmark.h>

#include <map>
#include <string>

#include "arch/fabric.h"
#include "graphs/transforms.h"
#include "mapper/mapping.h"
#include "workloads/workload.h"

namespace {

using Given = std::map<std::string, std::string, std::less<>>;

void map(benchmark::State& state, const std::string& preset, const std::string& name, const Given& params) {
  const rdasim::arch::Fabric fabric(
      rdasim::arch::Spec::load_file(std::string(RDASIM_SOURCE_DIR) + "/configs/arch/" + preset + ".yaml"));
  auto w = rdasim::workloads::build(name, params);
  for (auto& app : w.apps) app = rdasim::graphs::expand_recurrent(app);
  std::size_t sections = 0;
  for (auto _ : state) {
    const auto m = rdasim::mapper::map_applications(w.apps, fabric, {});
    sections = m.tenants.front().sections.size();
    benchmark::DoNotOptimize(m);
  }
  state.counters["sections"] = static_cast<double>(sections);
}

}  // namespace

BENCHMARK_CAPTURE(map, sn40l_lensing_b4, std::string("sn40l"), std::string("lensing"), Given{{"batch", "4"}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(map, sn40l_inversion, std::string("sn40l"), std::string("inversion"), Given{})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(map, sn40l_dcrnn, std::string("sn40l"), std::string("dcrnn"), Given{})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(map, sn10_lensing_b4, std::string("sn10"), std::string("lensing"), Given{{"batch", "4"}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(map, sn10_dcrnn, std::string("sn10"), std::string("dcrnn"), Given{})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(map, sn10_ensemble_4, std::string("sn10"), std::string("ensemble"), Given{{"members", "4"}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
