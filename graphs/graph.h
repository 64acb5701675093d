// The dataflow-graph IR: tensors (values, each produced by at most one op) and ops (nodes that
// read and write tensors), in the ONNX style. Storage is plain vectors indexed by id, so ids are
// stable and cheap; algorithms that need a graph structure (topological order, cycle search,
// partitioning) run on a Boost.Graph view of the op dependencies (graphs/algorithms.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "graphs/types.h"

namespace rdasim::graphs {

using TensorId = int;
using OpId = int;
inline constexpr TensorId k_no_tensor = -1;  ///< an omitted optional input

/// One tensor. Params and constants may carry values; a param without values is drawn from the
/// seeded initializer when a run needs it.
struct Tensor {
  std::string name;
  Shape shape;
  DType dtype = DType::f32;
  Role role = Role::activation;
  /// Per dimension: the name of a symbolic size ("batch") bound at load time, or "".
  std::vector<std::string> dim_names;
  std::optional<std::vector<double>> values;  ///< row-major, when known
  OpId producer = -1;
  std::vector<OpId> consumers;

  /// Element count; the verifier guarantees it does not overflow.
  [[nodiscard]] std::int64_t elements() const;
  [[nodiscard]] std::int64_t bytes() const { return elements() * byte_size(dtype); }
};

using AttrValue = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>,
                               std::vector<std::string>>;

/// "int", "float", "string", "ints", "floats" or "strings".
[[nodiscard]] std::string_view attr_type_name(const AttrValue& value);

/// An op's attributes by name. Typed getters apply the op kind's defaults (see OpDef).
struct Attrs {
  std::map<std::string, AttrValue, std::less<>> values;

  [[nodiscard]] bool has(std::string_view name) const { return values.contains(name); }
  [[nodiscard]] std::int64_t get_int(std::string_view name, std::int64_t fallback) const;
  [[nodiscard]] double get_float(std::string_view name, double fallback) const;
  [[nodiscard]] std::string get_string(std::string_view name, const std::string& fallback) const;
  [[nodiscard]] std::vector<std::int64_t> get_ints(std::string_view name,
                                                   std::vector<std::int64_t> fallback = {}) const;
  [[nodiscard]] std::vector<double> get_floats(std::string_view name, std::vector<double> fallback = {}) const;
};

struct Op {
  std::string name;  ///< unique within the graph; used in every message about the op
  std::string kind;  ///< the op registry's key: "Conv", "MatMul", ...
  Attrs attrs;
  std::vector<TensorId> inputs;  ///< k_no_tensor for an omitted optional input
  std::vector<TensorId> outputs;
  /// The device of a system that runs the op (0 on a single chip). A collective spans the
  /// devices its `devices` attribute lists; this is the first of them.
  int device = 0;
};

/// A dataflow graph. Adding tensors and ops keeps producer/consumer links; shapes of
/// activations are filled in by infer_shapes (graphs/shape_inference.h).
class Graph {
 public:
  explicit Graph(std::string name = "graph") : m_name(std::move(name)) {}

  [[nodiscard]] const std::string& name() const { return m_name; }
  void set_name(std::string name) { m_name = std::move(name); }

  /// Adds a tensor; throws core::InputError when the name is taken.
  TensorId add_tensor(Tensor tensor);
  /// Adds an op reading and writing existing tensors; throws core::InputError when the op name
  /// is taken or an output already has a producer. An empty name becomes "<kind>_<id>".
  OpId add_op(Op op);

  [[nodiscard]] const Tensor& tensor(TensorId id) const;
  [[nodiscard]] Tensor& tensor(TensorId id);
  [[nodiscard]] const Op& op(OpId id) const;
  [[nodiscard]] std::span<const Tensor> tensors() const { return m_tensors; }
  [[nodiscard]] std::span<const Op> ops() const { return m_ops; }
  [[nodiscard]] std::optional<TensorId> find_tensor(std::string_view name) const;
  [[nodiscard]] std::optional<OpId> find_op(std::string_view name) const;

  /// Tensors of a role, in the order they were added; outputs in the order mark_output gave.
  [[nodiscard]] std::vector<TensorId> tensors_with(Role role) const;
  /// Makes a tensor a graph output, after those marked before (ONNX's output order, which
  /// test data follows).
  void mark_output(TensorId id);

  /// Symbolic dimensions ("batch") and their current sizes.
  [[nodiscard]] const std::map<std::string, std::int64_t, std::less<>>& dims() const { return m_dims; }
  /// Declares or changes a symbolic dimension and rewrites every tensor dimension named so.
  /// Activations need infer_shapes afterwards.
  void set_dim(const std::string& name, std::int64_t size);

 private:
  std::string m_name;
  std::vector<Tensor> m_tensors;
  std::vector<Op> m_ops;
  std::map<std::string, TensorId, std::less<>> m_tensor_index;
  std::map<std::string, OpId, std::less<>> m_op_index;
  std::map<std::string, std::int64_t, std::less<>> m_dims;
  std::vector<TensorId> m_output_order;
};

}  // namespace rdasim::graphs
