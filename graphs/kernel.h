// Reference kernels: what an op computes, declared by its op kind next to its shape rule and
// cost (graphs/op_registry.h). One definition per kind, instantiated for the two precisions the
// functional reference runs in: double (ground truth) and float (fp32, and bf16, whose operands
// the executor rounds; accumulation stays in float as on the RDU). Kernels see dense row-major
// arrays whose shapes shape inference has already fixed; they never allocate outputs.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "graphs/graph.h"

namespace rdasim::graphs {

/// An integer held in a double (index and shape tensors), rounded; beyond int64's range it
/// saturates, as exporters' "to the end" bounds (INT64_MAX, which a double rounds up) mean.
[[nodiscard]] inline std::int64_t to_index(double v) {
  if (v >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (v <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(std::llround(v));
}

/// A dense row-major array. Integer and boolean tensors are held in the same element type
/// (exactly, up to 2^53 in double and 2^24 in float).
template <class T>
struct Array {
  Shape shape;
  std::vector<T> data;

  Array() = default;
  explicit Array(Shape s) : shape(std::move(s)), data(static_cast<std::size_t>(checked_elements(shape).value_or(0))) {}
  [[nodiscard]] std::size_t size() const { return data.size(); }
};

/// What a kernel sees of one execution of an op.
template <class T>
class KernelIO {
 public:
  KernelIO(const Op& op, std::span<const Array<T>* const> inputs, std::span<Array<T>* const> outputs)
      : m_op(op),
        m_inputs(inputs),
        m_outputs(outputs) {}

  [[nodiscard]] const Op& op() const { return m_op; }
  [[nodiscard]] const Attrs& attrs() const { return m_op.attrs; }
  [[nodiscard]] std::size_t num_inputs() const { return m_inputs.size(); }
  [[nodiscard]] bool has_input(std::size_t i) const { return i < m_inputs.size() && m_inputs[i] != nullptr; }
  [[nodiscard]] const Array<T>& in(std::size_t i) const { return *m_inputs[i]; }
  [[nodiscard]] std::size_t num_outputs() const { return m_outputs.size(); }
  [[nodiscard]] bool has_output(std::size_t i) const { return i < m_outputs.size() && m_outputs[i] != nullptr; }
  [[nodiscard]] Array<T>& out(std::size_t i) const { return *m_outputs[i]; }
  /// The values of input i as integers (axes, indices, shapes).
  [[nodiscard]] std::vector<std::int64_t> ints(std::size_t i) const;

  /// Throws core::InputError naming the op, for data a shape rule cannot see (an index out of
  /// range, a CSR row pointer that decreases).
  [[noreturn]] void fail(const std::string& message) const;

 private:
  const Op& m_op;
  std::span<const Array<T>* const> m_inputs;
  std::span<Array<T>* const> m_outputs;
};

template <class T>
using KernelFn = void (*)(const KernelIO<T>&);

/// An op kind's kernel in both precisions; see make_kernel.
struct Kernel {
  KernelFn<double> f64 = nullptr;
  KernelFn<float> f32 = nullptr;

  template <class T>
  [[nodiscard]] KernelFn<T> get() const {
    if constexpr (std::is_same_v<T, double>) return f64;
    else return f32;
  }
  [[nodiscard]] explicit operator bool() const { return f64 != nullptr; }
};

/// The kernel of a struct with `template <class T> static void run(const KernelIO<T>&)`.
template <class K>
[[nodiscard]] Kernel make_kernel() {
  return {&K::template run<double>, &K::template run<float>};
}

extern template class KernelIO<double>;
extern template class KernelIO<float>;

}  // namespace rdasim::graphs
