// Time to map each science workload at its published size onto SN40L and SN10 (lowering,
// sectioning with METIS against the greedy fill, placement by bisection and annealing,
// negotiated routing): a sweep pays this per point. Issue 5 asks for under 10 s per workload
// and under 60 s for the 64-application gp-dcrnn.
// Run from the repository root (it reads configs/arch/): build/release/tools/bench/rdasim_bench_mapper
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "arch/fabric.h"
#include "graphs/transforms.h"
#include "mapper/mapping.h"
#include "tools/bench/bench_paths.h"
#include "workloads/workload.h"

namespace {

using Given = std::map<std::string, std::string, std::less<>>;

void map(benchmark::State& state, const std::string& preset, const std::string& name, const Given& params) {
  const rdasim::arch::Fabric fabric(rdasim::arch::Spec::load_file(rdasim::tools::bench_arch_preset(preset)));
  auto w = rdasim::workloads::build(name, params);
  for (auto& app : w.apps) app = rdasim::graphs::expand_recurrent(app);
  std::size_t sections = 0;
  for (auto _ : state) {
    const auto m = rdasim::mapper::map_applications(w.apps, fabric, {});
    sections = 0;
    for (const auto& t : m.tenants) sections += t.sections.size();
    benchmark::DoNotOptimize(m);
  }
  state.counters["sections"] = static_cast<double>(sections);
  state.counters["tenants"] = static_cast<double>(w.apps.size());
}

}  // namespace

int main(int argc, char** argv) {
  // Published sizes (WORKLOADS.md); the slow multi-tenant points run once.
  struct Point {
    const char* label;
    const char* workload;
    Given params;
    bool slow;
  };
  const std::vector<Point> points{{"lensing", "lensing", {}, false},
                                  {"lensing_edsr_b4", "lensing", {{"stage", "denoise"}, {"batch", "4"}}, false},
                                  {"inversion", "inversion", {}, false},
                                  {"dcrnn", "dcrnn", {}, false},
                                  {"ensemble_5", "ensemble", {{"members", "5"}}, true},
                                  {"ensemble_32", "ensemble", {{"members", "32"}}, true},
                                  {"gp_dcrnn_64", "gp-dcrnn", {}, true}};
  for (const std::string arch : {"sn10", "sn40l"}) {
    for (const auto& p : points) {
      auto* b =
          benchmark::RegisterBenchmark((arch + "/" + p.label).c_str(), map, arch, std::string(p.workload), p.params);
      if (p.slow) b->Unit(benchmark::kSecond)->Iterations(1);
      else b->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
