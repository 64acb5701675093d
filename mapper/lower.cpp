#include "mapper/lower.h"

#include <algorithm>
#include <cmath>

#include "graphs/op_registry.h"

namespace rdasim::mapper {

namespace {

/// Fraction of `units` slots used when `extent` items are dealt out in groups of `units`.
double fill(std::int64_t extent, std::int64_t units) {
  if (extent <= 0 || units <= 0) return 1.0;
  const std::int64_t groups = (extent + units - 1) / units;
  return static_cast<double>(extent) / static_cast<double>(groups * units);
}

Engine engine_of(const std::string& kind, const graphs::OpDef& def) {
  if (def.is_view || kind == "Constant" || kind == "Shape") return Engine::none;
  if (kind == "Conv" || kind == "ConvTranspose" || kind == "ConvWeightGrad" || kind == "MatMul" || kind == "Gemm") {
    return Engine::matrix;
  }
  if (kind == "Transpose" || kind == "Concat" || kind == "Split" || kind == "Slice" || kind == "Gather" ||
      kind == "Expand" || kind == "SliceGrad" || kind == "GatherGrad") {
    return Engine::memory;
  }
  return Engine::vector;  // element-wise, reductions, normalizations, SpMM (irregular: one lane per column)
}

/// The GEMM view of a matrix op: N output columns spread over lanes, K reduction over stages.
std::pair<std::int64_t, std::int64_t> gemm_nk(const graphs::Graph& g, const graphs::Op& op) {
  const auto& out = g.tensor(op.outputs[0]).shape;
  const auto& a = g.tensor(op.inputs[0]).shape;
  const auto& b = g.tensor(op.inputs[1]).shape;
  if (op.kind == "Conv") {
    std::int64_t k = 1;
    for (std::size_t i = 1; i < b.size(); ++i) k *= b[i];  // C/group x kernel
    return {b[0] / std::max<std::int64_t>(1, op.attrs.get_int("group", 1)), k};
  }
  if (op.kind == "ConvWeightGrad") {  // dW [M, C/g x k] = dY [M, positions] x im2col(X)^T
    std::int64_t n = 1, positions = 1;
    for (std::size_t i = 1; i < out.size(); ++i) n *= out[i];
    const auto& dy = g.tensor(op.inputs[1]).shape;
    for (std::size_t i = 2; i < dy.size(); ++i) positions *= dy[i];
    return {n, positions * dy[0]};
  }
  if (op.kind == "ConvTranspose") {
    std::int64_t k = 1;
    for (std::size_t i = 2; i < b.size(); ++i) k *= b[i];
    return {b[1], a[1] / std::max<std::int64_t>(1, op.attrs.get_int("group", 1)) * k};
  }
  if (op.kind == "Gemm") {
    const bool ta = op.attrs.get_int("transA", 0) != 0;
    return {out.back(), ta ? a[0] : a[1]};
  }
  return {out.empty() ? 1 : out.back(), a.empty() ? 1 : a.back()};  // MatMul
}

}  // namespace

const char* to_string(Engine engine) {
  switch (engine) {
    case Engine::none: return "none";
    case Engine::matrix: return "matrix";
    case Engine::vector: return "vector";
    case Engine::memory: return "memory";
  }
  return "?";
}

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

double element_bytes(const arch::Spec& spec) { return spec.pcu().precision == arch::Precision::bf16_fp32acc ? 2.0 : 4.0; }

std::vector<OpDemand> lower(const graphs::Graph& g, const arch::Spec& spec) {
  const auto& registry = graphs::OpRegistry::instance();
  const double bytes_per_element = element_bytes(spec);
  const auto lanes = static_cast<std::int64_t>(spec.pcu().lanes);
  const auto stages = static_cast<std::int64_t>(spec.pcu().stages);
  const double pmu_bytes = spec.pmu().capacity_kib * 1024.0;
  std::vector<OpDemand> out;
  for (std::size_t i = 0; i < g.ops().size(); ++i) {
    const graphs::Op& op = g.ops()[i];
    const graphs::OpDef& def = *registry.find(op.kind);
    OpDemand d;
    d.op = static_cast<graphs::OpId>(i);
    d.engine = engine_of(op.kind, def);
    d.flops = graphs::op_cost(g, d.op).flops;
    double in_elements = 0, out_elements = 0, largest_input = 0;
    for (graphs::TensorId t : op.inputs) {
      if (t == graphs::k_no_tensor) continue;
      const auto& tensor = g.tensor(t);
      const auto n = static_cast<double>(tensor.elements());
      largest_input = std::max(largest_input, n);
      if (graphs::is_stored(tensor.role)) d.weight_bytes += n * bytes_per_element;
      else in_elements += n;
    }
    for (graphs::TensorId t : op.outputs) out_elements += static_cast<double>(g.tensor(t).elements());
    d.output_bytes = out_elements * bytes_per_element;
    const double vectors = std::ceil(out_elements / static_cast<double>(lanes));
    d.output_vectors = vectors;
    switch (d.engine) {
      case Engine::none: break;
      case Engine::matrix: {
        const auto [n, k] = gemm_nk(g, op);
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
