// The GPU baseline on systems (sim/gpu/system.h): collectives take their closed form, tensor
// parallel all-reduces the row-parallel products, pipelines overlap micro-batches and leave the
// bubbles the schedule gives.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "arch/system.h"
#include "graphs/editor.h"
#include "graphs/parallel.h"
#include "graphs/verify.h"
#include "sim/gpu/system.h"
#include "tests/test_paths.h"
#include "workloads/workload.h"

namespace rdasim::gpu {
namespace {

arch::SystemSpec dgx(const std::string& name, int devices) {
  return arch::SystemSpec::load_file(test::source_dir() / "configs/systems" / (name + ".yaml"), {}, devices);
}

/// One all-reduce of `bytes` (bf16) over n ranks and nothing else.
graphs::Graph all_reduce_graph(int n, double bytes) {
  graphs::Graph g("allreduce");
  graphs::GraphEditor e(g);
  std::vector<graphs::TensorId> ins;
  std::vector<std::int64_t> devices;
  for (int r = 0; r < n; ++r) {
    ins.push_back(e.source(fmt::format("x{}", r), {static_cast<std::int64_t>(bytes / 2)}, graphs::Role::input));
    devices.push_back(r);
  }
  const auto outs = e.op_n("AllReduce", "sum", ins, ins.size(), graphs::make_attrs({{"devices", devices}}));
  for (const auto t : outs) g.mark_output(t);
  graphs::verify(g);
  return g;
}

TEST_CASE("GPU collectives take the closed form over NVLink and NVSwitch", "[sim][gpu][system]") {
  for (const char* name : {"dgx-a100", "dgx-h100"}) {
    for (const int n : {2, 4, 8}) {
      const auto system = dgx(name, n);
      const double b = system.device_bytes_per_s(), alpha = system.latency_s();
      for (const double bytes : {4096.0, 1048576.0, 67108864.0, 1073741824.0}) {
        INFO(name << ", n " << n << ", " << bytes << " B");
        const auto run = estimate_system(all_reduce_graph(n, bytes), system, {});
        REQUIRE(run.timeline.links.size() == 1);
        // The faster of one-shot and two-shot through the switch (configs/systems/README.md).
        const double closed = std::min(alpha + (n - 1) * bytes / b, 2 * (alpha + (n - 1.0) / n * bytes / b));
        const auto& link = run.timeline.links.front();
        CHECK(link.end_s - link.start_s == Approx(closed).epsilon(0.05));
        // The run adds the host's launch of the collective's kernel.
        CHECK(run.seconds == Approx(closed + system.gpu->framework.op_us * 1e-6).epsilon(0.05));
        CHECK(link.closed_form_s == Approx(closed).epsilon(0.05));
      }
    }
  }
}

graphs::Graph inversion(int batch) {
  return workloads::build("inversion", {{"batch", std::to_string(batch)}}).apps.front();
}

TEST_CASE("tensor parallel on GPUs all-reduces each row-parallel product", "[sim][gpu][system]") {
  const auto g = inversion(4096);  // large enough that the products, not the launches, take the time
  const auto one = estimate(g, *dgx("dgx-a100", 1).gpu, {});
  const auto system = dgx("dgx-a100", 4);
  const auto sharded = graphs::shard(g, {4, 1, 1});
  const auto run = estimate_system(sharded.graph, system, {});
  REQUIRE(run.timeline.devices.size() == 4);
  const auto& links = run.timeline.links;
  const auto reduces = std::count_if(links.begin(), links.end(),
                                     [](const auto& l) { return l.collective == arch::Collective::all_reduce; });
  CHECK(reduces >= 1);
  CHECK(run.flops < 4 * one.flops);  // the ranks share the products' work
  for (const auto& d : run.timeline.devices) CHECK(d.busy_s < one.seconds);
  CHECK(run.seconds > 0);
  CHECK(run.energy_j > 0);
}

TEST_CASE("a GPU pipeline overlaps micro-batches, with the bubble the schedule gives", "[sim][gpu][system]") {
  const auto micro = graphs::shard(inversion(16), {1, 2, 1});
  const auto system = dgx("dgx-h100", 2);
  const auto one = estimate_system(micro.graph, system, {}, 1);
  const int m = 8;
  const auto many = estimate_system(micro.graph, system, {}, m);
  // GPipe: (m - 1) micro-batches at the pace of the slowest stage, plus one through all stages.
  double slowest = 0, all = 0;
  for (const auto& d : one.timeline.devices) {
    slowest = std::max(slowest, d.busy_s + d.link_s);
    all += d.busy_s + d.link_s;
  }
  CHECK(many.seconds == Approx((m - 1) * slowest + all).epsilon(0.05));
  CHECK(many.seconds < m * one.seconds);  // the stages overlap
  // The first stage idles while the last drains, and the last while the first fills.
  for (const auto& d : many.timeline.devices) CHECK(d.wait_s > 0);
}

TEST_CASE("a sharded graph larger than the system is refused", "[sim][gpu][system]") {
  CHECK_THROWS_WITH(estimate_system(all_reduce_graph(4, 4096), dgx("dgx-h100", 2), {}),
                    Catch::Contains("runs on 4 devices; the system 'NVIDIA DGX H100' has 2"));
}

}  // namespace
}  // namespace rdasim::gpu
