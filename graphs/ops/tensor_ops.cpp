// Ops that move or reinterpret data: Reshape and friends, Transpose, Concat, Split, Slice,
// Gather, Expand, Identity, Constant, Shape, Cast. Shape-giving inputs (Reshape's shape,
// Slice's starts and ends, ...) must be constants; importers fold the shape arithmetic that
// exporters emit into constants first.
#include <algorithm>
#include <array>
#include <numeric>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "graphs/autodiff.h"
#include "graphs/ops/helpers.h"
#include "graphs/ops/kernel_helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;

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
  def.traits = view_traits();
  return def;
}

/// An op that moves or makes data; `traits` says what runs it.
OpDef mover(std::string kind, std::string summary, OpTraits traits) {
  OpDef def = view(std::move(kind), std::move(summary));
  def.is_view = false;
  def.traits = std::move(traits);
  return def;
}

/// A data mover that keeps an axis where it is: the output's streamed axis streams from the
/// same axis of each input of the output's rank and extent there; an input cut or joined
/// along it (Slice, Split, Concat along the axis) or of another rank (index lists) is needed
/// whole.
StreamNeed kept_axis_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
  const Shape& in = ctx.in_shape(slot);
  const Shape& out = ctx.output(0).shape;
  if (in.size() != out.size() || in[out_axis] != out[out_axis]) return StreamNeed::whole();
  return {Dependency::same, static_cast<int>(out_axis), 0};
}

/// Gather and its backward: the output's axes are data's before `axis`, the indices' shape,
/// then data's after it. `data` is the operand shaped like the data (Gather's input 0 or, for
/// GatherGrad, the output); a gathered axis is needed whole.
StreamNeed gather_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis, bool backward) {
  if (slot != 0) return StreamNeed::whole();
  const std::size_t index_rank = ctx.in_shape(1).size();
  const std::size_t data_rank = backward ? ctx.output(0).shape.size() : ctx.in_shape(0).size();
  const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", 0), data_rank, "axis");
  // Map between the data's axes (d) and the gathered tensor's axes (g).
  if (!backward) {  // out is gathered: out_axis -> data axis
    if (out_axis < axis) return {Dependency::same, static_cast<int>(out_axis), 0};
    if (out_axis < axis + index_rank) return StreamNeed::whole();
    return {Dependency::same, static_cast<int>(out_axis - index_rank + 1), 0};
  }
  if (out_axis < axis) return {Dependency::same, static_cast<int>(out_axis), 0};  // out is data-shaped
  if (out_axis == axis) return StreamNeed::whole();
  return {Dependency::same, static_cast<int>(out_axis + index_rank - 1), 0};
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
      if (i >= in.size())
        ctx.fail(fmt::format("target dimension {} is 0 (copy) but the input has rank {}", i, in.size()));
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
      ctx.fail(
          fmt::format("cannot reshape {} ({} elements) into [{}]", to_string(in), *total, fmt::join(target, ", ")));
    }
    out[*inferred] = *total / *known;
  } else if (*known != *total) {
    ctx.fail(fmt::format("cannot reshape {} ({} elements) into {} ({} elements)", to_string(in), *total, to_string(out),
                         *known));
  }
  return {{out, ctx.in_dtype(0)}};
}

/// One sliced axis: the first index, the step and how many elements are taken.
struct SliceAxis {
  std::size_t axis = 0;
  std::int64_t start = 0, step = 1, count = 0;
};

