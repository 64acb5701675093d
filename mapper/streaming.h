// Streaming within a section (DESIGN.md §Modelling): a section's tensors flow through its
// pipeline in tokens that cut each tensor along its streamed axis, the outermost axis with more
// than one element in the layout the fabric holds it in (row-major; images channels-last, so
// images stream by rows, image after image). What an op's output tokens need of each input is its
// kind's stream rule (graphs::OpTraits::stream): the same tokens, a window of slices, a prefix,
// or all of it. An op that needs all of an in-section input is a barrier: it starts once its
// producer has finished, the input held whole in the producer's output PMUs or, where it does
// not fit, through DRAM. The section's analytic time is the critical path through these
// dependencies: the slowest stage between barriers plus each barrier's full pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arch/spec.h"
#include "graphs/graph.h"
#include "graphs/op_traits.h"
#include "mapper/layout.h"
#include "mapper/lower.h"

namespace rdasim::mapper {

struct Section;

/// Where tokens cut a tensor.
struct StreamAxis {
  int axis = -1;            ///< -1: a single element, or every axis of extent 1
  std::int64_t slices = 1;  ///< the axis's extent, times the batch where images stream by rows
};

/// Per tensor of the graph: whether the fabric holds it channels-last ([N, C, H, W] as N, H, W,
/// C). Images read or written by kinds with the channels_last trait, and the tensors of the
/// same rank joined to them through element-wise ops (activations, residual adds).
[[nodiscard]] std::vector<bool> channels_last_tensors(const graphs::Graph& graph);

/// The streamed axis of a tensor of `shape` held as `channels_last` says: the outermost axis
/// with more than one element, except that channels-last images stream by rows (the first
/// spatial axis with more than one element), image after image: a convolution then needs a
/// halo of rows, where streaming whole images would hold each layer back by one image.
[[nodiscard]] StreamAxis streamed_axis(const graphs::Shape& shape, bool channels_last);

/// One input of an op of a section that holds units: where it comes from and what it needs.
struct SectionEdge {
  std::size_t consumer = 0;             ///< index into Section::ops
  graphs::TensorId tensor = -1;         ///< as the consumer reads it (a view's output, perhaps)
  std::optional<std::size_t> producer;  ///< the section op whose units hold it; none: from DRAM
  graphs::TensorId source = -1;         ///< the tensor its producer writes (`tensor` is a view of it)
  TokenNeed need;
  double bytes = 0;
  double spill_bytes = 0;  ///< buffered and larger than the producer's output PMUs: through DRAM
};

/// A section's streaming, as plan_sections works it out once its ops have their units.
struct SectionStreaming {
  std::vector<SectionEdge> edges;
  int barriers = 0;            ///< in-section inputs needed whole
  int depth = 0;               ///< the most barriers on one path through the section
  double critical_cycles = 0;  ///< the critical path through stages and barriers
  std::string streamed;        ///< the streamed axis of the section's largest tensor, for reports
};

/// The streaming of `section` (its ops' PCUs and PMUs dealt out): edges, what each op waits
/// for, spills, and the critical path. `dram_per_cycle` times an op's wait for an input it
/// needs whole from DRAM.
[[nodiscard]] SectionStreaming stream_section(const graphs::Graph& graph, const std::vector<OpDemand>& demands,
                                              const Section& section, const std::vector<bool>& channels_last,
                                              const arch::Spec& spec, double dram_per_cycle);

}  // namespace rdasim::mapper
