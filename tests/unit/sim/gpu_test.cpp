// The GPU baseline model's sanity checks (issue: a large GEMM near peak rate, a tiny
// element-wise op at the launch overhead, a memory-bound op at bytes over bandwidth), fusion,
// batched members, concurrent processes, and the shipped specs.
#include <filesystem>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "core/config.h"
#include "core/error.h"
#include "graphs/import/yaml_import.h"
#include "sim/gpu/model.h"
#include "tests/test_paths.h"

using namespace rdasim;

namespace {

const std::string k_gpu_dir = (test::source_dir() / "configs/gpu").string();

arch::GpuSpec spec(const std::string& id = "a100") { return arch::GpuSpec::load_file(k_gpu_dir + "/" + id + ".yaml"); }

graphs::Graph graph(const std::string& yaml) {
  return graphs::parse_yaml_graph(core::ConfigNode::parse(yaml, "test.yaml"));
}

graphs::Graph gemm(int m, int n, int k) {
  return graph(fmt::format(R"(name: gemm
inputs: [{{name: a, shape: [{0}, {2}]}}]
params: [{{name: b, shape: [{2}, {1}]}}]
ops: [{{name: mm, op: MatMul, inputs: [a, b], outputs: [c]}}]
outputs: [c]
)",
                           m, n, k));
}

graphs::Graph elementwise(long elements, int chain) {
  std::string ops;
  std::string prev = "x";
  for (int i = 0; i < chain; ++i) {
    const std::string out = i + 1 == chain ? "y" : fmt::format("t{}", i);
    ops += fmt::format("  - {{name: op{}, op: {}, inputs: [{}, {}], outputs: [{}]}}\n", i, i % 2 ? "Mul" : "Add", prev,
                       "x", out);
    prev = out;
  }
  return graph(fmt::format("name: chain\ninputs: [{{name: x, shape: [{}]}}]\nops:\n{}outputs: [y]\n", elements, ops));
}

}  // namespace

TEST_CASE("gpu: every shipped spec loads and states its peaks", "[gpu]") {
  for (const char* id : {"v100", "a100", "h100", "h200"}) {
    const auto s = spec(id);
    CHECK(s.id == id);
    CHECK(s.peak.bf16_tflops > s.peak.fp32_tflops);
    CHECK(s.memory_gbps > 0);
  }
}

TEST_CASE("gpu: a large GEMM runs near peak rate", "[gpu]") {
  for (const char* id : {"v100", "a100", "h100"}) {
    const auto s = spec(id);
    const auto e = gpu::estimate(gemm(8192, 8192, 8192), s, {gpu::Precision::bf16, false, 1});
    const double flops = 2.0 * 8192.0 * 8192.0 * 8192.0;
    REQUIRE(e.flops == Approx(flops).epsilon(1e-6));
    const double at_peak = flops / (s.peak.bf16_tflops * 1e12);
    const double at_sustained = at_peak / s.efficiency.matmul;
    INFO(id << ": model " << e.seconds << " s, sustained peak " << at_sustained << " s, datasheet peak " << at_peak);
    CHECK(e.seconds >= at_peak);              // never beats the datasheet
    CHECK(e.seconds <= 1.15 * at_sustained);  // within 15% of the named sustained rate
    CHECK(e.kernels.front().limit == gpu::Limit::compute);
    CHECK(e.wait_s == Approx(s.framework.op_us * 1e-6));  // only the first launch is waited for
    CHECK(e.wait_s < 0.02 * e.seconds);
  }
}

TEST_CASE("gpu: a GEMM that leaves SMs idle runs below peak (tiles and waves)", "[gpu]") {
  const auto s = spec("a100");
  const auto big = gpu::estimate(gemm(4096, 4096, 4096), s, {});
  const auto skinny = gpu::estimate(gemm(128, 136, 4096), s, {});  // 2 tiles of 128: a partial one
  const double big_rate = big.flops / big.device_s, skinny_rate = skinny.flops / skinny.device_s;
  CHECK(skinny_rate < 0.5 * big_rate);
}

TEST_CASE("gpu: a tiny element-wise op costs the launch overhead", "[gpu]") {
  const auto s = spec("h100");
  const auto e = gpu::estimate(elementwise(256, 1), s, {});
  REQUIRE(e.kernels.size() == 1);
  const double launch = (s.framework.op_us + s.min_kernel_us) * 1e-6;
  CHECK(e.seconds == Approx(launch).epsilon(1e-9));
  CHECK(e.kernels.front().limit == gpu::Limit::latency);
  CHECK(e.verdict().find("waiting on the host") != std::string::npos);
}

TEST_CASE("gpu: a memory-bound op takes bytes over bandwidth", "[gpu]") {
  const auto s = spec("h100");
  const long n = 1L << 28;  // 256 Mi elements: 512 MiB in bf16, read twice and written once
  const auto e = gpu::estimate(elementwise(n, 1), s, {gpu::Precision::bf16, false, 1});
  const double bytes = 3.0 * n * 2;
  CHECK(e.bytes == Approx(bytes).epsilon(1e-9));
  const double at_bandwidth = bytes / (s.memory_bytes_per_s() * s.efficiency.memory);
  CHECK(e.device_s == Approx(at_bandwidth).epsilon(1e-9));
  CHECK(e.seconds == Approx(at_bandwidth + s.framework.op_us * 1e-6).epsilon(1e-9));
  CHECK(e.kernels.front().limit == gpu::Limit::memory);
  // fp32 moves twice the bytes.
  const auto f = gpu::estimate(elementwise(n, 1), s, {gpu::Precision::fp32, false, 1});
  CHECK(f.bytes == Approx(2 * bytes).epsilon(1e-9));
}

