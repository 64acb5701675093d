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

namespace rdasim::mapper {

/// How an op uses a PCU.
enum class Engine {
  none,         ///< views (Reshape, Squeeze): no unit, no time
  matrix,       ///< GEMM-like (MatMul, Gemm, Conv, SpMM): lanes x stages MACs per cycle, systolic
  vector,       ///< element-wise and reductions: lanes elements per cycle
  memory,       ///< data movement (Transpose, Concat, Gather): a PMU's address generators
};

[[nodiscard]] const char* to_string(Engine engine);

/// The demand of one op, independent of the others.
struct OpDemand {
  graphs::OpId op = -1;
  Engine engine = Engine::none;
  double flops = 0;
  double cycles = 0;           ///< on one PCU (or one PMU for Engine::memory)
  double utilization = 1;      ///< of the PCU's FUs, from ceil effects of the op's dimensions
  std::int64_t max_parallel = 1;  ///< the most PCUs it can use (output rows x channels / lanes)
  double weight_bytes = 0;     ///< params and constants, stored in PMUs while its section runs
  double output_bytes = 0;     ///< everything it writes
  int buffer_pmus = 0;         ///< PMUs for weights and output double buffers
};

/// Bytes per element as the fabric stores tensors: 2 for bf16 fabrics, 4 for fp32 ones.
[[nodiscard]] double element_bytes(const arch::Spec& spec);

/// The demand of every op of the graph (GRU and LSTM must be expanded first).
[[nodiscard]] std::vector<OpDemand> lower(const graphs::Graph& graph, const arch::Spec& spec);

}  // namespace rdasim::mapper
