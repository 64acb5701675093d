// Adding ops to a graph that already has shapes, one op at a time: each new op's outputs get
// their shape and type from its shape rule at once, so code that builds on them (autodiff,
// losses, optimizer updates) can read them. GraphBuilder, by contrast, infers at finish().
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "graphs/graph.h"

namespace rdasim::graphs {

class GraphEditor {
 public:
  explicit GraphEditor(Graph& graph) : m_graph(graph) {}

  [[nodiscard]] Graph& graph() { return m_graph; }
  /// A copy: adding tensors may move the graph's storage.
  [[nodiscard]] Shape shape(TensorId id) const { return m_graph.tensor(id).shape; }

  /// Adds an op with `outputs` outputs named `name` ("name:k" for k > 0 when several) and
  /// infers them. Throws core::InputError from the op's shape rule.
  std::vector<TensorId> op_n(const std::string& kind, const std::string& name, std::vector<TensorId> inputs,
                             std::size_t outputs, Attrs attrs = {});
  TensorId op(const std::string& kind, const std::string& name, std::vector<TensorId> inputs, Attrs attrs = {}) {
    return op_n(kind, name, std::move(inputs), 1, std::move(attrs)).front();
  }
  /// Adds an op whose outputs are named `outputs` (names that must be free).
  std::vector<TensorId> op_named(const std::string& kind, const std::string& name, std::vector<TensorId> inputs,
                                 const std::vector<std::string>& outputs, Attrs attrs = {});

  /// A source tensor (input, param, state or constant) of the given shape.
  TensorId source(const std::string& name, Shape shape, Role role, DType dtype = DType::f32,
                  std::optional<std::vector<double>> values = std::nullopt);
  /// A 1-D i64 constant (axes, shapes), named `name` or, when taken, made unique.
  TensorId ints(const std::string& name, const std::vector<std::int64_t>& values);
  /// A float scalar constant (shape []).
  TensorId scalar(const std::string& name, double value, DType dtype = DType::f32);

  /// The device of a system that later ops run on (Op::device); 0 unless set.
  void place_on(int device) { m_device = device; }

  /// A name not yet used by any tensor or op: `name`, or `name_2`, `name_3`, ...
  [[nodiscard]] std::string unique(const std::string& name) const;

 private:
  Graph& m_graph;
  int m_device = 0;
};

/// Attributes from name-value pairs: make_attrs({{"axis", std::int64_t{1}}}).
[[nodiscard]] Attrs make_attrs(std::initializer_list<std::pair<const std::string, AttrValue>> values);

}  // namespace rdasim::graphs