/// Slice's windows with ONNX's clamping of starts and ends; `fail` reports bad arguments.
template <class Fail>
std::vector<SliceAxis> slice_plan(const Shape& in, const std::vector<std::int64_t>& starts,
                                  const std::vector<std::int64_t>& ends, std::vector<std::int64_t> axes,
                                  std::vector<std::int64_t> steps, Fail&& fail) {
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
    fail(fmt::format("starts, ends, axes and steps have {}, {}, {} and {} values; expected the same number",
                     starts.size(), ends.size(), axes.size(), steps.size()));
  }
  const auto rank = static_cast<std::int64_t>(in.size());
  std::vector<SliceAxis> plan;
  std::set<std::size_t> seen;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    if (axes[i] < -rank || axes[i] >= rank) fail(fmt::format("axis {} is out of range for rank {}", axes[i], rank));
    SliceAxis s;
    s.axis = static_cast<std::size_t>(axes[i] < 0 ? axes[i] + rank : axes[i]);
    if (!seen.insert(s.axis).second) fail(fmt::format("axis {} is sliced twice", s.axis));
    const std::int64_t dim = in[s.axis];
    s.step = steps[i];
    if (s.step == 0) fail("a step is 0");
    auto clamp_index = [&](std::int64_t v, std::int64_t lo, std::int64_t hi) {
      if (v < 0) v += dim;
      return std::clamp(v, lo, hi);
    };
    if (s.step > 0) {
      s.start = clamp_index(starts[i], 0, dim);
      const std::int64_t end = clamp_index(ends[i], 0, dim);
      s.count = end > s.start ? (end - s.start + s.step - 1) / s.step : 0;
    } else {
      s.start = clamp_index(starts[i], 0, dim - 1);
      const std::int64_t end = ends[i] < -dim ? -1 : clamp_index(ends[i], -1, dim - 1);
      s.count = s.start > end ? (s.start - end - s.step - 1) / -s.step : 0;
    }
    plan.push_back(s);
  }
  return plan;
}

std::vector<TensorInfo> slice_infer(const OpContext& ctx) {
  Shape out = ctx.in_shape(0);
  const auto plan = slice_plan(out, *ctx.const_ints(1, "starts"), *ctx.const_ints(2, "ends"),
                               ctx.const_ints(3, "axes").value_or(std::vector<std::int64_t>{}),
                               ctx.const_ints(4, "steps").value_or(std::vector<std::int64_t>{}),
                               [&](const std::string& message) { ctx.fail(message); });
  for (const auto& s : plan) out[s.axis] = s.count;
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

// ---- Reference kernels.

using namespace kernels;

/// out[i...] = in[offset + sum_d i_d * in_strides[d]] over the output's shape: the one loop
/// behind Transpose, Slice and Expand.
/// Calls f(o, at) for every element o of `shape` (row-major), where `at` starts at `offset`
/// and moves by strides[d] along dimension d.
template <class F>
void strided_walk(const Shape& shape, std::int64_t offset, const std::vector<std::int64_t>& strides, F&& f) {
  const std::size_t rank = shape.size();
  const auto total = to_size(checked_elements(shape).value_or(0));
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t at = offset;
  for (std::size_t o = 0; o < total; ++o) {
    f(o, at);
    for (std::size_t d = rank; d-- > 0;) {
      ++index[d];
      at += strides[d];
      if (index[d] < shape[d]) break;
      at -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
}

template <class T>
void strided_copy(const Array<T>& in, std::int64_t offset, const std::vector<std::int64_t>& in_strides, Array<T>& out) {
  strided_walk(out.shape, offset, in_strides,
               [&](std::size_t o, std::int64_t at) { out.data[o] = in.data[to_size(at)]; });
}

struct TransposeKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Shape& in = io.in(0).shape;
    std::vector<std::int64_t> perm(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) perm[i] = to_i64(in.size() - 1 - i);
    perm = io.attrs().get_ints("perm", perm);
    const auto strides = strides_of(in);
    std::vector<std::int64_t> permuted;
    for (auto p : perm) permuted.push_back(strides[to_size(p)]);
    strided_copy(io.in(0), 0, permuted, io.out(0));
  }
};

/// Concat and Split move blocks of `inner` elements: per outer index, each piece's slab.
struct ConcatKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    Array<T>& y = io.out(0);
    join_inputs(io, axis_index(io.attrs().get_int("axis", 0), y.shape.size()), y);
  }
};

struct SplitKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const std::size_t axis = axis_index(io.attrs().get_int("axis", 0), x.shape.size());
    const std::int64_t outer = product(x.shape, 0, axis), inner = product(x.shape, axis + 1, x.shape.size());
    std::int64_t at = 0;
    for (std::size_t i = 0; i < io.num_outputs(); ++i) {
      Array<T>& y = io.out(i);
      const std::int64_t slab = y.shape[axis] * inner;
      for (std::int64_t o = 0; o < outer; ++o) {
        std::copy_n(x.data.begin() + o * x.shape[axis] * inner + at, slab, y.data.begin() + o * slab);
      }
      at += slab;
    }
  }
};

