// Reverse-mode automatic differentiation over the op registry. Every op kind declares its
// gradient rule next to its shape rule (OpDef::gradient): given the gradients of its outputs,
// the rule adds the ops that compute the gradients of its inputs. `gradients` walks the graph
// backwards from a scalar loss and calls the rules of the ops between the params and the loss;
// the backward ops are ordinary graph ops (with shapes, costs and reference kernels), so the
// mapper, the simulators and the functional reference run them like any other.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graphs/editor.h"
#include "graphs/graph.h"

namespace rdasim::graphs {

/// What a gradient rule sees of one forward op and how it hands back its input gradients.
/// Backward ops are named "grad/<forward op>/<what>".
class GradientBuilder {
 public:
  GradientBuilder(GraphEditor& editor, OpId op, std::vector<TensorId> output_grads, std::vector<bool> wanted)
      : m_editor(editor),
        m_op(op),
        m_output_grads(std::move(output_grads)),
        m_wanted(std::move(wanted)),
        m_input_grads(m_wanted.size(), k_no_tensor) {}

  [[nodiscard]] const Op& op() const { return m_editor.graph().op(m_op); }
  [[nodiscard]] const Attrs& attrs() const { return op().attrs; }
  [[nodiscard]] const Graph& graph() const { return m_editor.graph(); }
  [[nodiscard]] GraphEditor& editor() { return m_editor; }
  [[nodiscard]] TensorId input(std::size_t i) const { return op().inputs[i]; }
  [[nodiscard]] bool has_input(std::size_t i) const { return i < op().inputs.size() && op().inputs[i] != k_no_tensor; }
  [[nodiscard]] TensorId output(std::size_t i) const { return op().outputs[i]; }
  /// A copy: adding ops may move the graph's tensors, so no reference to one outlives an emit.
  [[nodiscard]] Shape shape(TensorId t) const { return m_editor.shape(t); }
  /// Valid until the next emit.
  [[nodiscard]] const Tensor& tensor(TensorId t) const { return m_editor.graph().tensor(t); }

  /// Whether input i needs a gradient (it depends on a trained param).
  [[nodiscard]] bool wants(std::size_t i) const { return i < m_wanted.size() && m_wanted[i]; }
  /// The gradient of the loss with respect to output i; k_no_tensor when output i does not
  /// reach the loss (its gradient is zero).
  [[nodiscard]] TensorId grad_output(std::size_t i) const {
    return i < m_output_grads.size() ? m_output_grads[i] : k_no_tensor;
  }
  /// The gradient of output i, or zeros of its shape when it does not reach the loss.
  TensorId grad_output_or_zeros(std::size_t i);

  /// Hands back the gradient of input i; it must have input i's shape (see sum_to).
  void set_grad(std::size_t i, TensorId grad);
  [[nodiscard]] const std::vector<TensorId>& input_grads() const { return m_input_grads; }

  /// Adds a backward op named "grad/<op>/<what>" and returns its output(s).
  TensorId emit(const std::string& kind, const std::string& what, std::vector<TensorId> inputs, Attrs attrs = {});
  std::vector<TensorId> emit_n(const std::string& kind, const std::string& what, std::vector<TensorId> inputs,
                               std::size_t outputs, Attrs attrs = {});
  TensorId ints(const std::string& what, const std::vector<std::int64_t>& values);
  /// A constant tensor "grad/<op>/<what>" (values computed while building, e.g. a transpose).
  TensorId constant(const std::string& what, Shape shape, std::vector<double> values, DType dtype);
  /// A scalar constant of the type of the op's (first) output.
  TensorId scalar(const std::string& what, double value);
  /// Sums `grad` over the dimensions broadcasting added or stretched, down to `shape`
  /// (numpy broadcasting read backwards); returns `grad` itself when the shapes agree.
  TensorId sum_to(TensorId grad, const Shape& shape);
  /// `grad` reshaped to `shape` (free: a view).
  TensorId reshape(TensorId grad, const Shape& shape);

  /// Throws core::UnsupportedError naming the op: a use of the op whose gradient rdasim does
  /// not derive.
  [[noreturn]] void unsupported(const std::string& message) const;

 private:
  [[nodiscard]] std::string name_of(const std::string& what) const;

  GraphEditor& m_editor;
  OpId m_op;
  std::vector<TensorId> m_output_grads;
  std::vector<bool> m_wanted;
  std::vector<TensorId> m_input_grads;
};

/// The backward pass of a graph: gradient ops added to `graph` for d`loss`/dp of every param p
/// in `wrt` (loss: a scalar, or any tensor, whose gradient is then seeded with ones).
struct Gradients {
  std::map<TensorId, TensorId> of;  ///< param -> its gradient tensor
  std::vector<OpId> backward_ops;   ///< in execution order
  /// Forward activations the backward ops read: kept from the forward pass (saved) or
  /// re-derived from a saved tensor at no cost (recomputed: views such as Reshape).
  std::vector<TensorId> saved, recomputed;
};

/// Adds the backward pass. Throws core::UnsupportedError naming the first op on a path from a
/// param to the loss whose kind has no gradient rule (or a use its rule does not cover).
[[nodiscard]] Gradients add_gradients(Graph& graph, TensorId loss, const std::vector<TensorId>& wrt);

}  // namespace rdasim::graphs
