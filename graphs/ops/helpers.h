// Shared pieces of op definitions: element counts, common shape rules, attribute lists.
#pragma once

#include <numeric>

#include "graphs/op_registry.h"

namespace rdasim::graphs::ops {

/// Element count of a shape as a double, for FLOP formulas.
inline double count(const Shape& shape) {
  double n = 1;
  for (auto d : shape) n *= static_cast<double>(d);
  return n;
}

/// Boundaries of `size` elements cut into `parts` chunks as evenly as it goes (the first
/// size % parts one larger): chunk c is [result[c], result[c + 1]).
inline std::vector<std::size_t> even_chunks(std::size_t size, std::size_t parts) {
  std::vector<std::size_t> bounds{0};
  for (std::size_t c = 0; c < parts; ++c) bounds.push_back(bounds.back() + size / parts + (c < size % parts ? 1 : 0));
  return bounds;
}

/// Product of dimensions begin .. end-1.
inline std::int64_t product(const Shape& s, std::size_t begin, std::size_t end) {
  std::int64_t n = 1;
  for (std::size_t i = begin; i < end; ++i) n *= s[i];
  return n;
}

/// FLOPs proportional to the first output's elements.
inline std::function<double(const OpContext&)> flops_per_output(double per_element) {
  return [per_element](const OpContext& ctx) { return per_element * count(ctx.output(0).shape); };
}

/// The shape of the inputs joined along `axis` (Concat, AllGather): input 0's with every input's
/// extent there added, and the first input whose shape differs outside the axis, if any.
inline std::pair<Shape, std::optional<std::size_t>> joined_shape(const OpContext& ctx, std::size_t axis) {
  Shape out = ctx.in_shape(0);
  for (std::size_t i = 1; i < ctx.num_inputs(); ++i) {
    const Shape& s = ctx.in_shape(i);
    bool ok = s.size() == out.size();
    for (std::size_t d = 0; ok && d < s.size(); ++d) ok = d == axis || s[d] == out[d];
    if (!ok) return {out, i};
    out[axis] += s[axis];
  }
  return {out, std::nullopt};
}

/// Output 0 has the shape and type of input 0.
inline std::vector<TensorInfo> same_as_input(const OpContext& ctx) { return {{ctx.in_shape(0), ctx.in_dtype(0)}}; }

inline AttrDecl attr_int(std::string name, std::int64_t value) {
  return {std::move(name), AttrType::int_, value, false};
}
inline AttrDecl attr_float(std::string name, double value) { return {std::move(name), AttrType::float_, value, false}; }
inline AttrDecl attr_string(std::string name, std::string value) {
  return {std::move(name), AttrType::string, std::move(value), false};
}
inline AttrDecl attr_ints(std::string name) { return {std::move(name), AttrType::ints, std::nullopt, true}; }
inline AttrDecl attr_required(std::string name, AttrType type) { return {std::move(name), type, std::nullopt, false}; }

}  // namespace rdasim::graphs::ops