struct SliceKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const auto plan = slice_plan(x.shape, io.ints(1), io.ints(2), io.ints(3), io.ints(4),
                                 [&](const std::string& message) { io.fail(message); });
    auto strides = strides_of(x.shape);
    std::int64_t offset = 0;
    for (const auto& s : plan) {
      offset += s.start * strides[s.axis];
      strides[s.axis] *= s.step;
    }
    strided_copy(x, offset, strides, io.out(0));
  }
};

/// Calls f(at, inner) with the offset in `data` of every slab Gather takes (inner elements
/// each), in the order of its output; an index out of range fails naming it.
template <class T, class F>
void for_each_gathered(const KernelIO<T>& io, const Shape& data, F&& f) {
  const std::size_t axis = axis_index(io.attrs().get_int("axis", 0), data.size());
  const std::int64_t outer = product(data, 0, axis), inner = product(data, axis + 1, data.size());
  const std::int64_t dim = data[axis];
  const auto indices = io.ints(1);
  for (std::int64_t o = 0; o < outer; ++o) {
    for (auto index : indices) {
      if (index < -dim || index >= dim) {
        io.fail(fmt::format("index {} is out of range for dimension {} of size {}", index, axis, dim));
      }
      f((o * dim + (index < 0 ? index + dim : index)) * inner, inner);
    }
  }
}

struct GatherKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    auto out = io.out(0).data.begin();
    for_each_gathered(io, x.shape,
                      [&](std::int64_t at, std::int64_t inner) { out = std::copy_n(x.data.begin() + at, inner, out); });
  }
};

/// SliceGrad(dY, starts, ends, axes, steps): zeros of the sliced input's shape with dY
/// written where Slice read it.
struct SliceGradKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    Array<T>& dx = io.out(0);
    std::fill(dx.data.begin(), dx.data.end(), T(0));
    const auto plan = slice_plan(dx.shape, io.ints(1), io.ints(2), io.ints(3), io.ints(4),
                                 [&](const std::string& message) { io.fail(message); });
    auto strides = strides_of(dx.shape);
    std::int64_t offset = 0;
    for (const auto& s : plan) {
      offset += s.start * strides[s.axis];
      strides[s.axis] *= s.step;
    }
    const auto& dy = io.in(0).data;
    strided_walk(io.in(0).shape, offset, strides,
                 [&](std::size_t o, std::int64_t at) { dx.data[to_size(at)] += dy[o]; });
  }
};

/// GatherGrad(dY, indices): zeros of the data's shape ('shape') with every dY slab added
/// where Gather took it (indices may repeat).
struct GatherGradKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    Array<T>& dx = io.out(0);
    std::fill(dx.data.begin(), dx.data.end(), T(0));
    auto in = io.in(0).data.begin();
    for_each_gathered(io, dx.shape, [&](std::int64_t at, std::int64_t inner) {
      for (std::int64_t i = 0; i < inner; ++i) dx.data[to_size(at + i)] += *in++;
    });
  }
};

/// The gradient of an op that only reinterprets its input: the gradient, reshaped back.
void view_gradient(GradientBuilder& b) { b.set_grad(0, b.reshape(b.grad_output(0), b.shape(b.input(0)))); }

void transpose_gradient(GradientBuilder& b) {
  const std::size_t rank = b.shape(b.input(0)).size();
  std::vector<std::int64_t> perm(rank);
  for (std::size_t i = 0; i < rank; ++i) perm[i] = to_i64(rank - 1 - i);
  perm = b.attrs().get_ints("perm", perm);
  std::vector<std::int64_t> inverse(rank);
  for (std::size_t i = 0; i < rank; ++i) inverse[to_size(perm[i])] = to_i64(i);
  b.set_grad(0, b.emit("Transpose", "dx", {b.grad_output(0)}, make_attrs({{"perm", inverse}})));
}

/// Concat: each input's gradient is its slab of dY, cut out by a Slice.
void concat_gradient(GradientBuilder& b) {
  const std::size_t rank = b.shape(b.output(0)).size();
  const auto axis = to_i64(axis_index(b.attrs().get_int("axis", 0), rank));
  std::int64_t at = 0;
  for (std::size_t i = 0; i < b.op().inputs.size(); ++i) {
    const std::int64_t size = b.shape(b.input(i))[to_size(axis)];
    if (b.wants(i)) {
      const std::string what = fmt::format("d{}", i);
      b.set_grad(i, b.emit("Slice", what,
                           {b.grad_output(0), b.ints(what + "_start", {at}), b.ints(what + "_end", {at + size}),
                            b.ints(what + "_axis", {axis})}));
    }
    at += size;
  }
}

