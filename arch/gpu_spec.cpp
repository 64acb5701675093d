// Reading and validating an arch::GpuSpec. Every key is declared once in the schema below (unit,
// range, meaning), so `rdasim gpu --keys` and the validation cannot disagree.
#include "arch/gpu_spec.h"

#include <fmt/format.h>

#include "core/paths.h"

namespace rdasim::arch {

using core::Bounds;
using core::ConfigNode;
namespace decl = core::decl;

namespace {

core::Schema make_schema() {
  const Bounds positive = Bounds::above(0);
  const Bounds fraction{0, 1, true, false};
  return core::Schema(
      "gpu",
      {
          decl::text("name", "the GPU's product name, used in reports"),
          decl::text("id", "short name; measured times are read from results/gpu/<id>.csv"),
          decl::text("description", "one line about the GPU and where its figures come from", core::Presence::optional),
          decl::integer("multiprocessors", "", "streaming multiprocessors (SMs)", Bounds::between(1, 4096)),
          decl::section("peak", "datasheet peak rates, dense"),
          decl::number("peak.fp32_tflops", "TFLOP/s", "FP32 on the CUDA cores (no tensor cores)", positive),
          decl::number("peak.tf32_tflops", "TFLOP/s", "TF32 on the tensor cores (fp32 convolutions)", positive),
          decl::number("peak.bf16_tflops", "TFLOP/s", "BF16/FP16 on the tensor cores", positive),
          decl::section("memory", "device memory"),
          decl::number("memory.bandwidth_gbps", "GB/s", "peak bandwidth (1e9 bytes per second)", positive),
          decl::number("memory.capacity_gib", "GiB", "capacity", positive),
          decl::section("power", "board power, for energy per sample"),
          decl::number("power.tdp_w", "W", "board power at full load (the datasheet's TDP)", positive),
          decl::number("power.idle_w", "W", "board power while the GPU waits for the host", Bounds::at_least(0)),
          decl::section("efficiency", "assumed fractions of a peak that kernels sustain at full occupancy"),
          decl::number("efficiency.matmul", "", "cuBLAS GEMM, of the peak of its precision", fraction),
          decl::number("efficiency.conv_bf16", "", "cuDNN convolution in bf16, of the BF16 peak", fraction),
          decl::number("efficiency.conv_tf32", "", "cuDNN convolution in fp32 (TF32), of the TF32 peak", fraction),
          decl::number("efficiency.vector", "", "element-wise and reduction arithmetic, of the FP32 peak", fraction),
          decl::number("efficiency.memory", "", "streaming kernels, of the memory bandwidth", fraction),
          decl::number("efficiency.sparse", "", "CSR sparse-dense products, of the memory bandwidth", fraction),
          decl::section("kernel", "what one kernel costs on the device"),
          decl::integer("kernel.matmul_tile", "elements",
                        "output tile edge of one GEMM thread block; "
                        "partial tiles and partial waves of tiles are paid in full",
                        Bounds::between(8, 1024)),
          decl::number("kernel.split_k_depth", "elements",
                       "reduction depth per split when a GEMM has fewer "
                       "tiles than SMs (split-K)",
                       Bounds::at_least(16)),
          decl::number("kernel.min_us", "us", "the shortest a kernel runs on the device", Bounds::at_least(0)),
          decl::number("kernel.context_switch_us", "us",
                       "per kernel when several processes time-slice the GPU "
                       "(no MPS) and their kernels interleave",
                       Bounds::at_least(0)),
          decl::number("kernel.sector_bytes", "B",
                       "smallest device-memory transaction; a kernel writing contiguous "
                       "runs shorter than this (a concatenation along the innermost axis) pays whole sectors",
                       Bounds::between(1, 4096)),
          decl::section("framework", "how the framework (PyTorch) turns ops into kernels"),
          decl::number("framework.op_us", "us", "host time per op in eager mode: Python, dispatch, launch",
                       Bounds::at_least(0)),
          decl::number("framework.fused_kernel_us", "us", "host time per kernel of a compiled graph (--fuse)",
                       Bounds::at_least(0)),
          decl::number("framework.library_kernel_us", "us",
                       "host time per further kernel a library launches "
                       "for one op",
                       Bounds::at_least(0)),
          decl::integer("framework.conv_kernels", "", "kernels per convolution (layout transforms, bias)",
                        Bounds::between(1, 64)),
          decl::integer("framework.spmm_kernels", "", "kernels per CSR sparse-dense product", Bounds::between(1, 64)),
          decl::choice("framework.tf32_convs", "fp32 convolutions use TF32 tensor cores (PyTorch's default)",
                       {"true", "false"}, core::Presence::defaulted, "true"),
      });
}

}  // namespace

const core::Schema& GpuSpec::schema() {
  static const core::Schema schema = make_schema();
  return schema;
}

GpuSpec GpuSpec::load(const ConfigNode& root_node) {
  const core::SectionReader root = schema().root(root_node);
  GpuSpec spec;
  spec.source = root_node.location().file;
  spec.name = root.text("name");
  spec.id = root.text("id");
  spec.multiprocessors = static_cast<int>(root.integer("multiprocessors"));
  const auto peak = root.section("peak");
  spec.peak = {peak.number("fp32_tflops"), peak.number("tf32_tflops"), peak.number("bf16_tflops")};
  const auto memory = root.section("memory");
  spec.memory_gbps = memory.number("bandwidth_gbps");
  spec.memory_gib = memory.number("capacity_gib");
  const auto power = root.section("power");
  spec.tdp_w = power.number("tdp_w");
  spec.idle_w = power.number("idle_w");
  if (spec.idle_w > spec.tdp_w) {
    power.config().at("idle_w").fail(fmt::format(
        "idle power {} W is above the board power {} W; expected idle_w <= tdp_w", spec.idle_w, spec.tdp_w));
  }
  const auto eff = root.section("efficiency");
  spec.efficiency = {eff.number("matmul"), eff.number("conv_bf16"), eff.number("conv_tf32"),
                     eff.number("vector"), eff.number("memory"),    eff.number("sparse")};
  const auto kernel = root.section("kernel");
  spec.matmul_tile = static_cast<int>(kernel.integer("matmul_tile"));
  spec.split_k_depth = kernel.number("split_k_depth");
  spec.min_kernel_us = kernel.number("min_us");
  spec.context_switch_us = kernel.number("context_switch_us");
  spec.sector_bytes = kernel.number("sector_bytes");
  const auto fw = root.section("framework");
  spec.framework.op_us = fw.number("op_us");
  spec.framework.fused_kernel_us = fw.number("fused_kernel_us");
  spec.framework.library_kernel_us = fw.number("library_kernel_us");
  spec.framework.conv_kernels = static_cast<int>(fw.integer("conv_kernels"));
  spec.framework.spmm_kernels = static_cast<int>(fw.integer("spmm_kernels"));
  spec.framework.tf32_convs = fw.choice("tf32_convs") == "true";
  return spec;
}

GpuSpec GpuSpec::load_file(const std::filesystem::path& path, std::span<const core::Override> overrides) {
  return load(ConfigNode::load_file(core::preset_path(path, "gpu", ".yaml", "GPU"), overrides));
}

core::Json GpuSpec::to_json() const {
  return core::Json{
      {"name", name},
      {"id", id},
      {"multiprocessors", multiprocessors},
      {"peak",
       {{"fp32_tflops", peak.fp32_tflops}, {"tf32_tflops", peak.tf32_tflops}, {"bf16_tflops", peak.bf16_tflops}}},
      {"memory", {{"bandwidth_gbps", memory_gbps}, {"capacity_gib", memory_gib}}},
      {"power", {{"tdp_w", tdp_w}, {"idle_w", idle_w}}},
      {"efficiency",
       {{"matmul", efficiency.matmul},
        {"conv_bf16", efficiency.conv_bf16},
        {"conv_tf32", efficiency.conv_tf32},
        {"vector", efficiency.vector},
        {"memory", efficiency.memory},
        {"sparse", efficiency.sparse}}},
      {"kernel",
       {{"matmul_tile", matmul_tile},
        {"split_k_depth", split_k_depth},
        {"min_us", min_kernel_us},
        {"context_switch_us", context_switch_us},
        {"sector_bytes", sector_bytes}}},
      {"framework",
       {{"op_us", framework.op_us},
        {"fused_kernel_us", framework.fused_kernel_us},
        {"library_kernel_us", framework.library_kernel_us},
        {"conv_kernels", framework.conv_kernels},
        {"spmm_kernels", framework.spmm_kernels},
        {"tf32_convs", framework.tf32_convs}}},
  };
}

}  // namespace rdasim::arch
