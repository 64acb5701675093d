// The GPU baseline: a graph executed kernel by kernel as a framework (PyTorch) runs it. Each op,
// or with `fuse` each fused group (what a graph compiler such as torch.compile makes), is a
// kernel whose device time is
//     max(FLOPs / achieved rate, bytes / achieved bandwidth, the shortest kernel)
// where the achieved rate depends on the kernel's class (tensor-core GEMM or convolution, FP32
// vector work, sparse gathers) and, for GEMMs, on how well its output tiles fill the SMs (partial
// tiles and partial waves are paid in full). Every intermediate round-trips device memory. The
// host issues kernels one after another, spending the framework's per-op time on each; the GPU
// runs a kernel once it is issued and the one before has finished, so small kernels leave the
// GPU waiting on the host (launch-bound) and large ones hide the host entirely.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "arch/gpu_spec.h"
#include "core/json.h"
#include "graphs/graph.h"
#include "graphs/op_traits.h"

namespace rdasim::gpu {

enum class Precision { fp32, bf16 };
[[nodiscard]] const char* to_string(Precision precision);

/// The kernel an op launches: its kind's trait (graphs/op_traits.h).
using KernelClass = graphs::GpuKernel;

/// What set a kernel's device time.
enum class Limit { compute, memory, latency };
[[nodiscard]] const char* to_string(Limit limit);

struct Options {
  Precision precision = Precision::bf16;
  bool fuse = false;  ///< fuse element-wise chains into one kernel each (graph compiler)
  /// Work per kernel multiplies by this, kernels do not: M ensemble members batched into one
  /// model (weights stacked along a member dimension) run the kernels of one member, each M times
  /// larger.
  int members = 1;
  /// Kernels launched as one CUDA graph (TensorRT-LLM, vLLM, torch.compile's "reduce-overhead"):
  /// the host issues the graph once, not each kernel, so no kernel waits on the host. The
  /// graph's own launch is the caller's to add (a serving framework's key).
  bool cuda_graph = false;
};

struct Kernel {
  std::string name;  ///< the op, or the first op of a fused group and how many follow
  KernelClass cls = KernelClass::vector;
  int ops = 1;       ///< graph ops in it
  int launches = 1;  ///< device kernels (a convolution's layout transforms count too)
  double flops = 0;
  double bytes = 0;      ///< device-memory traffic
  double compute_s = 0;  ///< at the achieved rate
  double memory_s = 0;   ///< at the achieved bandwidth
  double device_s = 0;   ///< on the GPU
  double host_s = 0;     ///< the host's time to issue it
  Limit limit = Limit::compute;
};

struct Estimate {
  std::vector<Kernel> kernels;
  double seconds = 0;    ///< end to end: host issuing, GPU running
  double device_s = 0;   ///< sum of kernel device times
  double host_s = 0;     ///< sum of host issue times
  double compute_s = 0;  ///< device time of compute-limited kernels
  double memory_s = 0;   ///< device time of memory- or latency-limited kernels
  double switch_s = 0;   ///< device time spent switching between processes (concurrent only)
  double wait_s = 0;     ///< seconds - device_s: the GPU idle, waiting for the host
  double flops = 0;
  double bytes = 0;
  double energy_j = 0;
  int launches = 0;

  /// Adds another estimate run after this one (sequential applications).
  void append(const Estimate& next);
  /// One sentence naming what limits the run, from the figures above.
  [[nodiscard]] std::string verdict() const;
  [[nodiscard]] core::Json to_json(bool with_kernels) const;
};

/// Estimates one run of the graph. Throws core::InputError for a graph whose shapes are not
/// inferred.
[[nodiscard]] Estimate estimate(const graphs::Graph& graph, const arch::GpuSpec& spec, const Options& options);

/// Applications as separate processes sharing one GPU (no MPS): kernels of different processes
/// time-slice and never overlap, but each process's host time overlaps the others' kernels, so
/// the run takes the longer of all device time together (plus a context switch per kernel, as
/// they interleave) and the slowest process alone.
[[nodiscard]] Estimate concurrent(std::span<const Estimate> processes, const arch::GpuSpec& spec);

}  // namespace rdasim::gpu