/// Split: dX is the outputs' gradients joined again (zeros for outputs off the loss's path).
void split_gradient(GradientBuilder& b) {
  std::vector<TensorId> parts;
  for (std::size_t k = 0; k < b.op().outputs.size(); ++k) parts.push_back(b.grad_output_or_zeros(k));
  const std::size_t rank = b.shape(b.input(0)).size();
  b.set_grad(
      0, b.emit("Concat", "dx", parts, make_attrs({{"axis", to_i64(axis_index(b.attrs().get_int("axis", 0), rank))}})));
}

void slice_gradient(GradientBuilder& b) {
  std::vector<TensorId> in{b.grad_output(0)};
  for (std::size_t i = 1; i < b.op().inputs.size(); ++i) in.push_back(b.input(i));
  const Shape x = b.shape(b.input(0));
  b.set_grad(0, b.emit("SliceGrad", "dx", std::move(in),
                       make_attrs({{"shape", std::vector<std::int64_t>(x.begin(), x.end())}})));
}

void gather_gradient(GradientBuilder& b) {
  const Shape x = b.shape(b.input(0));
  b.set_grad(0, b.emit("GatherGrad", "dx", {b.grad_output(0), b.input(1)},
                       make_attrs({{"axis", b.attrs().get_int("axis", 0)},
                                   {"shape", std::vector<std::int64_t>(x.begin(), x.end())}})));
}

struct ExpandKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    strided_copy(io.in(0), 0, broadcast_strides(io.in(0).shape, io.out(0).shape), io.out(0));
  }
};

struct ConstantOfShapeKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const T value = static_cast<T>(io.attrs().get_float("value", 0.0));
    std::fill(io.out(0).data.begin(), io.out(0).data.end(), value);
  }
};

struct RangeKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const T start = io.in(0).data.at(0), delta = io.in(2).data.at(0);
    for (std::size_t i = 0; i < io.out(0).size(); ++i) io.out(0).data[i] = start + static_cast<T>(i) * delta;
  }
};

struct ShapeKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Shape& in = io.in(0).shape;
    const auto rank = to_i64(in.size());
    std::int64_t start = io.attrs().get_int("start", 0);
    start = std::clamp(start < 0 ? start + rank : start, std::int64_t{0}, rank);
    for (std::size_t i = 0; i < io.out(0).size(); ++i) io.out(0).data[i] = static_cast<T>(in[to_size(start) + i]);
  }
};

