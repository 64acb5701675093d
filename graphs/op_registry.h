// The op registry: each op kind declares, in one place, its inputs and outputs, attributes
// with defaults, shape rule, cost and reference kernel. Kinds follow ONNX semantics (broadcasting, attribute
// defaults of opset 13+); importers translate older opsets into these.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graphs/graph.h"
#include "graphs/kernel.h"
#include "graphs/op_traits.h"

namespace rdasim::graphs {

enum class AttrType { int_, float_, string, ints, floats, strings };
[[nodiscard]] std::string_view to_string(AttrType type);

struct AttrDecl {
  std::string name;
  AttrType type = AttrType::int_;
  std::optional<AttrValue> default_value;  ///< nullopt: required, or optional when `optional`
  bool optional = false;                   ///< may be absent with no default (e.g. Conv pads)
};

/// What a shape rule or cost function sees of one op: its attributes and its inputs.
class OpContext {
 public:
  OpContext(const Graph& graph, const Op& op) : m_graph(graph), m_op(op) {}

  [[nodiscard]] const Op& op() const { return m_op; }
  [[nodiscard]] const Graph& graph() const { return m_graph; }
  [[nodiscard]] const Attrs& attrs() const { return m_op.attrs; }
  [[nodiscard]] std::size_t num_inputs() const { return m_op.inputs.size(); }
  [[nodiscard]] bool has_input(std::size_t i) const { return i < m_op.inputs.size() && m_op.inputs[i] != k_no_tensor; }
  [[nodiscard]] const Tensor& input(std::size_t i) const;
  [[nodiscard]] const Shape& in_shape(std::size_t i) const { return input(i).shape; }
  [[nodiscard]] DType in_dtype(std::size_t i) const { return input(i).dtype; }
  [[nodiscard]] const Tensor& output(std::size_t i) const;
  /// The values of a constant input (param, const, or folded); fails when they are not known.
  [[nodiscard]] const std::vector<double>& const_values(std::size_t i, std::string_view what) const;
  /// The values of an optional constant input, as integers; nullopt when the input is absent.
  [[nodiscard]] std::optional<std::vector<std::int64_t>> const_ints(std::size_t i, std::string_view what) const;

  /// Throws core::InputError naming the op: "op 'conv1' (Conv): message".
  [[noreturn]] void fail(const std::string& message) const;
  /// Throws core::UnsupportedError naming the op, for valid uses rdasim does not cover.
  [[noreturn]] void unsupported(const std::string& message) const;
  /// A rank check with a message naming the input.
  void require_rank(std::size_t input, std::size_t rank_min, std::size_t rank_max, std::string_view what) const;
  /// Turns a possibly negative axis into 0 .. rank-1, or fails naming the attribute.
  [[nodiscard]] std::size_t normalize_axis(std::int64_t axis, std::size_t rank, std::string_view what) const;

 private:
  const Graph& m_graph;
  const Op& m_op;
};

/// Shape and element type of one output.
struct TensorInfo {
  Shape shape;
  DType dtype = DType::f32;
};

/// What running an op costs, independent of the machine: arithmetic and data moved.
struct Cost {
  double flops = 0;          ///< floating-point operations; a multiply-add is 2
  double bytes_read = 0;     ///< all inputs, weights included
  double bytes_written = 0;  ///< all outputs
  double param_bytes = 0;    ///< the part of bytes_read that is params and constants
};

/// The backward-pass builder that gradient rules write into (graphs/autodiff.h).
class GradientBuilder;

struct OpDef {
  std::string kind;
  std::string summary;  ///< one line, for listings
  std::size_t min_inputs = 1;
  std::size_t max_inputs = 1;  ///< k_variadic for any number
  std::size_t min_outputs = 1;
  std::size_t max_outputs = 1;
  std::vector<AttrDecl> attrs;
  /// Output shapes and types from the inputs; fails through OpContext::fail.
  std::function<std::vector<TensorInfo>(const OpContext&)> infer;
  /// FLOPs of one execution, from the (inferred) input and output shapes.
  std::function<double(const OpContext&)> flops;
  /// True when the op only reinterprets its input (Reshape, Squeeze): no data moves.
  bool is_view = false;
  /// What the op computes (graphs/kernel.h). Every kind has one except Constant, whose output
  /// tensor carries its values.
  Kernel kernel;
  /// The gradient rule: adds the backward ops that turn the gradients of the op's outputs
  /// into those of the inputs that want one (graphs/autodiff.h). Empty for kinds rdasim does
  /// not differentiate (training a graph through one fails naming the op).
  std::function<void(GradientBuilder&)> gradient;
  /// What the mapper, the simulators and the GPU model need to know of the kind
  /// (graphs/op_traits.h). Required: OpRegistry::add rejects a kind without them.
  std::optional<OpTraits> traits;
};

inline constexpr std::size_t k_variadic = 1u << 20;

/// All op kinds. Built once, on first use; each family of ops registers itself explicitly
/// (no static initializers, which static linking would drop).
class OpRegistry {
 public:
  static const OpRegistry& instance();

  [[nodiscard]] const OpDef* find(std::string_view kind) const;
  [[nodiscard]] std::vector<std::string> kinds() const;
  /// The traits of `kind`; nullptr when no such kind is registered.
  [[nodiscard]] const OpTraits* traits(std::string_view kind) const;
  /// Registers a kind; throws core::InternalError when it lacks a shape rule, a cost or its
  /// traits (a matrix kind also its GEMM view), or is registered already.
  void add(OpDef def);

 private:
  std::map<std::string, OpDef, std::less<>> m_defs;
};

/// The traits of one op of the graph (its kind must be registered, as a verified graph's are).
[[nodiscard]] const OpTraits& op_traits(const Graph& graph, OpId op);
/// The GPU kernel the op launches: its traits' `gpu`, refined from its shapes where they say.
[[nodiscard]] GpuKernel gpu_kernel(const Graph& graph, OpId op);
/// The GEMM view of a matrix op.
[[nodiscard]] GemmView gemm_view(const Graph& graph, OpId op);

/// Cost of one op of the graph, from its def and its tensors' shapes.
[[nodiscard]] Cost op_cost(const Graph& graph, OpId op);

/// Elements op `op` reads of its input `slot` (which must be present): none of a tensor it
/// updates in place, the selected rows of an indexed table, else all of it. What the mapper
/// moves and what op_cost counts.
[[nodiscard]] double elements_read(const Graph& graph, OpId op, std::size_t slot);
/// Elements op `op` writes of its output `k`: an in-place update's new entries, else all.
[[nodiscard]] double elements_written(const Graph& graph, OpId op, std::size_t k);
/// Whether tensor `t` is written in place into a tensor that lives in memory (a KV cache):
/// its readers read it from there, not from the op that wrote it.
[[nodiscard]] bool updated_in_place(const Graph& graph, TensorId t);

// Families of ops, each in graphs/ops/<family>.cpp.
void register_elementwise_ops(OpRegistry& registry);
void register_linalg_ops(OpRegistry& registry);
void register_conv_ops(OpRegistry& registry);
void register_tensor_ops(OpRegistry& registry);
void register_norm_reduce_ops(OpRegistry& registry);
void register_recurrent_ops(OpRegistry& registry);
void register_optimizer_ops(OpRegistry& registry);
void register_collective_ops(OpRegistry& registry);
void register_transformer_ops(OpRegistry& registry);

/// Numpy-style broadcast of two shapes; nullopt when they are incompatible.
[[nodiscard]] std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace rdasim::graphs
