// Building graphs in code (the workload builders, tests, benchmarks): named tensors and ops
// under a scope prefix ("block3/conv1"), small integer constants, and a finish() that infers
// shapes and verifies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graphs/graph.h"

namespace rdasim::graphs {

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string name) : m_graph(std::move(name)) {}

  TensorId input(const std::string& name, Shape shape, DType dtype = DType::f32);
  /// A trained weight; its values come from the seeded initializer unless given.
  TensorId param(const std::string& name, Shape shape, std::optional<std::vector<double>> values = std::nullopt);
  TensorId constant(const std::string& name, Shape shape, std::vector<double> values, DType dtype = DType::f32);
  /// A 1-D i64 constant (axes, shapes, starts).
  TensorId ints(const std::string& name, const std::vector<std::int64_t>& values);

  /// Adds an op with one output and returns it. Names are scoped: "<scope>/<name>".
  TensorId op(const std::string& kind, const std::string& name, std::vector<TensorId> inputs, Attrs attrs = {});
  /// Adds an op with `outputs` outputs.
  std::vector<TensorId> op_n(const std::string& kind, const std::string& name, std::vector<TensorId> inputs,
                             std::size_t outputs, Attrs attrs = {});

  void output(TensorId id) { m_graph.mark_output(id); }

  /// Names under `scope` until the matching pop_scope; scopes nest.
  void push_scope(const std::string& scope) { m_scopes.push_back(scope); }
  void pop_scope() { m_scopes.pop_back(); }

  /// Infers shapes and verifies; the builder is empty afterwards.
  [[nodiscard]] Graph finish();

  [[nodiscard]] Graph& graph() { return m_graph; }

 private:
  [[nodiscard]] std::string scoped(const std::string& name) const;
  TensorId tensor(const std::string& name, Shape shape, DType dtype, Role role,
                  std::optional<std::vector<double>> values);

  Graph m_graph;
  std::vector<std::string> m_scopes;
};

/// A scope for the lifetime of the object.
class BuilderScope {
 public:
  BuilderScope(GraphBuilder& b, const std::string& scope) : m_b(b) { m_b.push_scope(scope); }
  ~BuilderScope() { m_b.pop_scope(); }
  BuilderScope(const BuilderScope&) = delete;
  BuilderScope& operator=(const BuilderScope&) = delete;

 private:
  GraphBuilder& m_b;
};

}  // namespace rdasim::graphs
