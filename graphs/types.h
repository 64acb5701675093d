// Element types, shapes and tensor roles of the dataflow-graph IR.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdasim::graphs {

/// Element types, named as in ONNX.
enum class DType : std::uint8_t { f32, f64, bf16, f16, i64, i32, i8, u8, boolean };

[[nodiscard]] std::string_view to_string(DType dtype);
[[nodiscard]] std::optional<DType> parse_dtype(std::string_view name);
/// Bytes per element (bool: 1).
[[nodiscard]] std::int64_t byte_size(DType dtype);
[[nodiscard]] bool is_float(DType dtype);
/// The value of type `dtype` nearest to x, as a conversion would store it: floating types
/// round to nearest even (bf16: 8 significant bits; f16: 11, with subnormals and overflow to
/// infinity), integer types truncate toward zero and wrap, bool is x != 0.
[[nodiscard]] double representable(DType dtype, double x);
/// A float rounded to bf16 (its upper 16 bits, ties to even), as hardware converts: the fast
/// path of representable(DType::bf16, x) for values that are already floats.
[[nodiscard]] inline float round_to_bf16(float x) {
  const auto bits = std::bit_cast<std::uint32_t>(x);
  if ((bits & 0x7f800000u) == 0x7f800000u) return x;  // infinities and NaNs stay
  const std::uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  return std::bit_cast<float>(rounded);
}
/// Every dtype name, for error messages.
[[nodiscard]] const std::vector<std::string>& dtype_names();

/// What a tensor is to the graph.
enum class Role : std::uint8_t {
  input,       ///< fed from outside for every run
  param,       ///< trainable weights (initializers), fixed during inference
  constant,    ///< fixed values that are not trained (a Laplace kernel, a CSR support)
  state,       ///< optimizer state (Adam's moments): kept with the params, zero before step 1
  activation,  ///< produced and consumed inside the graph
  output,      ///< produced inside the graph and returned
};

[[nodiscard]] std::string_view to_string(Role role);
/// Params, constants and optimizer state: values kept with the weights (in PMUs while their
/// section runs) rather than produced and consumed as activations.
[[nodiscard]] inline bool is_stored(Role role) {
  return role == Role::param || role == Role::constant || role == Role::state;
}

/// Static dimensions, outermost first. A scalar has none.
using Shape = std::vector<std::int64_t>;

/// Number of elements; nullopt when a dimension is negative or the product overflows 63 bits.
[[nodiscard]] std::optional<std::int64_t> checked_elements(const Shape& shape);
/// "[2, 3, 4]".
[[nodiscard]] std::string to_string(const Shape& shape);

}  // namespace rdasim::graphs
