// The algorithms of arch/collective.h and their closed forms.
#include "arch/collective.h"

#include <fmt/format.h>

#include "core/error.h"

namespace rdasim::arch {

const char* to_string(Collective collective) {
  switch (collective) {
    case Collective::all_reduce: return "all_reduce";
    case Collective::all_gather: return "all_gather";
    case Collective::reduce_scatter: return "reduce_scatter";
    case Collective::send: return "send";
  }
  return "?";
}

const char* to_string(CollectiveAlgorithm algorithm) {
  switch (algorithm) {
    case CollectiveAlgorithm::none: return "none";
    case CollectiveAlgorithm::ring: return "ring";
    case CollectiveAlgorithm::direct: return "direct";
    case CollectiveAlgorithm::one_shot: return "one_shot";
    case CollectiveAlgorithm::point_to_point: return "point_to_point";
  }
  return "?";
}

namespace {

/// A plan of `steps` equal steps, each device sending `step_bytes` to `peers` peers over
/// `bandwidth` bytes per second.
CollectivePlan steps_plan(const CollectivePlan& base, CollectiveAlgorithm algorithm, int steps, double step_bytes,
                          int peers, double bandwidth) {
  CollectivePlan plan = base;
  plan.algorithm = algorithm;
  plan.steps = steps;
  plan.step_bytes_per_device = step_bytes;
  plan.step_peers = peers;
  plan.device_bytes_per_s = bandwidth;
  plan.seconds = steps * (plan.latency_s + step_bytes / bandwidth);
  return plan;
}

/// Phases of a collective: an all-reduce is a reduce-scatter and an all-gather.
int phases(Collective collective) { return collective == Collective::all_reduce ? 2 : 1; }

}  // namespace

CollectivePlan plan_collective(const SystemSpec& system, Collective collective, double bytes, int ranks) {
  RDASIM_ASSERT(ranks >= 1 && ranks <= system.devices,
                fmt::format("a collective over {} ranks on a system of {} devices", ranks, system.devices));
  RDASIM_ASSERT(bytes >= 0, fmt::format("a collective of {} bytes", bytes));
  CollectivePlan base;
  base.collective = collective;
  base.ranks = ranks;
  base.bytes = bytes;
  base.latency_s = system.latency_s();
  if (ranks == 1 || bytes == 0) return base;

  const int n = ranks;
  const Topology topology = system.interconnect.topology;
  const double pair = system.pair_bytes_per_s();
  if (collective == Collective::send) {
    return steps_plan(base, CollectiveAlgorithm::point_to_point, 1, bytes, 1, pair);
  }
  // A ring runs both directions at once (two rings, each half the data) where a device has two
  // neighbours, so each step's S/n leaves over both: the device's links to its neighbours.
  const double ring_bandwidth = topology == Topology::switched ? system.device_bytes_per_s() : n == 2 ? pair : 2 * pair;
  const CollectivePlan ring =
      steps_plan(base, CollectiveAlgorithm::ring, phases(collective) * (n - 1), bytes / n, 1, ring_bandwidth);
  if (topology == Topology::ring) return ring;

  // Full mesh: each peer over its own links; switch: all peers share the device's links.
  const double direct_bandwidth = topology == Topology::full_mesh ? (n - 1) * pair : system.device_bytes_per_s();
  const double per_peer = bytes / n;
  const CollectivePlan direct =
      steps_plan(base, CollectiveAlgorithm::direct, phases(collective), (n - 1) * per_peer, n - 1, direct_bandwidth);
  CollectivePlan best = direct.seconds <= ring.seconds ? direct : ring;
  if (collective == Collective::all_reduce) {
    const CollectivePlan one_shot =
        steps_plan(base, CollectiveAlgorithm::one_shot, 1, (n - 1) * bytes, n - 1, direct_bandwidth);
    if (one_shot.seconds < best.seconds) best = one_shot;
  }
  return best;
}

}  // namespace rdasim::arch
