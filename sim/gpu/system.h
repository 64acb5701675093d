// The GPU baseline on a system of GPUs: a sharded graph (graphs/parallel.h) runs as each GPU's
// segments of kernels, timed by the single-GPU model, with NCCL-style collectives and
// peer-to-peer copies over NVLink/NVSwitch or PCIe on the system timeline (sim/system), which
// the RDA side shares: latency plus algorithm bandwidth, each collective launched by the GPU's
// host like any kernel.
#pragma once

#include <vector>

#include "arch/system.h"
#include "core/json.h"
#include "graphs/graph.h"
#include "sim/gpu/model.h"
#include "sim/system/timeline.h"

namespace rdasim::gpu {

struct SystemEstimate {
  sim::Timeline timeline;
  std::vector<Estimate> segments;  ///< one per segment of graphs::schedule, in its order
  double seconds = 0;
  double flops = 0;
  int launches = 0;
  double energy_j = 0;  ///< every board: idle throughout, full power while busy or in a collective
  [[nodiscard]] core::Json to_json() const;
};

/// Estimates the sharded graph on `system` (a system of GPUs); `micro_batches` runs of it go
/// through the pipeline one after another. Throws core::InputError when the graph needs more
/// GPUs than the system has.
[[nodiscard]] SystemEstimate estimate_system(const graphs::Graph& sharded, const arch::SystemSpec& system,
                                             const Options& options, int micro_batches = 1);

}  // namespace rdasim::gpu
