// Ops that move or reinterpret data: Reshape and friends, Transpose, Concat, Split, Slice,
// Gather, Expand, Identity, Constant, Shape, Cast. Shape-giving inputs (Reshape's shape,
// Slice's starts and ends, ...) must be constants; importers fold the shape arithmetic that
// exporters emit into constants first.
#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "graphs/ops/helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;

std::int64_t product(const Shape& s, std::size_t begin, std::size_t end) {
  std::int64_t n = 1;
  for (std::size_t i = begin; i < end; ++i) n *= s[i];
  return n;
}

double no_flops(const OpContext&) { return 0.0; }

/// Axes from input `input` (opset 13+) or else the attribute "axes" (older opsets).
std::optional<std::vector<std::int64_t>> axes_of(const OpContext& ctx, std::size_t input) {
  if (auto from_input = ctx.const_ints(input, "axes")) return from_input;
  if (ctx.attrs().has("axes")) return ctx.attrs().get_ints("axes");
  return std::nullopt;
}

OpDef view(std::string kind, std::string summary) {
  OpDef def;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.flops = no_flops;
  def.is_view = true;
  return def;
}

OpDef mover(std::string kind, std::string summary) {
  OpDef def = view(std::move(kind), std::move(summary));
  def.is_view = false;
  return def;
}

std::vector<TensorInfo> reshape_infer(const OpContext& ctx) {
  const auto target = *ctx.const_ints(1, "the target shape");
  const Shape& in = ctx.in_shape(0);
  const bool allow_zero = ctx.attrs().get_int("allowzero", 0) != 0;
  Shape out(target.size());
  std::optional<std::size_t> inferred;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (inferred) ctx.fail(fmt::format("the target shape [{}] has more than one -1", fmt::join(target, ", ")));
      inferred = i;
      out[i] = 1;
    } else if (target[i] == 0 && !allow_zero) {
      if (i >= in.size()) ctx.fail(fmt::format("target dimension {} is 0 (copy) but the input has rank {}", i, in.size()));
      out[i] = in[i];
    } else if (target[i] < 0) {
      ctx.fail(fmt::format("the target shape [{}] has a negative dimension", fmt::join(target, ", ")));
    } else {
      out[i] = target[i];
    }
  }
  const auto total = checked_elements(in);
  const auto known = checked_elements(out);
  if (!total || !known) ctx.fail("the element count overflows");
  if (inferred) {
    if (*known == 0 || *total % *known != 0) {
      ctx.fail(fmt::format("cannot reshape {} ({} elements) into [{}]", to_string(in), *total, fmt::join(target, ", ")));
    }
    out[*inferred] = *total / *known;
  } else if (*known != *total) {
    ctx.fail(fmt::format("cannot reshape {} ({} elements) into {} ({} elements)", to_string(in), *total,
                         to_string(out), *known));
  }
  return {{out, ctx.in_dtype(0)}};
}

std::vector<TensorInfo> slice_infer(const OpContext& ctx) {
  const Shape& in = ctx.in_shape(0);
  const auto starts = *ctx.const_ints(1, "starts");
  const auto ends = *ctx.const_ints(2, "ends");
  std::vector<std::int64_t> axes(starts.size());
  std::iota(axes.begin(), axes.end(), 0);
  if (auto given = ctx.const_ints(3, "axes")) axes = *given;
  std::vector<std::int64_t> steps(starts.size(), 1);
  if (auto given = ctx.const_ints(4, "steps")) steps = *given;
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
    ctx.fail(fmt::format("starts, ends, axes and steps have {}, {}, {} and {} values; expected the same number",
                         starts.size(), ends.size(), axes.size(), steps.size()));
  }
  Shape out = in;
  std::set<std::size_t> seen;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const std::size_t axis = ctx.normalize_axis(axes[i], in.size(), "axis");
    if (!seen.insert(axis).second) ctx.fail(fmt::format("axis {} is sliced twice", axis));
    const std::int64_t dim = in[axis];
    const std::int64_t step = steps[i];
    if (step == 0) ctx.fail("a step is 0");
    auto clamp_index = [&](std::int64_t v, std::int64_t lo, std::int64_t hi) {
      if (v < 0) v += dim;
      return std::clamp(v, lo, hi);
    };
    std::int64_t start = 0;
    std::int64_t end = 0;
    if (step > 0) {
      start = clamp_index(starts[i], 0, dim);
      end = clamp_index(ends[i], 0, dim);
      out[axis] = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = clamp_index(starts[i], 0, dim - 1);
      end = ends[i] < -dim ? -1 : clamp_index(ends[i], -1, dim - 1);
      out[axis] = start > end ? (start - end - step - 1) / -step : 0;
    }
  }
  return {{out, ctx.in_dtype(0)}};
}

