// Models on a system of RDAs (DESIGN.md, "Systems, LLMs and serving"): the graph sharded for
// the system (graphs/parallel.h) or its applications spread over the sockets, each socket's
// segments mapped onto its chip and timed (the mapper's analytic time, or the SystemC model in
// a worker per segment), and the sockets and their links on the system timeline (sim/system),
// which the GPU side shares.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "arch/fabric.h"
#include "arch/system.h"
#include "core/json.h"
#include "graphs/parallel.h"
#include "mapper/mapping.h"
#include "sim/cycle/dataflow.h"
#include "sim/gpu/model.h"
#include "sim/system/timeline.h"
#include "tools/pipeline/models.h"
#include "workloads/workload.h"

namespace rdasim::tools {

/// A system's device count and the split over it, as a command line gives them.
struct SystemSplit {
  std::optional<int> devices;       ///< replaces the system's count
  graphs::Parallelism parallelism;  ///< all 1: applications spread, or one data parallel on all
  int micro_batches = 1;            ///< through a pipeline
};

struct SystemRunOptions {
  /// tp x pp x dp devices; all 1 (no split given): several applications are spread over the
  /// sockets, a single one runs data parallel on all of them.
  graphs::Parallelism parallelism;
  int micro_batches = 1;
  std::string mode = "o1";
  std::uint64_t seed = 1;
  bool simulate = false;        ///< each segment on the SystemC model (else the analytic time)
  int jobs = 1;                 ///< simulations of distinct segments at once, each in a worker process
  sim::TokenOptions tokens;     ///< how finely the simulator cuts each section's streams
  bool reuse_identical = true;  ///< a segment identical to one already mapped takes its result
  /// Kernel looping (SN40L; Koeplinger et al., "Kernel Looping", arXiv 2410.23668): a model's
  /// repeated layer runs as the iterations of one kernel whose configuration stays loaded, so a
  /// one-section segment alike to one its socket ran earlier pays no reconfiguration, when the
  /// socket's distinct one-section segments (the loop body) fit the chip's units together; as a
  /// pipelined loop, an iteration streams its weights in while the link ops before it run; and
  /// as one fused kernel per decoder layer (SambaNova, DAC 2025: "entire decoder blocks ... fused
  /// into a single kernel call"), its collectives stream with the segments that feed them.
  bool looped_layers = false;
  double element_bytes = 2;  ///< on the links (the fabric's precision)
};

/// A workload laid out on a system: one application sharded (graphs/parallel.h) and its
/// schedule, or several spread over the devices. Both sides of a comparison take the same.
struct SystemWork {
  std::string workload;
  std::string layout;  ///< "sharded" or "spread"
  int devices = 1;     ///< used
  graphs::Parallelism parallelism;
  int micro_batches = 1;
  std::optional<graphs::ShardedGraph> sharded;  ///< of one micro-batch
  graphs::SystemSchedule plan;
  std::vector<std::vector<graphs::Graph>> spread;  ///< per device, its applications
};

/// The FLOPs of a graph: its ops' costs summed.
[[nodiscard]] double graph_flops(const graphs::Graph& g);

/// Lays the workload out: the split given, or with none several applications spread (the
/// longest first onto the least loaded device) and one data parallel over every device.
/// `rebatch` gives the workload's batch and rebuilds it at another (data-parallel replicas and
/// micro-batches of a graph whose batch is baked into its shapes); none: the graph's `batch`
/// dimension.
/// Throws core::InputError for a split the graph cannot take or more devices than the system has.
[[nodiscard]] SystemWork prepare_system_work(const workloads::Workload& workload, const arch::SystemSpec& system,
                                             const SystemRunOptions& options, const Rebatch& rebatch);

/// One segment as its device ran it.
struct SegmentRun {
  int device = 0;
  std::string name;
  std::vector<std::string> apps;  ///< the applications it holds (spread applications)
  /// Its layout, shared with the segments alike to it (an alike segment's tenants keep the first
  /// one's names; `apps` names its own): a model's 80 alike layers hold one copy, not 80. Null
  /// on GPUs.
  std::shared_ptr<const mapper::Mapping> mapping;
  /// The layout with this segment's own application names (for files a person reads).
  [[nodiscard]] mapper::Mapping named_mapping() const;
  double seconds = 0;
  double flops = 0;
  double dram_bytes = 0;
  double energy_j = 0;    ///< simulated runs only
  bool reused = false;    ///< took the result of an identical segment
  double reconfig_s = 0;  ///< of `seconds`, reconfiguring the chip for its sections
  bool looped = false;    ///< an iteration of a looped kernel: its reconfiguration not paid
  /// A looped iteration's weights streaming in from off-chip memory, which needs none of its
  /// inputs: done while the socket's link ops before it are in flight (sim/system/timeline.h).
  double early_s = 0;
  std::size_t structure = 0;  ///< a hash of what makes segments alike (ops, attributes, shapes)
  int pcus = 0, pmus = 0;     ///< the most units any of its sections uses
};

struct SystemRun {
  std::string workload;  ///< the applications' names
  std::string system;    ///< the system's name
  std::string device;    ///< the fabric's name
  int devices = 1;       ///< sockets used
  graphs::Parallelism parallelism;
  int micro_batches = 1;
  std::string layout;  ///< "sharded" or "spread"
  std::vector<SegmentRun> segments;
  sim::Timeline timeline;
  double clock_hz = 0;  ///< an RDA's clock (cycles = seconds x clock); 0 for GPUs
  double flops = 0;
  double energy_j = 0;  ///< GPUs: every board; RDAs: simulated segments' energy
  [[nodiscard]] core::Json to_json() const;
};

/// Runs a workload's applications on `system` (a system of RDAs), laid out by
/// prepare_system_work. Throws what it throws, and mapper::Infeasible when a segment does not
/// fit its chip.
[[nodiscard]] SystemRun run_on_system(const workloads::Workload& workload, const arch::SystemSpec& system,
                                      const SystemRunOptions& options, const Rebatch& rebatch = {});

/// run_on_system of a workload laid out already.
[[nodiscard]] SystemRun run_work_on_system(const SystemWork& work, const arch::SystemSpec& system,
                                           const SystemRunOptions& options);

/// The GPU baseline of the same layout on a system of GPUs: each segment (or each GPU's
/// applications, one after another) timed by the GPU model, link ops on the same timeline.
[[nodiscard]] SystemRun estimate_on_gpu_system(const workloads::Workload& workload, const arch::SystemSpec& system,
                                               const SystemRunOptions& options, const gpu::Options& gpu_options,
                                               const Rebatch& rebatch);

/// The reconfiguration kernel looping saved the socket that saved most (0 without looping).
[[nodiscard]] double looped_saving_s(const SystemRun& run);

/// The placement report of every segment, socket by socket, with the collectives and the bytes
/// each socket's links carried.
[[nodiscard]] std::string system_report_text(const SystemRun& run);

/// A Chrome trace (Perfetto) with a track per socket: its segments, link ops and waits.
[[nodiscard]] core::Json system_trace(const SystemRun& run);

}  // namespace rdasim::tools
