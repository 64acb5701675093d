// The GPU baseline on a system of GPUs: a sharded graph (graphs/parallel.h) runs as each GPU's
// segments of kernels, timed by the single-GPU model, and NCCL-style collectives and
// peer-to-peer copies over NVLink/NVSwitch or PCIe, timed by the algorithm a library picks for
// the topology (arch/collective.h: latency plus algorithm bandwidth). A GPU waits at a
// collective for every rank, and at a receive for its sender, so pipeline bubbles fall out of
// the schedule.
#pragma once

#include <string>
#include <vector>

#include "arch/collective.h"
#include "arch/system.h"
#include "core/json.h"
#include "graphs/graph.h"
#include "sim/gpu/model.h"

namespace rdasim::gpu {

/// One link op as it ran.
struct LinkRun {
  std::string op;
  arch::Collective collective = arch::Collective::all_reduce;
  arch::CollectiveAlgorithm algorithm = arch::CollectiveAlgorithm::none;
  std::vector<int> devices;
  double bytes = 0;  ///< S of the closed form
  double start_s = 0, end_s = 0;
  int micro_batch = 0;
};

struct DeviceRun {
  int device = 0;
  double kernel_s = 0;  ///< running its segments (host issue included)
  double link_s = 0;    ///< in collectives and copies
  double wait_s = 0;    ///< waiting for other devices (bubbles, stragglers)
  int launches = 0;
  double flops = 0;
  double energy_j = 0;
};

struct SystemEstimate {
  double seconds = 0;
  std::vector<DeviceRun> devices;
  std::vector<LinkRun> links;
  double link_s = 0;  ///< the longest any device spent in link ops
  double energy_j = 0;
  [[nodiscard]] core::Json to_json() const;
};

/// The collective a link op performs (a receive: the send it completes).
[[nodiscard]] arch::Collective collective_of(graphs::LinkKind link);
/// The S of a link op's closed form, in bytes of `element_bytes` per element.
[[nodiscard]] double link_bytes(const graphs::Graph& graph, graphs::OpId op, double element_bytes);

/// Estimates the sharded graph on `system` (a system of GPUs); `micro_batches` runs of it go
/// through the pipeline one after another, each device starting the next as soon as it is free.
[[nodiscard]] SystemEstimate estimate_system(const graphs::Graph& sharded, const arch::SystemSpec& system,
                                             const Options& options, int micro_batches = 1);

}  // namespace rdasim::gpu
