// arch::GpuSpec: a GPU as the baseline model (sim/gpu) sees it (configs/gpu/*.yaml). Datasheet figures (peak
// rates, memory bandwidth, power) and, named one by one, the assumptions that turn them into
// achieved times: the fraction of peak each kind of kernel reaches, the tile that sets wave
// quantization, the host time a framework spends per kernel. Read once, validated, immutable.
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include "core/config.h"
#include "core/json.h"
#include "core/schema.h"

namespace rdasim::arch {

struct GpuPeaks {
  double fp32_tflops = 0;  ///< non-tensor FP32 (element-wise work, FP32 GEMMs)
  double tf32_tflops = 0;  ///< tensor-core TF32, dense (cuDNN convolutions in fp32 runs)
  double bf16_tflops = 0;  ///< tensor-core BF16/FP16, dense
};

/// Fractions of a peak that a kind of kernel sustains at full occupancy.
struct GpuEfficiency {
  double matmul = 0;     ///< cuBLAS GEMM of any precision, of its peak
  double conv_bf16 = 0;  ///< cuDNN convolution in bf16, of the BF16 peak
  double conv_tf32 = 0;  ///< cuDNN convolution in fp32 (TF32), of the TF32 peak
  double vector = 0;     ///< element-wise and reduction arithmetic, of the FP32 peak
  double memory = 0;     ///< streaming kernels, of the memory bandwidth
  double sparse = 0;     ///< CSR sparse-dense products (irregular gathers), of the memory bandwidth
};

/// How a framework turns ops into kernels (PyTorch's defaults).
struct GpuFramework {
  double op_us = 0;              ///< host time per op in eager mode: Python, dispatch, launch
  double fused_kernel_us = 0;    ///< host time per kernel of a compiled (fused) graph
  double library_kernel_us = 0;  ///< host time per extra kernel a library launches for one op
  int conv_kernels = 1;          ///< kernels per convolution (layout transforms, bias)
  int spmm_kernels = 1;          ///< kernels per CSR sparse-dense product
  bool tf32_convs = true;        ///< fp32 convolutions run on TF32 tensor cores
};

class GpuSpec {
 public:
  static GpuSpec load(const core::ConfigNode& root);
  /// `path` may name a preset instead (core::preset_path): "h100" is <data dir>/gpu/h100.yaml.
  static GpuSpec load_file(const std::filesystem::path& path, std::span<const core::Override> overrides = {});
  static const core::Schema& schema();

  std::string name;         ///< "NVIDIA A100-SXM4-80GB"
  std::string id;           ///< "a100": measured rows are results/gpu/<id>.csv
  std::string source;       ///< the file it came from
  int multiprocessors = 0;  ///< SMs: thread blocks run one wave of this many at a time
  GpuPeaks peak;
  double memory_gbps = 0;  ///< HBM bandwidth, GB/s
  double memory_gib = 0;
  double tdp_w = 0;   ///< board power at full load
  double idle_w = 0;  ///< board power with no kernel running
  GpuEfficiency efficiency;
  int matmul_tile = 64;          ///< output tile edge of a GEMM thread block (wave quantization)
  double split_k_depth = 256;    ///< reduction depth per split when a GEMM has too few tiles
  double min_kernel_us = 0;      ///< the shortest a kernel runs on the device
  double context_switch_us = 0;  ///< per kernel when processes time-slice the GPU (no MPS)
  double sector_bytes = 32;      ///< smallest memory transaction: shorter contiguous runs waste the rest
  GpuFramework framework;

  [[nodiscard]] double memory_bytes_per_s() const { return memory_gbps * 1e9; }
  /// Board energy of a run: idle power throughout, full power while kernels run.
  [[nodiscard]] double energy_j(double seconds, double busy_s) const {
    return idle_w * seconds + (tdp_w - idle_w) * busy_s;
  }
  [[nodiscard]] core::Json to_json() const;
};

}  // namespace rdasim::arch
