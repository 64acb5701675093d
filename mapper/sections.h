// Sectioning (temporal partitioning): the graph cut into sections executed one after another,
// each resident on the fabric at once with its ops pipelined; tensors crossing a section
// boundary go through off-chip memory and every section costs a reconfiguration. Within a
// section PCUs are dealt out so that the slowest stage is as fast as possible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "arch/spec.h"
#include "core/json_fields.h"
#include "graphs/graph.h"
#include "graphs/partition.h"
#include "mapper/lower.h"
#include "mapper/streaming.h"

namespace rdasim::mapper {

/// o0: one op per section (the vendor's safe mode); o1: ops fused into sections (default).
enum class Mode { o0, o1 };
[[nodiscard]] const char* to_string(Mode mode);
[[nodiscard]] std::optional<Mode> mode_from_string(std::string_view name);

/// The units a graph may use: a whole chip, or a tenant's region.
struct Budget {
  int pcus = 0;
  int pmus = 0;
};

struct SectionOp {
  graphs::OpId op = -1;
  int parallel = 0;               ///< PCUs (PMUs for memory-engine ops); 0 for views
  int buffer_pmus = 0;            ///< all its PMUs: the output buffers first, then weights
  int output_pmus = 0;            ///< PMUs its results are banked over (more PMUs, more read bandwidth)
  bool weights_streamed = false;  ///< too large for the section's PMUs: read from DRAM as it runs
};

/// What limits a section's analytic time.
enum class Bound { compute, memory, network };
[[nodiscard]] const char* to_string(Bound bound);
[[nodiscard]] std::optional<Bound> bound_from_string(std::string_view name);

/// A section's resources and analytic time (DESIGN.md §Modelling): compute is the critical path
/// through its stages (the slowest stage between barriers plus each barrier's full pass:
/// mapper/streaming.h), memory the off-chip bytes over the tier's sustained bandwidth, network
/// the busiest link once routed. Sectioning fills it in; the Mapping carries it to the simulator unchanged.
struct SectionFigures {
  int pcus = 0;
  int pmus = 0;
  double weight_bytes = 0;
  double state_bytes = 0;            ///< optimizer state among weight_bytes (training steps)
  double streamed_weight_bytes = 0;  ///< of ops whose weights do not fit their PMUs: read per pass
  double dram_read_bytes = 0;        ///< inputs, tensors of earlier sections, weights
  double dram_write_bytes = 0;       ///< outputs and tensors later sections read
  double flops = 0;
  double compute_cycles = 0;
  double memory_cycles = 0;
  double network_cycles = 0;  ///< the busiest link's bytes over its bandwidth, once routed
  double reconfig_cycles = 0;
  int barriers = 0;      ///< inputs an op needs whole from another op of the section (mapper/streaming.h)
  std::string streamed;  ///< the streamed axis of its largest tensor, for people
  /// The slowest of compute, memory and network, plus the reconfiguration.
  [[nodiscard]] double cycles() const;
  /// Which of them sets cycles() (compute on a tie).
  [[nodiscard]] Bound bound() const;
  [[nodiscard]] double dram_bytes() const { return dram_read_bytes + dram_write_bytes; }
};

/// What a run of sections (a plan's, a tenant's) adds up to; they run one after another.
struct SectionTotals {
  double cycles = 0;
  double flops = 0;
  double dram_bytes = 0;
};

/// The totals of any range of sections (Section, MappedSection).
template <class Sections>
[[nodiscard]] SectionTotals totals(const Sections& sections) {
  SectionTotals t;
  for (const SectionFigures& s : sections) {
    t.cycles += s.cycles();
    t.flops += s.flops;
    t.dram_bytes += s.dram_bytes();
  }
  return t;
}

/// One section as sectioning plans it: its ops, how its inputs stream to them, and figures.
struct Section : SectionFigures {
  std::vector<SectionOp> ops;
  std::vector<SectionEdge> edges;  ///< per op, in order: its inputs other than weights
};

/// One way of cutting the graph that the planner tried, and what it would cost.
struct SectioningCandidate {
  std::string method;  ///< "greedy" (topological fill) or "metis k=N"
  std::size_t sections = 0;
  double cycles = 0;  ///< analytic, before placement
  double dram_bytes = 0;

  static constexpr auto json_fields() {
    using core::field;
    using T = SectioningCandidate;
    return std::tuple{field("method", &T::method), field("sections", &T::sections), field("cycles", &T::cycles),
                      field("dram_bytes", &T::dram_bytes)};
  }
};

struct SectionPlan {
  Mode mode = Mode::o1;
  std::string method = "greedy";                ///< the candidate kept
  std::vector<SectioningCandidate> candidates;  ///< every cut tried, the greedy fill first
  std::vector<Section> sections;
  [[nodiscard]] SectionTotals totals() const { return mapper::totals(sections); }
};

/// The memory tier tensors live in: the fastest (index into Spec::memory_tiers()).
[[nodiscard]] std::size_t dram_tier(const arch::Spec& spec);
/// Off-chip bytes per cycle: dram_tier()'s sustained bandwidth.
[[nodiscard]] double dram_bytes_per_cycle(const arch::Spec& spec);

/// Cuts the graph into sections within `budget`, deals out PCUs and estimates each section. o0
/// puts every op in a section of its own. o1 tries a greedy topological fill and METIS cuts
/// (mapper/partition, repaired into execution order) and keeps the one with the least analytic
/// time, which weighs DRAM traffic and reconfigurations against pipeline depth. Throws
/// Infeasible with one reason per op that cannot fit the budget even alone. `memo`, when given,
/// remembers METIS's cuts for equal calls.
[[nodiscard]] SectionPlan plan_sections(const graphs::Graph& graph, const std::vector<OpDemand>& demands,
                                        const arch::Spec& spec, const Budget& budget, Mode mode, int seed = 1,
                                        graphs::PartitionMemo* memo = nullptr);

}  // namespace rdasim::mapper

template <>
struct rdasim::core::JsonEnum<rdasim::mapper::Mode> {
  static const char* name(mapper::Mode mode) { return mapper::to_string(mode); }
  static std::optional<mapper::Mode> parse(std::string_view word) { return mapper::mode_from_string(word); }
  static constexpr const char* expected = "o0 or o1";
};

template <>
struct rdasim::core::JsonEnum<rdasim::mapper::Bound> {
  static const char* name(mapper::Bound bound) { return mapper::to_string(bound); }
  static std::optional<mapper::Bound> parse(std::string_view word) { return mapper::bound_from_string(word); }
  static constexpr const char* expected = "compute, memory or network";
};
