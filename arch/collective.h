// Collectives on a system's links: the algorithm a communication library picks for the
// topology and the message, written as its steps (what each device sends per step), and the
// closed form of its time (alpha-beta: a start-up latency per step plus bytes over bandwidth).
// The GPU model and the mapper's analytic time use the closed form; the cycle simulator moves
// the same steps over its link channels and is tested against it.
#pragma once

#include <cstdint>
#include <string>

#include "arch/system.h"

namespace rdasim::arch {

enum class Collective {
  all_reduce,      ///< every rank ends with the sum of all ranks' buffers (S bytes each)
  all_gather,      ///< every rank ends with the concatenation of all ranks' parts (S bytes in all)
  reduce_scatter,  ///< every rank ends with its part of the sum (S bytes in, S/n out)
  send,            ///< one rank's S bytes to another (a pipeline stage's activations)
};

[[nodiscard]] const char* to_string(Collective collective);

enum class CollectiveAlgorithm {
  none,      ///< a group of one: nothing moves
  ring,      ///< n-1 steps per phase around a ring, each device sending S/n per step
  direct,    ///< one step per phase: each device sends S/n to every peer at once (two-shot)
  one_shot,  ///< all-reduce in one step: each device sends its whole buffer to every peer
  point_to_point,
};

[[nodiscard]] const char* to_string(CollectiveAlgorithm algorithm);

/// One collective as executed: its algorithm as steps, and the closed form of its time.
struct CollectivePlan {
  Collective collective = Collective::all_reduce;
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::none;
  int ranks = 1;
  double bytes = 0;  ///< S: the buffer of one rank (all-gather: the gathered buffer)
  int steps = 0;     ///< sequential steps; each costs one latency
  /// Bytes one device sends in one step (to all its destinations of that step together).
  double step_bytes_per_device = 0;
  /// Destinations of one device in one step (ring: 1; direct and one-shot: n - 1).
  int step_peers = 0;
  /// Bandwidth one device's step shares, one direction, bytes per second.
  double device_bytes_per_s = 0;
  double latency_s = 0;  ///< alpha: start-up of one step
  double seconds = 0;    ///< steps x (alpha + step bytes / bandwidth)
  /// Bytes each device puts on its links in the whole collective.
  [[nodiscard]] double bytes_sent_per_device() const { return steps * step_bytes_per_device; }
};

/// The algorithm a library would pick for `collective` of `bytes` over `ranks` devices of
/// `system` (ranks <= system.devices), and its time. Ring topology: a bidirectional ring (two
/// rings in opposite directions, each carrying half, as NCCL runs them). Full mesh and switch:
/// the faster of one-shot and two-shot direct exchanges for an all-reduce, as TensorRT-LLM's
/// custom all-reduce picks them on NVSwitch, and of a ring for large messages when it is faster.
[[nodiscard]] CollectivePlan plan_collective(const SystemSpec& system, Collective collective, double bytes, int ranks);

}  // namespace rdasim::arch
