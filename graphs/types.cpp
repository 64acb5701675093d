// Names and sizes of element types; checked shape arithmetic.
#include "graphs/types.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace rdasim::graphs {

namespace {
struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::int64_t bytes;
  bool is_float;
};
constexpr std::array<DTypeInfo, 9> k_dtypes{{
    {DType::f32, "f32", 4, true},
    {DType::f64, "f64", 8, true},
    {DType::bf16, "bf16", 2, true},
    {DType::f16, "f16", 2, true},
    {DType::i64, "i64", 8, false},
    {DType::i32, "i32", 4, false},
    {DType::i8, "i8", 1, false},
    {DType::u8, "u8", 1, false},
    {DType::boolean, "bool", 1, false},
}};
const DTypeInfo& info(DType dtype) { return k_dtypes[static_cast<std::size_t>(dtype)]; }
}  // namespace

std::string_view to_string(DType dtype) { return info(dtype).name; }
std::int64_t byte_size(DType dtype) { return info(dtype).bytes; }
bool is_float(DType dtype) { return info(dtype).is_float; }

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& d : k_dtypes) {
    if (d.name == name) return d.dtype;
  }
  return std::nullopt;
}

const std::vector<std::string>& dtype_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& d : k_dtypes) out.emplace_back(d.name);
    return out;
  }();
  return names;
}

std::string_view to_string(Role role) {
  switch (role) {
    case Role::input: return "input";
    case Role::param: return "param";
    case Role::constant: return "const";
    case Role::state: return "state";
    case Role::activation: return "activation";
    case Role::output: return "output";
  }
  return "?";
}

std::optional<std::int64_t> checked_elements(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d) return std::nullopt;
    n *= d;
  }
  return n;
}

std::string to_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

namespace {

/// Rounds to `bits` significant bits, ties to even, with the exponent range of a binary format
/// (min_exponent: that of the smallest normal, as frexp counts; max: the largest finite value).
double round_binary(double x, int bits, int min_exponent, double max_finite) {
  if (!std::isfinite(x) || x == 0.0) return x;
  int exponent = 0;
  std::frexp(x, &exponent);
  // Below the normal range the spacing stays that of the smallest normal (subnormals).
  const int scale = std::max(exponent, min_exponent) - bits;
  const double rounded = std::ldexp(std::nearbyint(std::ldexp(x, -scale)), scale);
  return std::abs(rounded) > max_finite ? std::copysign(HUGE_VAL, x) : rounded;
}

double wrap(double truncated, double modulus, bool is_signed) {
  double v = std::fmod(truncated, modulus);
  if (v < 0) v += modulus;
  if (is_signed && v >= modulus / 2) v -= modulus;
  return v;
}

}  // namespace

double representable(DType dtype, double x) {
  switch (dtype) {
    case DType::f64: return x;
    case DType::f32: return static_cast<double>(static_cast<float>(x));
    case DType::bf16: return round_binary(x, 8, -125, 0x1.fep127);
    case DType::f16: return round_binary(x, 11, -13, 65504.0);
    case DType::boolean: return x != 0.0 ? 1.0 : 0.0;
    case DType::i64: return std::isfinite(x) ? std::trunc(x) : 0.0;
    case DType::i32: return std::isfinite(x) ? wrap(std::trunc(x), 0x1p32, true) : 0.0;
    case DType::i8: return std::isfinite(x) ? wrap(std::trunc(x), 256.0, true) : 0.0;
    case DType::u8: return std::isfinite(x) ? wrap(std::trunc(x), 256.0, false) : 0.0;
  }
  return x;
}

}  // namespace rdasim::graphs
