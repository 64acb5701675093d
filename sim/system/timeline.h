// The timeline of a sharded graph on a system (DESIGN.md, "Systems, LLMs and serving"): each
// device runs its segments (graphs::schedule) one after another, for the time its simulator
// gave; link ops run on the system's links as the steps of the algorithm a library would pick
// (arch/collective.h), each device starting a step when it has what the step needs from its
// peers, so stragglers, pipeline bubbles and overlap fall out of the schedule. Shared by the
// RDA side (segments mapped and simulated per chip) and the GPU baseline (segments timed by the
// GPU model), so both sides of a comparison wait and communicate alike.
#pragma once

#include <string>
#include <vector>

#include "arch/collective.h"
#include "arch/system.h"
#include "core/json.h"
#include "graphs/graph.h"
#include "graphs/parallel.h"

namespace rdasim::sim {

/// One link op as it ran.
struct LinkRun {
  std::string op;
  arch::Collective collective = arch::Collective::all_reduce;
  arch::CollectiveAlgorithm algorithm = arch::CollectiveAlgorithm::none;
  std::vector<int> devices;
  double bytes = 0;  ///< S of the closed form
  double start_s = 0, end_s = 0;
  double closed_form_s = 0;  ///< what the algorithm's closed form gives for the same S
  int micro_batch = 0;
};

struct DeviceTimes {
  int device = 0;
  double busy_s = 0;           ///< running its segments
  double link_s = 0;           ///< in link ops (their launch included)
  double wait_s = 0;           ///< waiting for other devices: bubbles, stragglers, the end
  double link_bytes_sent = 0;  ///< what its links carried out of it
  double early_s = 0;          ///< of busy_s, done while its link ops or waits were in flight (or they under it)
};

/// When a segment ran.
struct SegmentSpan {
  int segment = 0;
  int device = 0;
  int micro_batch = 0;
  double start_s = 0, end_s = 0;
};

struct Timeline {
  double seconds = 0;
  std::vector<DeviceTimes> devices;
  std::vector<LinkRun> links;
  std::vector<SegmentSpan> spans;
  /// The longest any device spent in link ops.
  [[nodiscard]] double link_s() const;
  [[nodiscard]] core::Json to_json() const;
};

struct TimelineOptions {
  double element_bytes = 2;  ///< bytes per element on the links (bf16: 2)
  double launch_s = 0;       ///< a device's time to launch each link op (a GPU host's kernel launch)
  int micro_batches = 1;     ///< runs of the schedule through the pipeline, back to back
  /// Per segment (empty: none): how much of its time needs none of its inputs (a looped
  /// kernel's next layer streaming its weights in), which it spends as soon as its device's
  /// previous segment is done, while that device's link ops or waits are in flight.
  std::vector<double> early_s;
  /// A collective right after a segment streams with it (a fused kernel reduces tokens as its
  /// producer emits them): it starts with the segment and ends no sooner than one step after it.
  bool streamed_collectives = false;
};

/// Runs `plan` of `sharded` on `system`, segment i taking segment_s[i]. Throws core::InputError
/// when the graph needs more devices than the system has.
[[nodiscard]] Timeline run_timeline(const graphs::Graph& sharded, const graphs::SystemSchedule& plan,
                                    const std::vector<double>& segment_s, const arch::SystemSpec& system,
                                    const TimelineOptions& options);

/// A collective simulated step by step from each rank's start time: a ring step waits for the
/// predecessor's chunk, a direct step for every peer's, a transfer for its sender. Returns each
/// rank's end time. With equal starts every rank ends at start + the closed form.
[[nodiscard]] std::vector<double> simulate_collective(const arch::CollectivePlan& plan,
                                                      const std::vector<double>& start);

/// The number of devices a sharded graph uses (ops and link ops).
[[nodiscard]] int devices_used(const graphs::Graph& sharded);

}  // namespace rdasim::sim