std::vector<TensorInfo> split_infer(const OpContext& ctx) {
  const Shape& in = ctx.in_shape(0);
  const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", 0), in.size(), "axis");
  const std::size_t n = ctx.op().outputs.size();
  std::vector<std::int64_t> sizes;
  if (auto given = ctx.const_ints(1, "split")) sizes = *given;
  else if (ctx.attrs().has("split")) sizes = ctx.attrs().get_ints("split");
  if (sizes.empty()) {
    const std::int64_t chunk = (in[axis] + static_cast<std::int64_t>(n) - 1) / static_cast<std::int64_t>(n);
    for (std::size_t i = 0; i < n; ++i) {
      sizes.push_back(std::min(chunk, in[axis] - chunk * static_cast<std::int64_t>(i)));
    }
  }
  std::int64_t total = 0;
  for (auto s : sizes) total += s;
  if (sizes.size() != n || total != in[axis] || std::any_of(sizes.begin(), sizes.end(), [](auto s) { return s < 0; })) {
    ctx.fail(fmt::format("split sizes [{}] for {} outputs do not add up to dimension {} of size {}",
                         fmt::join(sizes, ", "), n, axis, in[axis]));
  }
  std::vector<TensorInfo> out;
  for (auto s : sizes) {
    Shape shape = in;
    shape[axis] = s;
    out.push_back({shape, ctx.in_dtype(0)});
  }
  return out;
}

std::vector<TensorInfo> squeeze_infer(const OpContext& ctx) {
  const Shape& in = ctx.in_shape(0);
  std::set<std::size_t> drop;
  if (auto axes = axes_of(ctx, 1)) {
    for (auto a : *axes) {
      const std::size_t axis = ctx.normalize_axis(a, in.size(), "axis");
      if (in[axis] != 1) ctx.fail(fmt::format("dimension {} of {} is not 1", axis, to_string(in)));
      drop.insert(axis);
    }
  } else {
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == 1) drop.insert(i);
    }
  }
  Shape out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!drop.contains(i)) out.push_back(in[i]);
  }
  return {{out, ctx.in_dtype(0)}};
}

std::vector<TensorInfo> unsqueeze_infer(const OpContext& ctx) {
  const Shape& in = ctx.in_shape(0);
  const auto axes = axes_of(ctx, 1);
  if (!axes || axes->empty()) ctx.fail("needs axes (an input, or an attribute before opset 13)");
  const std::size_t rank = in.size() + axes->size();
  std::set<std::size_t> inserted;
  for (auto a : *axes) {
    if (!inserted.insert(ctx.normalize_axis(a, rank, "axis")).second) ctx.fail(fmt::format("axis {} is repeated", a));
  }
  Shape out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < rank; ++i) out.push_back(inserted.contains(i) ? 1 : in[next++]);
  return {{out, ctx.in_dtype(0)}};
}

}  // namespace

