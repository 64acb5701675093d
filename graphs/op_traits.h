// Op traits: what the mapper, the simulators, the GPU model and the functional reference's
// initializer need to know of an op kind, declared with the kind in its registry entry (as MLIR
// declares traits with an op). Those layers ask the traits, never the kind's name, so a new kind
// is one registry entry; OpRegistry::add rejects a kind that declares none.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "core/json_fields.h"

namespace rdasim::graphs {

class OpContext;

/// Which part of a reconfigurable-dataflow fabric runs an op (DESIGN.md §Modelling).
enum class Engine {
  none,    ///< views and constants: no unit, no time
  matrix,  ///< GEMM-like: lanes x stages MACs per cycle, systolic, over its GemmView
  vector,  ///< element-wise, reductions, normalizations, SpMM: lanes elements per cycle
  memory,  ///< data movement (Transpose, Concat, Gather): a PMU's address generators
  link,    ///< collectives and transfers between devices over a system's links (no fabric unit)
};

[[nodiscard]] const char* to_string(Engine engine);
/// The engine named `name` (as to_string writes it); nullopt for any other word.
[[nodiscard]] std::optional<Engine> engine_from_string(std::string_view name);
/// Whether the op runs on PCUs (matrix and vector engines).
[[nodiscard]] inline bool uses_pcus(Engine engine) { return engine == Engine::matrix || engine == Engine::vector; }

/// The kernel a GPU framework (PyTorch eager) launches for an op.
enum class GpuKernel {
  none,        ///< returned as a view of its input (reshape, slice, transpose, expand) or a constant
  matmul,      ///< cuBLAS GEMM
  conv,        ///< cuDNN implicit GEMM
  sparse,      ///< cuSPARSE SpMM: memory-bound
  vector,      ///< element-wise or reduction kernel: memory-bound, fusable
  collective,  ///< NCCL collective or peer-to-peer copy over NVLink/PCIe (a system's links)
};

[[nodiscard]] const char* to_string(GpuKernel kernel);

/// What a link op (Engine::link) does with its ranks' buffers.
enum class LinkKind : std::uint8_t {
  none,            ///< not a link op
  all_reduce,      ///< every rank gets the sum
  all_gather,      ///< every rank gets every rank's part
  reduce_scatter,  ///< every rank gets its part of the sum
  send,            ///< a buffer leaves its device (the transfer)
  recv,            ///< the buffer arrives on another (no time of its own)
};

/// Kinds that a model must name where no trait says what it needs (the GPU model's sector
/// waste of a concatenation); every other question goes to the traits.
namespace kind {
inline constexpr std::string_view concat = "Concat";
inline constexpr std::string_view slice = "Slice";  ///< rewrites that cut a tensor (sim/functional/mapped.h)
inline constexpr std::string_view add = "Add";      ///< rewrites that sum partial results
/// The GPU model's GEMM shape: attention's output is not its GEMM (its view packs a KV head's
/// query rows, as GQA kernels do), while for the other matrix kinds the GPU model keeps its own.
inline constexpr std::string_view grouped_query_attention = "GroupedQueryAttention";
}  // namespace kind

/// How a param input is used; it picks the distribution the functional reference's seeded
/// initializer draws the param from when a model comes without values.
enum class ParamUse {
  by_rank,           ///< not declared: a bias when rank <= 1, a weight otherwise
  weight,            ///< uniform in +-1/sqrt(fan_in)
  bias,              ///< as a weight
  norm_scale,        ///< near 1
  norm_shift,        ///< near 0
  running_mean,      ///< near 0
  running_variance,  ///< near 1, positive
};

/// What output token k of an op needs of one input when a section's tokens cut the op's output
/// along one axis (its streamed axis: DESIGN.md §Modelling). Tokens arrive in order.
enum class Dependency : std::uint8_t {
  same,    ///< the same elements: token k (element-wise, data movement)
  slice,   ///< the whole input slice under the output's position (row-wise: a softmax, norm or
           ///< reduction over the other axes, a GEMM's rows, SpMM or a convolution per sample)
  window,  ///< the input up to the output's position plus `halo` slices (a convolution or
           ///< pooling along the axis: output row j reads input rows up to j + halo)
  prefix,  ///< every slice up to the output's (causal attention, scans): kept to the end
  all,     ///< all of it (a reduction, softmax or normalization over the axis, a GEMM reducing
           ///< over it, SpMM over nodes when nodes stream, a reorder)
};

[[nodiscard]] const char* to_string(Dependency dependency);
/// The dependency named `name` (as to_string writes it); nullopt for any other word.
[[nodiscard]] std::optional<Dependency> dependency_from_string(std::string_view name);

/// An op's need of one input, for one streamed axis of its output.
struct StreamNeed {
  Dependency dependency = Dependency::same;
  int axis = -1;          ///< the input's axis that streams with the output's (-1 when `all`)
  std::int64_t halo = 0;  ///< window: slices of the input past the output's position

  [[nodiscard]] static StreamNeed whole() { return {Dependency::all, -1, 0}; }
};

/// For output 0 streamed along `out_axis`, what the op needs of input `slot`.
using StreamRule = std::function<StreamNeed(const OpContext& ctx, std::size_t slot, std::size_t out_axis)>;

/// Element-wise with numpy broadcasting: the input's axis aligned from the right with the
/// output's; an input broadcast along it (size 1 there, or too few axes) is needed whole.
[[nodiscard]] StreamNeed aligned_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis,
                                      Dependency dependency = Dependency::same);