struct CastKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const DType to = parse_dtype(io.attrs().get_string("to", "f32")).value();
    const auto& x = io.in(0).data;
    for (std::size_t i = 0; i < x.size(); ++i) {
      io.out(0).data[i] = static_cast<T>(representable(to, static_cast<double>(x[i])));
    }
  }
};

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
  flatten.kernel = make_kernel<CopyKernel>();
  flatten.gradient = view_gradient;
  r.add(std::move(flatten));

  OpDef reshape = view("Reshape", "new shape from a constant: 0 copies a dimension, -1 is inferred");
  reshape.min_inputs = reshape.max_inputs = 2;
  reshape.attrs = {attr_int("allowzero", 0)};
  reshape.infer = reshape_infer;
  reshape.kernel = make_kernel<CopyKernel>();
  reshape.gradient = view_gradient;
  r.add(std::move(reshape));

  OpDef squeeze = view("Squeeze", "drop dimensions of size 1 (axes: input, or attribute before opset 13)");
  squeeze.max_inputs = 2;
  squeeze.attrs = {attr_ints("axes")};
  squeeze.infer = squeeze_infer;
  squeeze.kernel = make_kernel<CopyKernel>();
  squeeze.gradient = view_gradient;
  r.add(std::move(squeeze));

  OpDef unsqueeze = view("Unsqueeze", "insert dimensions of size 1 at the given output axes");
  unsqueeze.max_inputs = 2;
  unsqueeze.attrs = {attr_ints("axes")};
  unsqueeze.infer = unsqueeze_infer;
  unsqueeze.kernel = make_kernel<CopyKernel>();
  unsqueeze.gradient = view_gradient;
  r.add(std::move(unsqueeze));

  OpDef identity = view("Identity", "the input, unchanged");
  identity.infer = same_as_input;
  identity.kernel = make_kernel<CopyKernel>();
  identity.gradient = view_gradient;
  r.add(std::move(identity));

  OpDef transpose = mover("Transpose", "permute dimensions (default: reverse them)", movement_traits(GpuKernel::none));
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
  transpose.kernel = make_kernel<TransposeKernel>();
  transpose.gradient = transpose_gradient;
  // Output axis a is input axis perm[a]: the input must stream along it (a reorder otherwise).
  transpose.traits->stream = [](const OpContext& ctx, std::size_t, std::size_t out_axis) -> StreamNeed {
    const std::size_t rank = ctx.in_shape(0).size();
    const auto perm = ctx.attrs().get_ints("perm", {});
    const auto from = perm.empty() ? static_cast<std::int64_t>(rank - 1 - out_axis) : perm[out_axis];
    return {Dependency::same, static_cast<int>(from), 0};
  };
  r.add(std::move(transpose));

  OpDef concat = mover(std::string(kind::concat), "join inputs along an axis", movement_traits(GpuKernel::vector));
  concat.max_inputs = k_variadic;
  concat.attrs = {attr_required("axis", AttrType::int_)};
  concat.infer = [](const OpContext& ctx) {
    const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", 0), ctx.in_shape(0).size(), "axis");
    const auto [out, bad] = joined_shape(ctx, axis);
    if (bad) {
      ctx.fail(fmt::format("input '{}' {} does not match {} outside axis {}", ctx.input(*bad).name,
                           to_string(ctx.in_shape(*bad)), to_string(ctx.in_shape(0)), axis));
    }
    return std::vector<TensorInfo>{{out, ctx.in_dtype(0)}};
  };
  concat.kernel = make_kernel<ConcatKernel>();
  concat.gradient = concat_gradient;
  concat.traits->stream = kept_axis_need;
  r.add(std::move(concat));

  OpDef split = mover("Split", "cut along an axis into the outputs (sizes: input, attribute, or equal)",
                      movement_traits(GpuKernel::none));
  split.max_inputs = 2;
  split.max_outputs = k_variadic;
  split.attrs = {attr_int("axis", 0), attr_ints("split"), attr_ints("num_outputs")};
  split.infer = split_infer;
  split.kernel = make_kernel<SplitKernel>();
  split.gradient = split_gradient;
  split.traits->stream = kept_axis_need;
  r.add(std::move(split));

  OpDef slice = mover("Slice", "a strided window per axis (starts, ends, axes, steps: constants)",
                      movement_traits(GpuKernel::none));
  slice.min_inputs = 3;
  slice.max_inputs = 5;
  slice.infer = slice_infer;
  slice.kernel = make_kernel<SliceKernel>();
  slice.gradient = slice_gradient;
  slice.traits->stream = kept_axis_need;
  r.add(std::move(slice));

  OpDef gather = mover("Gather", "take entries along an axis at integer indices", movement_traits(GpuKernel::vector));
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
  gather.kernel = make_kernel<GatherKernel>();
  gather.gradient = gather_gradient;
  gather.traits->gpu_for = [](const OpContext& ctx) {  // x[t]: PyTorch selects a view
    return ctx.has_input(1) && count(ctx.in_shape(1)) == 1 ? GpuKernel::none : GpuKernel::vector;
  };
  gather.traits->stream = [](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    return gather_need(ctx, slot, out_axis, false);
  };
  gather.traits->indexed_read = {{0}, 1};  // an embedding lookup fetches its rows, not the table
  r.add(std::move(gather));

  OpDef expand = mover("Expand", "broadcast the input to a constant shape", movement_traits(GpuKernel::none));
  expand.min_inputs = expand.max_inputs = 2;
  expand.infer = [](const OpContext& ctx) {
    const auto target = *ctx.const_ints(1, "the target shape");
    auto out = broadcast_shapes(ctx.in_shape(0), Shape(target.begin(), target.end()));
    if (!out) {
      ctx.fail(fmt::format("{} does not broadcast to [{}]", to_string(ctx.in_shape(0)), fmt::join(target, ", ")));
    }
    return std::vector<TensorInfo>{{*out, ctx.in_dtype(0)}};
  };
  expand.kernel = make_kernel<ExpandKernel>();
  expand.gradient = [](GradientBuilder& b) { b.set_grad(0, b.sum_to(b.grad_output(0), b.shape(b.input(0)))); };
  r.add(std::move(expand));

  OpDef constant = mover("Constant", "a tensor of fixed values (held by its output tensor)", view_traits());
  constant.min_inputs = constant.max_inputs = 0;
  constant.infer = [](const OpContext& ctx) {
    const Tensor& out = ctx.output(0);
    if (!out.values) ctx.fail(fmt::format("output '{}' has no values", out.name));
    if (static_cast<std::int64_t>(out.values->size()) != checked_elements(out.shape).value_or(-1)) {
      ctx.fail(
          fmt::format("output '{}' has {} values for shape {}", out.name, out.values->size(), to_string(out.shape)));
    }
    return std::vector<TensorInfo>{{out.shape, out.dtype}};
  };
  r.add(std::move(constant));

  OpDef shape = mover("Shape", "the input's shape as a 1-D i64 tensor (dimensions start to end)", view_traits());
  shape.attrs = {attr_int("start", 0), AttrDecl{"end", AttrType::int_, std::nullopt, true}};
  shape.infer = [](const OpContext& ctx) {
    const auto rank = static_cast<std::int64_t>(ctx.in_shape(0).size());
    auto clamp = [rank](std::int64_t v) { return std::clamp(v < 0 ? v + rank : v, std::int64_t{0}, rank); };
    const std::int64_t start = clamp(ctx.attrs().get_int("start", 0));
    const std::int64_t end = clamp(ctx.attrs().get_int("end", rank));
    return std::vector<TensorInfo>{{Shape{std::max<std::int64_t>(0, end - start)}, DType::i64}};
  };
  shape.is_view = true;  // reads no data, only the shape
  shape.kernel = make_kernel<ShapeKernel>();
  r.add(std::move(shape));

  // Shape arithmetic as exporters emit it (a causal mask from ConstantOfShape, Range and Less);
  // on constant inputs, as they are after import, shape inference computes their values.
  OpDef fill = mover("ConstantOfShape", "a tensor of the shape its input gives, every element 'value' of type 'dtype'",
                     movement_traits(GpuKernel::vector));
  fill.min_inputs = fill.max_inputs = 1;
  fill.attrs = {attr_float("value", 0.0), attr_string("dtype", "f32")};
  fill.infer = [](const OpContext& ctx) {
    if (!ctx.input(0).values) ctx.unsupported("a shape known only at run time gives a data-dependent shape");
    const auto dims = *ctx.const_ints(0, "the shape");
    for (const std::int64_t d : dims) {
      if (d < 0) ctx.fail(fmt::format("shape [{}] has a negative dimension", fmt::join(dims, ", ")));
    }
    const std::string name = ctx.attrs().get_string("dtype", "f32");
    const auto dtype = parse_dtype(name);
    if (!dtype) ctx.fail(fmt::format("'dtype' is '{}', expected a type name such as f32 or i64", name));
    return std::vector<TensorInfo>{{Shape(dims.begin(), dims.end()), *dtype}};
  };
  fill.kernel = make_kernel<ConstantOfShapeKernel>();
  fill.traits->stream = [](const OpContext&, std::size_t, std::size_t) { return StreamNeed::whole(); };
  r.add(std::move(fill));

  OpDef range = mover("Range", "start, start + delta, ... up to (not including) limit: scalar inputs",
                      movement_traits(GpuKernel::vector));
  range.min_inputs = range.max_inputs = 3;
  range.infer = [](const OpContext& ctx) {
    std::array<double, 3> v{};
    const std::array<std::string_view, 3> names{"start", "limit", "delta"};
    for (std::size_t i = 0; i < 3; ++i) {
      if (!ctx.input(i).values) {
        ctx.unsupported(fmt::format("'{}' known only at run time gives a data-dependent shape", names[i]));
      }
      const auto& values = ctx.const_values(i, names[i]);
      if (values.size() != 1) ctx.fail(fmt::format("'{}' must be a scalar, found {} values", names[i], values.size()));
      if (ctx.in_dtype(i) != ctx.in_dtype(0)) ctx.fail("start, limit and delta must have one type");
      v[i] = values[0];
    }
    if (v[2] == 0) ctx.fail("delta is 0");
    const auto n = static_cast<std::int64_t>(std::max(0.0, std::ceil((v[1] - v[0]) / v[2])));
    return std::vector<TensorInfo>{{Shape{n}, ctx.in_dtype(0)}};
  };
  range.kernel = make_kernel<RangeKernel>();
  range.traits->stream = [](const OpContext&, std::size_t, std::size_t) { return StreamNeed::whole(); };
  r.add(std::move(range));

  OpDef cast = mover("Cast", "convert elements to the type named by 'to'", elementwise_traits());
  cast.attrs = {attr_required("to", AttrType::string)};
  cast.infer = [](const OpContext& ctx) {
    const std::string to = ctx.attrs().get_string("to", "");
    auto dtype = parse_dtype(to);
    if (!dtype) ctx.fail(fmt::format("'to' is '{}', expected a type name such as f32, bf16 or i64", to));
    return std::vector<TensorInfo>{{ctx.in_shape(0), *dtype}};
  };
  cast.flops = flops_per_output(0);
  cast.kernel = make_kernel<CastKernel>();
  cast.gradient = [](GradientBuilder& b) {
    b.set_grad(0, b.emit("Cast", "dx", {b.grad_output(0)},
                         make_attrs({{"to", std::string(to_string(b.tensor(b.input(0)).dtype))}})));
  };
  r.add(std::move(cast));

  OpDef slice_grad = mover("SliceGrad", "zeros of 'shape' with dY placed where Slice read it (backward of Slice)",
                           movement_traits(GpuKernel::vector));
  slice_grad.min_inputs = 3;
  slice_grad.max_inputs = 5;
  slice_grad.attrs = {attr_required("shape", AttrType::ints)};
  slice_grad.infer = [](const OpContext& ctx) {
    const auto dims = ctx.attrs().get_ints("shape");
    Shape sliced(dims.begin(), dims.end());
    const auto plan = slice_plan(sliced, *ctx.const_ints(1, "starts"), *ctx.const_ints(2, "ends"),
                                 ctx.const_ints(3, "axes").value_or(std::vector<std::int64_t>{}),
                                 ctx.const_ints(4, "steps").value_or(std::vector<std::int64_t>{}),
                                 [&](const std::string& message) { ctx.fail(message); });
    for (const auto& p : plan) sliced[p.axis] = p.count;
    if (sliced != ctx.in_shape(0)) {
      ctx.fail(fmt::format("dY {} is not the slice {} of [{}]", to_string(ctx.in_shape(0)), to_string(sliced),
                           fmt::join(dims, ", ")));
    }
    return std::vector<TensorInfo>{{Shape(dims.begin(), dims.end()), ctx.in_dtype(0)}};
  };
  slice_grad.kernel = make_kernel<SliceGradKernel>();
  slice_grad.traits->stream = kept_axis_need;
  r.add(std::move(slice_grad));

  OpDef gather_grad = mover("GatherGrad", "zeros of 'shape' with dY added at the gathered indices (backward of Gather)",
                            movement_traits(GpuKernel::vector));
  gather_grad.min_inputs = gather_grad.max_inputs = 2;
  gather_grad.attrs = {attr_int("axis", 0), attr_required("shape", AttrType::ints)};
  gather_grad.infer = [](const OpContext& ctx) {
    const auto dims = ctx.attrs().get_ints("shape");
    const Shape data(dims.begin(), dims.end());
    if (data.empty()) ctx.fail("'shape' must have at least one dimension");
    const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", 0), data.size(), "axis");
    Shape gathered(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(axis));
    for (auto d : ctx.in_shape(1)) gathered.push_back(d);
    gathered.insert(gathered.end(), data.begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.end());
    if (gathered != ctx.in_shape(0)) {
      ctx.fail(fmt::format("dY {} is not what Gather gives for data {} ({} expected)", to_string(ctx.in_shape(0)),
                           to_string(data), to_string(gathered)));
    }
    return std::vector<TensorInfo>{{data, ctx.in_dtype(0)}};
  };
  gather_grad.flops = [](const OpContext& ctx) { return count(ctx.in_shape(0)); };  // the additions
  gather_grad.kernel = make_kernel<GatherGradKernel>();
  gather_grad.traits->stream = [](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    return gather_need(ctx, slot, out_axis, true);
  };
  r.add(std::move(gather_grad));
}

}  // namespace rdasim::graphs