void register_tensor_ops(OpRegistry& r) {
  OpDef flatten = view("Flatten", "[d0..dn] -> [d0*..*d(axis-1), d(axis)*..*dn]");
  flatten.attrs = {attr_int("axis", 1)};
  flatten.infer = [](const OpContext& ctx) {
    const Shape& in = ctx.in_shape(0);
    const auto rank = static_cast<std::int64_t>(in.size());
    std::int64_t axis = ctx.attrs().get_int("axis", 1);
    if (axis < -rank || axis > rank) {
      ctx.fail(fmt::format("axis {} is out of range for rank {}; expected {} to {}", axis, rank, -rank, rank));
    }
    const auto split = static_cast<std::size_t>(axis < 0 ? axis + rank : axis);
    return std::vector<TensorInfo>{{Shape{product(in, 0, split), product(in, split, in.size())}, ctx.in_dtype(0)}};
  };
  r.add(std::move(flatten));

  OpDef reshape = view("Reshape", "new shape from a constant: 0 copies a dimension, -1 is inferred");
  reshape.min_inputs = reshape.max_inputs = 2;
  reshape.attrs = {attr_int("allowzero", 0)};
  reshape.infer = reshape_infer;
  r.add(std::move(reshape));

  OpDef squeeze = view("Squeeze", "drop dimensions of size 1 (axes: input, or attribute before opset 13)");
  squeeze.max_inputs = 2;
  squeeze.attrs = {attr_ints("axes")};
  squeeze.infer = squeeze_infer;
  r.add(std::move(squeeze));

  OpDef unsqueeze = view("Unsqueeze", "insert dimensions of size 1 at the given output axes");
  unsqueeze.max_inputs = 2;
  unsqueeze.attrs = {attr_ints("axes")};
  unsqueeze.infer = unsqueeze_infer;
  r.add(std::move(unsqueeze));

  OpDef identity = view("Identity", "the input, unchanged");
  identity.infer = same_as_input;
  r.add(std::move(identity));

  OpDef transpose = mover("Transpose", "permute dimensions (default: reverse them)");
  transpose.attrs = {attr_ints("perm")};
  transpose.infer = [](const OpContext& ctx) {
    const Shape& in = ctx.in_shape(0);
    std::vector<std::int64_t> perm(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) perm[i] = static_cast<std::int64_t>(in.size() - 1 - i);
    perm = ctx.attrs().get_ints("perm", perm);
    std::vector<std::int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      if (sorted.size() != in.size() || sorted[i] != static_cast<std::int64_t>(i)) {
        ctx.fail(fmt::format("perm [{}] is not a permutation of the {} dimensions", fmt::join(perm, ", "), in.size()));
      }
    }
    Shape out;
    for (auto p : perm) out.push_back(in[static_cast<std::size_t>(p)]);
    return std::vector<TensorInfo>{{out, ctx.in_dtype(0)}};
  };
  r.add(std::move(transpose));

  OpDef concat = mover("Concat", "join inputs along an axis");
  concat.max_inputs = k_variadic;
  concat.attrs = {attr_required("axis", AttrType::int_)};
  concat.infer = [](const OpContext& ctx) {
    Shape out = ctx.in_shape(0);
    const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", 0), out.size(), "axis");
    for (std::size_t i = 1; i < ctx.num_inputs(); ++i) {
      const Shape& s = ctx.in_shape(i);
      bool ok = s.size() == out.size();
      for (std::size_t d = 0; ok && d < s.size(); ++d) ok = d == axis || s[d] == out[d];
      if (!ok) {
        ctx.fail(fmt::format("input '{}' {} does not match {} outside axis {}", ctx.input(i).name, to_string(s),
                             to_string(ctx.in_shape(0)), axis));
      }
      out[axis] += s[axis];
    }
    return std::vector<TensorInfo>{{out, ctx.in_dtype(0)}};
  };
  r.add(std::move(concat));

  OpDef split = mover("Split", "cut along an axis into the outputs (sizes: input, attribute, or equal)");
  split.max_inputs = 2;
  split.max_outputs = k_variadic;
  split.attrs = {attr_int("axis", 0), attr_ints("split"), attr_ints("num_outputs")};
  split.infer = split_infer;
  r.add(std::move(split));

  OpDef slice = mover("Slice", "a strided window per axis (starts, ends, axes, steps: constants)");
  slice.min_inputs = 3;
  slice.max_inputs = 5;
  slice.infer = slice_infer;
  r.add(std::move(slice));

  OpDef gather = mover("Gather", "take entries along an axis at integer indices");
  gather.min_inputs = gather.max_inputs = 2;
  gather.attrs = {attr_int("axis", 0)};
  gather.infer = [](const OpContext& ctx) {
    const Shape& data = ctx.in_shape(0);
    ctx.require_rank(0, 1, k_variadic, "data");
    if (is_float(ctx.in_dtype(1))) ctx.fail(fmt::format("indices '{}' must be integers", ctx.input(1).name));
    const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", 0), data.size(), "axis");
    Shape out(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(axis));
    for (auto d : ctx.in_shape(1)) out.push_back(d);
    out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.end());
    return std::vector<TensorInfo>{{out, ctx.in_dtype(0)}};
  };
  r.add(std::move(gather));

  OpDef expand = mover("Expand", "broadcast the input to a constant shape");
  expand.min_inputs = expand.max_inputs = 2;
  expand.infer = [](const OpContext& ctx) {
    const auto target = *ctx.const_ints(1, "the target shape");
    auto out = broadcast_shapes(ctx.in_shape(0), Shape(target.begin(), target.end()));
    if (!out) {
      ctx.fail(fmt::format("{} does not broadcast to [{}]", to_string(ctx.in_shape(0)), fmt::join(target, ", ")));
    }
    return std::vector<TensorInfo>{{*out, ctx.in_dtype(0)}};
  };
  r.add(std::move(expand));

  OpDef constant = mover("Constant", "a tensor of fixed values (held by its output tensor)");
  constant.min_inputs = constant.max_inputs = 0;
  constant.infer = [](const OpContext& ctx) {
    const Tensor& out = ctx.output(0);
    if (!out.values) ctx.fail(fmt::format("output '{}' has no values", out.name));
    if (static_cast<std::int64_t>(out.values->size()) != checked_elements(out.shape).value_or(-1)) {
      ctx.fail(fmt::format("output '{}' has {} values for shape {}", out.name, out.values->size(), to_string(out.shape)));
    }
    return std::vector<TensorInfo>{{out.shape, out.dtype}};
  };
  r.add(std::move(constant));

  OpDef shape = mover("Shape", "the input's shape as a 1-D i64 tensor (dimensions start to end)");
  shape.attrs = {attr_int("start", 0), AttrDecl{"end", AttrType::int_, std::nullopt, true}};
  shape.infer = [](const OpContext& ctx) {
    const auto rank = static_cast<std::int64_t>(ctx.in_shape(0).size());
    auto clamp = [rank](std::int64_t v) { return std::clamp(v < 0 ? v + rank : v, std::int64_t{0}, rank); };
    const std::int64_t start = clamp(ctx.attrs().get_int("start", 0));
    const std::int64_t end = clamp(ctx.attrs().get_int("end", rank));
    return std::vector<TensorInfo>{{Shape{std::max<std::int64_t>(0, end - start)}, DType::i64}};
  };
  shape.is_view = true;  // reads no data, only the shape
  r.add(std::move(shape));

  OpDef cast = mover("Cast", "convert elements to the type named by 'to'");
  cast.attrs = {attr_required("to", AttrType::string)};
  cast.infer = [](const OpContext& ctx) {
    const std::string to = ctx.attrs().get_string("to", "");
    auto dtype = parse_dtype(to);
    if (!dtype) ctx.fail(fmt::format("'to' is '{}', expected a type name such as f32, bf16 or i64", to));
    return std::vector<TensorInfo>{{ctx.in_shape(0), *dtype}};
  };
  cast.flops = flops_per_output(0);
  r.add(std::move(cast));
}

}  // namespace rdasim::graphs