/// An op that combines its input along `mixed` axes (of the input) and keeps the others, in
/// order (a reduction with or without keepdims, softmax, normalization): the axis it keeps
/// streams a slice at a time (row-wise); a streamed axis it combines is needed whole.
[[nodiscard]] StreamNeed mixing_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis,
                                     const std::vector<std::size_t>& mixed);

/// A matrix op seen as `batch` independent GEMMs [m, k] x [k, n]: the mapper spreads N over a
/// PCU's lanes and K over its stages.
struct GemmView {
  std::int64_t batch = 1, m = 1, n = 1, k = 1;
};

/// How a split of a matrix op's reduction (the mapper's partial-sum tree) cuts its inputs: per
/// input slot the axis its share of the reduction lies along (-1: every partial reads it
/// whole), and the slots only the first partial takes (a bias, added once).
struct ReductionCut {
  std::vector<int> axes;
  std::vector<std::size_t> once;
};

struct OpTraits {
  Engine engine = Engine::vector;
  /// Combines values across lanes in the PCU's reduction tree, whose depth adds to its fill.
  bool reduces = false;
  /// Iterates in the PCU's tail stage (exp, log, division, square root).
  bool transcendental = false;
  GpuKernel gpu = GpuKernel::vector;
  /// Refines `gpu` where the op's shapes decide (Gather of a single index is a view); empty:
  /// `gpu` always.
  std::function<GpuKernel(const OpContext&)> gpu_for;
  /// The GEMM view of a matrix op (required when engine is matrix).
  std::function<GemmView(const OpContext&)> gemm;
  /// How a param in each input slot is used; slots past its end are ParamUse::by_rank.
  std::vector<ParamUse> param_uses;
  /// What each output token needs of each input along the streamed axis (required).
  StreamRule stream;
  /// Holds images channels-last on the fabric (N, H, W, C: lanes across channels), so that
  /// rows stream (convolutions, pools); the mapper spreads the layout over element-wise
  /// neighbours.
  bool channels_last = false;
  /// An optimizer update: the input slot of the gradient it applies (data parallel all-reduces
  /// what arrives there).
  std::optional<std::size_t> gradient_input;
  /// A link op's collective (Engine::link only).
  LinkKind link = LinkKind::none;
  /// Output 0 is input `updates_in_place` with the elements of the next input written into it
  /// (the KV-cache write): the op reads none of that input and writes only the next input's
  /// elements; the tensor stays where it lives (off-chip, for a cache), and the output's readers
  /// read it from there.
  std::optional<std::size_t> updates_in_place;
  /// Tables read by index: when input `tables[i]` is held in memory (a param or constant: an
  /// embedding, RoPE's angle caches), the op reads only the rows that input `index_input`
  /// selects, one row along axis 0 per index element (every row when that input is omitted or
  /// the op's `axis` is not 0).
  struct IndexedRead {
    std::vector<std::size_t> tables;
    std::size_t index_input = 0;
  };
  std::optional<IndexedRead> indexed_read;
  /// A matrix op whose reduction can be cut into partial products; nullopt from the function
  /// (or no function) when it cannot (a grouped convolution).
  std::function<std::optional<ReductionCut>(const OpContext&)> reduction_cut;

  /// The use of input slot `slot`.
  [[nodiscard]] ParamUse param_use(std::size_t slot) const {
    return slot < param_uses.size() ? param_uses[slot] : ParamUse::by_rank;
  }
};

// Traits shared by families of kinds. All but reduction_traits and matrix_traits stream
// element-wise (aligned_need); those take the kind's own rule.
[[nodiscard]] OpTraits elementwise_traits();     ///< vector engine, vector GPU kernel
[[nodiscard]] OpTraits transcendental_traits();  ///< the same, through the tail stage
/// Vector engine with the reduction tree; `stream` says which axes it combines.
[[nodiscard]] OpTraits reduction_traits(StreamRule stream);
[[nodiscard]] OpTraits view_traits();  ///< no engine, no GPU kernel
/// A collective or transfer between devices: link engine, collective GPU kernel; `stream` says
/// which axis it cuts or joins.
[[nodiscard]] OpTraits link_traits(LinkKind link, StreamRule stream);
/// Data movement on a PMU; `gpu` says whether the framework launches a kernel for it.
[[nodiscard]] OpTraits movement_traits(GpuKernel gpu);
/// A matrix op with its GEMM view.
[[nodiscard]] OpTraits matrix_traits(GpuKernel gpu, std::function<GemmView(const OpContext&)> gemm, StreamRule stream);

}  // namespace rdasim::graphs

template <>
struct rdasim::core::JsonEnum<rdasim::graphs::Engine> {
  static const char* name(graphs::Engine engine) { return graphs::to_string(engine); }
  static std::optional<graphs::Engine> parse(std::string_view word) { return graphs::engine_from_string(word); }
  static constexpr const char* expected = "none, matrix, vector, memory or link";
};

template <>
struct rdasim::core::JsonEnum<rdasim::graphs::Dependency> {
  static const char* name(graphs::Dependency d) { return graphs::to_string(d); }
  static std::optional<graphs::Dependency> parse(std::string_view word) { return graphs::dependency_from_string(word); }
  static constexpr const char* expected = "same, slice, window, prefix or all";
};
