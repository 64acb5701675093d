// Off-chip traffic of a placed section, unit by unit: which units receive the tensors read from
// DRAM (inputs, results of earlier sections, weights) and which write the tensors that leave
// the section. The simulator replays these streams; their bytes are exactly the section's
// dram_read_bytes and dram_write_bytes.
#pragma once

#include <vector>

#include "arch/spec.h"
#include "core/json_fields.h"
#include "graphs/graph.h"
#include "mapper/lower.h"
#include "mapper/sections.h"

namespace rdasim::mapper {

/// What an application keeps in the off-chip tier while it runs (DESIGN.md §Modelling): its
/// weights (params, constants, optimizer state), its inputs (a KV cache among them) and its
/// outputs; a cache written in place counts once, as the input it updates. Tensors between
/// sections come and go and are not counted.
struct Footprint {
  double weights = 0;
  double inputs = 0;
  double outputs = 0;
  [[nodiscard]] double total() const { return weights + inputs + outputs; }
  bool operator==(const Footprint&) const = default;

  static constexpr auto json_fields() {
    using core::field;
    using T = Footprint;
    return std::tuple{field("weights", &T::weights), field("inputs", &T::inputs), field("outputs", &T::outputs)};
  }
};

[[nodiscard]] Footprint footprint(const graphs::Graph& graph, double bytes_per_element);

/// Throws Infeasible when the applications' footprints together outgrow the memory tier the
/// mapper streams from (dram_tier: HBM on a chip that has it; DDR then holds models at rest),
/// naming the tier, what they need and what it holds, with one reason per application.
void check_capacity(const std::vector<graphs::Graph>& apps, const arch::Spec& spec);

/// Bytes between DRAM and one unit of a section.
struct DramStream {
  int unit = -1;  ///< fabric unit id; -1: no unit holds it (a view's shape input), moved by the sequencer
  double bytes = 0;
  bool write = false;    ///< to DRAM (else from it)
  bool preload = false;  ///< resident weights, loaded before the section starts streaming
  /// A read its unit needs all of before its first result (all), or token by token (same).
  graphs::Dependency dependency = graphs::Dependency::same;

  static constexpr auto json_fields() {
    using core::field;
    using T = DramStream;
    return std::tuple{field("unit", &T::unit), field("bytes", &T::bytes), field("write", &T::write),
                      field("preload", &T::preload), core::optional_field("dependency", &T::dependency)};
  }
};

/// The DRAM streams of `section` once placed: `units` holds, per SectionOp, its PCUs then its
/// PMUs. A tensor read by several units is read once, its bytes shared among them; weights go
/// to the op's weight PMUs, activations to its PCUs (memory-engine ops: their PMUs); tensors
/// leaving the section are written from their producer's output PMUs. Views pass through.
/// Tensors held whole that outgrow their producer's PMUs (Section::edges' spill) are written
/// from those PMUs and read back by their readers; a unit whose op needs a DRAM input whole
/// reads it with Dependency::all.
[[nodiscard]] std::vector<DramStream> dram_streams(const graphs::Graph& graph, const std::vector<OpDemand>& demands,
                                                   const Section& section, const std::vector<std::vector<int>>& units,
                                                   double bytes_per_element);

}  // namespace rdasim::mapper
