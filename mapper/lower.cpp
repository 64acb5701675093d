#include "mapper/lower.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/op_registry.h"
#include "mapper/sections.h"

namespace rdasim::mapper {

namespace {

/// Fraction of `units` slots used when `extent` items are dealt out in groups of `units`.
double fill(std::int64_t extent, std::int64_t units) {
  if (extent <= 0 || units <= 0) return 1.0;
  const std::int64_t groups = (extent + units - 1) / units;
  return static_cast<double>(extent) / static_cast<double>(groups * units);
}

}  // namespace

Split split_of(const OpDemand& d, std::int64_t parallel) {
  if (parallel <= d.max_parallel) return {std::max<std::int64_t>(parallel, 1), 1};
  return {d.max_parallel, std::min(parallel / d.max_parallel, d.max_reduction_split)};
}

std::int64_t next_parallel(const OpDemand& d, std::int64_t parallel) {
  const Split now = split_of(d, parallel);
  if (now.outputs < d.max_parallel) return parallel + 1;
  if (now.reduction >= d.max_reduction_split) return 0;
  const std::int64_t next = d.max_parallel * (now.reduction + 1);
  return stage_cycles(d, next) < stage_cycles(d, parallel) ? next : 0;
}

double stage_cycles(const OpDemand& d, std::int64_t parallel) {
  const Split s = split_of(d, parallel);
  const double work = d.cycles / static_cast<double>(s.pcus());
  if (s.reduction == 1) return work;
  const double tree = std::ceil(std::log2(static_cast<double>(s.reduction)));
  return work + tree * d.output_vectors / static_cast<double>(s.outputs);
}

double element_bytes(const arch::Spec& spec) {
  return spec.pcu().precision == arch::Precision::bf16_fp32acc ? 2.0 : 4.0;
}

std::vector<OpDemand> lower(const graphs::Graph& g, const arch::Spec& spec) {
  const double bytes_per_element = element_bytes(spec);
  const auto lanes = static_cast<std::int64_t>(spec.pcu().lanes);
  const auto stages = static_cast<std::int64_t>(spec.pcu().stages);
  const double pmu_bytes = spec.pmu().capacity_kib * 1024.0;
  // A PMU sends one link's worth per cycle: the off-chip stream needs this many at once.
  const double dram_per_cycle = dram_bytes_per_cycle(spec);
  const int stream_pmus = 2 * static_cast<int>(std::ceil(dram_per_cycle / spec.network().link_bytes_per_cycle));
  std::vector<OpDemand> out;
  for (std::size_t i = 0; i < g.ops().size(); ++i) {
    const graphs::Op& op = g.ops()[i];
    OpDemand d;
    d.op = static_cast<graphs::OpId>(i);
    d.engine = graphs::op_traits(g, d.op).engine;
    d.stream_pmus = std::max(2, stream_pmus);
    d.flops = graphs::op_cost(g, d.op).flops;
    double in_elements = 0, out_elements = 0, largest_input = 0;
    for (std::size_t slot = 0; slot < op.inputs.size(); ++slot) {
      if (op.inputs[slot] == graphs::k_no_tensor) continue;
      const double n = graphs::elements_read(g, d.op, slot);  // an embedding's rows, none of a cache written in place
      largest_input = std::max(largest_input, n);
      if (graphs::is_stored(g.tensor(op.inputs[slot]).role)) d.weight_bytes += n * bytes_per_element;
      else in_elements += n;
    }
    for (std::size_t k = 0; k < op.outputs.size(); ++k) out_elements += graphs::elements_written(g, d.op, k);
    d.output_bytes = out_elements * bytes_per_element;
    const double vectors = std::ceil(out_elements / static_cast<double>(lanes));
    d.output_vectors = vectors;
    switch (d.engine) {
      case Engine::none: break;
      case Engine::matrix: {
        const graphs::GemmView gemm = graphs::gemm_view(g, d.op);  // N over lanes, K over stages
        const std::int64_t n = gemm.n, k = gemm.k;
        d.utilization = fill(n, lanes) * fill(k, stages);
        d.cycles = d.flops / (2.0 * static_cast<double>(lanes * stages) * d.utilization);
        d.max_parallel = std::max<std::int64_t>(1, static_cast<std::int64_t>(vectors));
        // Each share of the reduction keeps at least 8 passes of the stages busy.
        d.max_reduction_split = std::clamp<std::int64_t>(k / (8 * stages), 1, 64);
        break;
      }
      case Engine::vector: {
        // `stages` chained FUs per lane: an op of f FLOPs per element passes ceil(f / stages) times.
        // Elements are those of the larger side: a reduction's FLOPs are per input element.
        const double per_element = d.flops / std::max({out_elements, largest_input, 1.0});
        const double passes = std::max(1.0, std::ceil(per_element / static_cast<double>(stages)));
        d.cycles = std::max(in_elements, out_elements) / static_cast<double>(lanes) * passes;
        d.max_parallel = std::max<std::int64_t>(1, static_cast<std::int64_t>(vectors));
        break;
      }
      case Engine::link:
        throw core::UnsupportedError(fmt::format(
            "op '{}' ({}) moves data between devices; a sharded graph maps onto a system (--system), one shard "
            "per chip",
            op.name, op.kind));
      case Engine::memory:
        // A PMU's banks move one word each per cycle.
        d.cycles = (in_elements + out_elements) * bytes_per_element / (4.0 * spec.pmu().banks);
        d.max_parallel = std::max<std::int64_t>(1, static_cast<std::int64_t>(vectors));
        break;
    }
    if (d.engine != Engine::none) {
      d.buffer_pmus = static_cast<int>(std::ceil(d.weight_bytes / pmu_bytes)) + 1;  // weights + output double buffer
    }
    out.push_back(d);
  }
  return out;
}

}  // namespace rdasim::mapper
