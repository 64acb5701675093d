// Running a mapping on the SystemC model of its fabric. Every tenant runs its sections in order
// (reconfigure, then stream tokens through the placed units, weights filling their PMUs as the
// pipeline starts) while the others run theirs; they share only the memory tier and the AGCUs.
// With several tenants each is also simulated alone, on a chip of its own in a forked worker
// beside the main run, for its slowdown.
//
// SystemC elaborates once per process: simulate_here() runs in the calling process and only
// once; simulate() runs in a forked worker and may be called any number of times.
#pragma once

#include <cstddef>
#include <functional>

#include "arch/fabric.h"
#include "core/json.h"
#include "mapper/mapping.h"
#include "sim/cycle/dataflow.h"
#include "sim/cycle/report.h"

namespace rdasim::sim {

struct SimOptions {
  TokenOptions tokens;
  bool alone = true;   ///< with several tenants, also simulate each alone
  bool trace = false;  ///< build the Chrome trace (trace.json)
  /// A tenant alone on its chip starts every section on idle hardware, so a section alike to
  /// one it ran (the same units, streams and traffic: a model's repeated layers) takes as long
  /// and does the same work: it is replayed from the first one's record instead of simulated.
  bool replay = true;
  /// A tenant alone on its chip: its distinct sections are simulated in this many forked
  /// workers side by side (each starts on idle hardware, so they do not interact) and replayed
  /// in order. Results agree with one worker's to rounding. Several tenants: each is simulated
  /// alone (for its slowdown) in jobs - 1 workers (at least one) beside the run of them all.
  int jobs = 1;
  /// Called as sections finish with (done, total), for progress on long runs (not in workers).
  std::function<void(std::size_t, std::size_t)> progress;
};

struct SimResult {
  Report report;
  core::Json trace;  ///< Chrome trace format; null unless SimOptions::trace
};

/// Simulates in this process. Throws core::InputError when the mapping does not fit the fabric
/// (mapper::check) or is not placed, and core::InternalError when called a second time in one
/// process.
[[nodiscard]] SimResult simulate_here(const mapper::Mapping& mapping, const arch::Fabric& fabric,
                                      const SimOptions& options);

/// Simulates in a forked worker process and returns its result; errors come back as the same
/// exception types with the same messages, a crashed worker as core::InternalError. The calling
/// process must not have run simulate_here() (the worker inherits its kernel).
[[nodiscard]] SimResult simulate(const mapper::Mapping& mapping, const arch::Fabric& fabric, const SimOptions& options);

}  // namespace rdasim::sim
