// Lowering: what each op of a graph asks of the fabric. An op becomes PCU contexts (compute,
// split `parallel` ways along output channels, rows or batch, with a partial-sum reduction
// when the reduction dimension is split) and PMU buffers (its weights, and a double buffer
// for its output stream). The cost model follows DESIGN.md §Modelling.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arch/spec.h"
#include "graphs/graph.h"
#include "graphs/op_traits.h"

namespace rdasim::mapper {

/// How an op uses the fabric: its kind's trait (graphs/op_traits.h).
using graphs::Engine;
using graphs::uses_pcus;

/// The demand of one op, independent of the others.
struct OpDemand {
  graphs::OpId op = -1;
  Engine engine = Engine::none;
  double flops = 0;
  double cycles = 0;                     ///< on one PCU (or one PMU for Engine::memory)
  double utilization = 1;                ///< of the PCU's FUs, from ceil effects of the op's dimensions
  std::int64_t max_parallel = 1;         ///< the most PCUs it can use on outputs (rows x channels / lanes)
  std::int64_t max_reduction_split = 1;  ///< matrix ops: ways the reduction (K) may be split
  double output_vectors = 0;             ///< lanes-wide vectors it writes: the partial-sum combine's work
  double weight_bytes = 0;               ///< params, constants and optimizer state, in PMUs while its section runs
  double output_bytes = 0;               ///< everything it writes
  int buffer_pmus = 0;                   ///< PMUs for weights and output double buffers
  /// When its weights do not fit on chip and stream from DRAM: the PMUs they pass through,
  /// double-buffered tiles on enough PMUs that their links carry the memory tier's bandwidth.
  int stream_pmus = 2;
};

/// How an op is spread over `parallel` PCUs: first over its outputs (channels, rows, batch);
/// past max_parallel, whole copies of that split each take a share of the reduction dimension,
/// and their partial sums are combined in a tree of vector adds.
struct Split {
  std::int64_t outputs = 1;
  std::int64_t reduction = 1;
  [[nodiscard]] std::int64_t pcus() const { return outputs * reduction; }
};

/// The split of `parallel` PCUs (only whole reduction copies count).
[[nodiscard]] Split split_of(const OpDemand& demand, std::int64_t parallel);
/// The next PCU count that makes the op faster than `parallel`, or 0 when none does.
[[nodiscard]] std::int64_t next_parallel(const OpDemand& demand, std::int64_t parallel);
/// Cycles of the op's pipeline stage on `parallel` PCUs: its work shared out, plus the
/// partial-sum tree (ceil(log2 reduction) adds of its share of the output vectors).
[[nodiscard]] double stage_cycles(const OpDemand& demand, std::int64_t parallel);

/// Bytes per element as the fabric stores tensors: 2 for bf16 fabrics, 4 for fp32 ones.
[[nodiscard]] double element_bytes(const arch::Spec& spec);

/// The demand of every op of the graph (GRU and LSTM must be expanded first).
[[nodiscard]] std::vector<OpDemand> lower(const graphs::Graph& graph, const arch::Spec& spec);

}  // namespace rdasim::mapper