TEST_CASE("gpu: fusing an element-wise chain makes one kernel that reads the input once", "[gpu]") {
  const auto s = spec("a100");
  const long n = 1L << 24;
  const auto eager = gpu::estimate(elementwise(n, 4), s, {gpu::Precision::fp32, false, 1});
  const auto fused = gpu::estimate(elementwise(n, 4), s, {gpu::Precision::fp32, true, 1});
  CHECK(eager.kernels.size() == 4);
  REQUIRE(fused.kernels.size() == 1);
  CHECK(fused.kernels.front().ops == 4);
  CHECK(fused.bytes == Approx(2.0 * n * 4).epsilon(1e-9));  // x in, y out
  CHECK(fused.seconds < eager.seconds);
}

TEST_CASE("gpu: fusion never merges across a library kernel", "[gpu]") {
  // relu(a @ b) + a: the Add needs the GEMM's output, the GEMM needs nothing fused.
  const auto g = graph(R"(name: mixed
inputs: [{name: a, shape: [256, 256]}]
params: [{name: b, shape: [256, 256]}]
ops:
  - {name: pre, op: Relu, inputs: [a], outputs: [p]}
  - {name: mm, op: MatMul, inputs: [p, b], outputs: [c]}
  - {name: act, op: Relu, inputs: [c], outputs: [r]}
  - {name: sum, op: Add, inputs: [r, p], outputs: [y]}
outputs: [y]
)");
  const auto e = gpu::estimate(g, spec(), {gpu::Precision::fp32, true, 1});
  REQUIRE(e.kernels.size() == 3);  // pre | mm | act+sum
  CHECK(e.kernels[0].ops == 1);
  CHECK(e.kernels[1].cls == gpu::KernelClass::matmul);
  CHECK(e.kernels[2].ops == 2);
}

TEST_CASE("gpu: batched members keep the kernels and scale the work", "[gpu]") {
  const auto s = spec("h100");
  const auto one = gpu::estimate(gemm(512, 512, 512), s, {});
  const auto eight = gpu::estimate(gemm(512, 512, 512), s, {gpu::Precision::bf16, false, 8});
  CHECK(eight.kernels.size() == one.kernels.size());
  CHECK(eight.flops == Approx(8 * one.flops));
  CHECK(eight.device_s < 8 * one.device_s);  // more tiles fill more SMs
  CHECK_THROWS_AS(gpu::estimate(gemm(8, 8, 8), s, {gpu::Precision::bf16, false, 0}), core::InputError);
}

TEST_CASE("gpu: concurrent processes share the device, overlap their hosts", "[gpu]") {
  const auto s = spec("h100");
  const auto tiny = gpu::estimate(elementwise(256, 3), s, {});
  const std::vector<gpu::Estimate> four(4, tiny);
  const auto together = gpu::concurrent(four, s);
  const double switching = 4 * 3 * s.context_switch_us * 1e-6;
  CHECK(together.device_s == Approx(4 * tiny.device_s + switching));
  CHECK(together.switch_s == Approx(switching));
  CHECK(together.seconds == Approx(std::max(together.device_s, tiny.seconds)));
  CHECK(together.seconds < 4 * tiny.seconds);  // launch-bound processes overlap
}

TEST_CASE("gpu: spec errors name the key", "[gpu]") {
  const std::string base = k_gpu_dir + "/a100.yaml";
  CHECK_THROWS_WITH(arch::GpuSpec::load_file(base, std::vector{core::Override::parse("efficiency.matmul=1.5")}),
                    Catch::Matchers::Contains("efficiency.matmul"));
  CHECK_THROWS_WITH(arch::GpuSpec::load_file(base, std::vector{core::Override::parse("power.idle_w=900")}),
                    Catch::Matchers::Contains("idle_w"));
}

TEST_CASE("gpu: interleaving concatenation pays whole memory sectors", "[gpu]") {
  auto concat = [](int axis) {
    return graph(fmt::format(R"(name: stack
inputs: [{{name: a, shape: [1048576, 1]}}, {{name: b, shape: [1048576, 1]}}]
ops: [{{name: cat, op: Concat, inputs: [a, b], outputs: [y], attrs: {{axis: {}}}}}]
outputs: [y]
)",
                             axis));
  };
  const auto s = spec("h100");
  const auto outer = gpu::estimate(concat(0), s, {gpu::Precision::fp32, false, 1});
  const auto inner = gpu::estimate(concat(1), s, {gpu::Precision::fp32, false, 1});
  const double moved = 2.0 * 2 * 1048576 * 4;  // read both, write the result
  CHECK(outer.bytes == Approx(moved));
  // Along the innermost axis each input is written as 4-byte runs: 8x the sectors.
  CHECK(inner.bytes == Approx(moved + 2 * 1048576 * 4 * (s.sector_bytes / 4 - 1)));
}
