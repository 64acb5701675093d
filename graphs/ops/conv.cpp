// Convolutions and pooling over 1-D, 2-D and 3-D spatial dimensions, with ONNX's auto_pad,
// pads (all begins, then all ends), strides, dilations, groups and ceil_mode.
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "graphs/ops/helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;

/// Per spatial dimension: kernel, stride, dilation and the two pads, validated.
struct Window {
  std::vector<std::int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
  std::string auto_pad;
};

std::vector<std::int64_t> ints_or(const OpContext& ctx, const char* name, std::size_t n, std::int64_t fill) {
  auto v = ctx.attrs().get_ints(name, std::vector<std::int64_t>(n, fill));
  if (v.size() != n) {
    ctx.fail(fmt::format("{} has {} values, expected {} (one per spatial dimension{})", name, v.size(), n,
                         std::string_view(name) == "pads" ? ", begins then ends" : ""));
  }
  return v;
}

Window window(const OpContext& ctx, std::size_t spatial, const std::vector<std::int64_t>& kernel) {
  Window w;
  w.kernel = kernel;
  if (w.kernel.size() != spatial) {
    ctx.fail(fmt::format("kernel_shape has {} values, expected {}", w.kernel.size(), spatial));
  }
  w.strides = ints_or(ctx, "strides", spatial, 1);
  w.dilations = ints_or(ctx, "dilations", spatial, 1);
  w.pads = ints_or(ctx, "pads", 2 * spatial, 0);
  w.auto_pad = ctx.attrs().get_string("auto_pad", "NOTSET");
  if (w.auto_pad != "NOTSET" && w.auto_pad != "VALID" && w.auto_pad != "SAME_UPPER" && w.auto_pad != "SAME_LOWER") {
    ctx.fail(fmt::format("auto_pad '{}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER", w.auto_pad));
  }
  for (std::size_t i = 0; i < spatial; ++i) {
    if (w.kernel[i] < 1 || w.strides[i] < 1 || w.dilations[i] < 1) {
      ctx.fail(fmt::format("kernel {}, strides {} and dilations {} must be positive", fmt::join(w.kernel, "x"),
                           fmt::join(w.strides, "x"), fmt::join(w.dilations, "x")));
    }
  }
  for (auto p : w.pads) {
    if (p < 0) ctx.fail(fmt::format("pads must not be negative, found [{}]", fmt::join(w.pads, ", ")));
  }
  return w;
}

/// Output size of each spatial dimension of a sliding window.
Shape window_output(const OpContext& ctx, const Shape& in_spatial, const Window& w, bool ceil_mode) {
  Shape out(in_spatial.size());
  for (std::size_t i = 0; i < in_spatial.size(); ++i) {
    const std::int64_t in = in_spatial[i];
    const std::int64_t extent = w.dilations[i] * (w.kernel[i] - 1) + 1;
    if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") {
      out[i] = (in + w.strides[i] - 1) / w.strides[i];
      continue;
    }
    const std::int64_t padded = w.auto_pad == "VALID" ? in : in + w.pads[i] + w.pads[i + in_spatial.size()];
    if (padded < extent) {
      ctx.fail(fmt::format("the window of {} (kernel {}, dilation {}) is larger than the padded input of {} "
                           "in spatial dimension {}",
                           extent, w.kernel[i], w.dilations[i], padded, i));
    }
    const double steps = static_cast<double>(padded - extent) / static_cast<double>(w.strides[i]);
    out[i] = static_cast<std::int64_t>(ceil_mode ? std::ceil(steps) : std::floor(steps)) + 1;
    // A last window that would start in the end padding is dropped (ONNX and PyTorch agree).
    if (ceil_mode && (out[i] - 1) * w.strides[i] >= in + w.pads[i]) --out[i];
  }
  return out;
}

Shape spatial_of(const Shape& s) { return Shape(s.begin() + 2, s.end()); }

void add_window_attrs(OpDef& def) {
  def.attrs.push_back(attr_string("auto_pad", "NOTSET"));
  def.attrs.push_back(attr_ints("strides"));
  def.attrs.push_back(attr_ints("pads"));
  def.attrs.push_back(attr_ints("dilations"));
  def.attrs.push_back(attr_ints("kernel_shape"));
}

std::vector<TensorInfo> conv_infer(const OpContext& ctx) {
  ctx.require_rank(0, 3, 5, "X");
  const Shape& x = ctx.in_shape(0);
  const Shape& w = ctx.in_shape(1);
  if (w.size() != x.size()) {
    ctx.fail(fmt::format("weights {} must have the rank of X {}", to_string(w), to_string(x)));
  }
  const std::int64_t group = ctx.attrs().get_int("group", 1);
  if (group < 1 || w[0] % group != 0 || x[1] != w[1] * group) {
    ctx.fail(fmt::format("channels do not match: X has {} channels, weights {} with group {} expect {}", x[1],
                         to_string(w), group, w[1] * group));
  }
  if (ctx.has_input(2) && ctx.in_shape(2) != Shape{w[0]}) {
    ctx.fail(fmt::format("bias must have shape [{}], found {}", w[0], to_string(ctx.in_shape(2))));
  }
  const Shape kernel = spatial_of(w);
  const auto declared = ctx.attrs().get_ints("kernel_shape", kernel);
  if (declared != kernel) {
    ctx.fail(fmt::format("kernel_shape [{}] differs from the weights' {}", fmt::join(declared, ", "), to_string(kernel)));
  }
  Shape out{x[0], w[0]};
  for (auto d : window_output(ctx, spatial_of(x), window(ctx, x.size() - 2, kernel), false)) out.push_back(d);
  return {{out, ctx.in_dtype(0)}};
}

std::vector<TensorInfo> conv_transpose_infer(const OpContext& ctx) {
  ctx.require_rank(0, 3, 5, "X");
  const Shape& x = ctx.in_shape(0);
  const Shape& w = ctx.in_shape(1);
  if (w.size() != x.size()) ctx.fail(fmt::format("weights {} must have the rank of X {}", to_string(w), to_string(x)));
  const std::int64_t group = ctx.attrs().get_int("group", 1);
  if (group < 1 || w[0] != x[1] || x[1] % group != 0) {
    ctx.fail(fmt::format("channels do not match: X has {} channels, weights {} (group {})", x[1], to_string(w), group));
  }
  const std::int64_t m = w[1] * group;
  if (ctx.has_input(2) && ctx.in_shape(2) != Shape{m}) {
    ctx.fail(fmt::format("bias must have shape [{}], found {}", m, to_string(ctx.in_shape(2))));
  }
  const std::size_t spatial = x.size() - 2;
  const Window win = window(ctx, spatial, spatial_of(w));
  const auto output_padding = ints_or(ctx, "output_padding", spatial, 0);
  Shape out{x[0], m};
  const auto output_shape = ctx.attrs().get_ints("output_shape");
  if (!output_shape.empty()) {
    if (output_shape.size() != spatial) {
      ctx.fail(fmt::format("output_shape has {} values, expected {}", output_shape.size(), spatial));
    }
    out.insert(out.end(), output_shape.begin(), output_shape.end());
    return {{out, ctx.in_dtype(0)}};
  }
  for (std::size_t i = 0; i < spatial; ++i) {
    const std::int64_t in = x[i + 2];
    std::int64_t size = 0;
    if (win.auto_pad == "SAME_UPPER" || win.auto_pad == "SAME_LOWER") {
      size = in * win.strides[i];
    } else {
      const std::int64_t pads = win.auto_pad == "VALID" ? 0 : win.pads[i] + win.pads[i + spatial];
      size = win.strides[i] * (in - 1) + output_padding[i] + win.dilations[i] * (win.kernel[i] - 1) + 1 - pads;
    }
    if (size < 1) ctx.fail(fmt::format("the output would be empty in spatial dimension {} (size {})", i, size));
    out.push_back(size);
  }
  return {{out, ctx.in_dtype(0)}};
}

std::vector<TensorInfo> pool_infer(const OpContext& ctx) {
  ctx.require_rank(0, 3, 5, "X");
  const Shape& x = ctx.in_shape(0);
  const auto kernel = ctx.attrs().get_ints("kernel_shape");
  const Window w = window(ctx, x.size() - 2, kernel);
  Shape out{x[0], x[1]};
  for (auto d : window_output(ctx, spatial_of(x), w, ctx.attrs().get_int("ceil_mode", 0) != 0)) out.push_back(d);
  std::vector<TensorInfo> infos{{out, ctx.in_dtype(0)}};
  if (ctx.op().outputs.size() > 1) infos.push_back({out, DType::i64});  // MaxPool's Indices
  return infos;
}

double window_volume(const OpContext& ctx) { return count(ctx.attrs().get_ints("kernel_shape")); }

/// A pooling op: the window attributes (kernel_shape required), ceil_mode and one of its own.
OpDef pool(std::string kind, std::string summary, std::string own_attr, std::size_t max_outputs) {
  OpDef def;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.max_outputs = max_outputs;
  add_window_attrs(def);
  def.attrs.back() = attr_required("kernel_shape", AttrType::ints);
  def.attrs.push_back(attr_int("ceil_mode", 0));
  def.attrs.push_back(attr_int(std::move(own_attr), 0));
  def.infer = pool_infer;
  def.flops = [](const OpContext& ctx) { return count(ctx.output(0).shape) * window_volume(ctx); };
  return def;
}

}  // namespace

void register_conv_ops(OpRegistry& r) {
  OpDef conv;
  conv.kind = "Conv";
  conv.summary = "N-d convolution, X [N, C, ...] * W [M, C/group, k...] + B [M]";
  conv.min_inputs = 2;
  conv.max_inputs = 3;
  add_window_attrs(conv);
  conv.attrs.push_back(attr_int("group", 1));
  conv.infer = conv_infer;
  conv.flops = [](const OpContext& ctx) {
    const Shape& w = ctx.in_shape(1);
    const double per_output = 2.0 * count(Shape(w.begin() + 1, w.end()));  // C/group x kernel
    return count(ctx.output(0).shape) * (per_output + (ctx.has_input(2) ? 1.0 : 0.0));
  };
  r.add(std::move(conv));

  OpDef deconv;
  deconv.kind = "ConvTranspose";
  deconv.summary = "transposed convolution, X [N, C, ...] with W [C, M/group, k...]";
  deconv.min_inputs = 2;
  deconv.max_inputs = 3;
  add_window_attrs(deconv);
  deconv.attrs.push_back(attr_int("group", 1));
  deconv.attrs.push_back(attr_ints("output_padding"));
  deconv.attrs.push_back(attr_ints("output_shape"));
  deconv.infer = conv_transpose_infer;
  deconv.flops = [](const OpContext& ctx) {
    const Shape& w = ctx.in_shape(1);
    // Every input element scatters into M/group x kernel outputs.
    return 2.0 * count(ctx.in_shape(0)) * count(Shape(w.begin() + 1, w.end())) +
           (ctx.has_input(2) ? count(ctx.output(0).shape) : 0.0);
  };
  r.add(std::move(deconv));

  r.add(pool("MaxPool", "maximum over sliding windows; optional second output: flat indices", "storage_order", 2));
  r.add(pool("AveragePool", "mean over sliding windows", "count_include_pad", 1));

  OpDef global;
  global.kind = "GlobalAveragePool";
  global.summary = "mean over all spatial positions: [N, C, ...] -> [N, C, 1, ...]";
  global.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 3, k_variadic, "X");
    Shape out = ctx.in_shape(0);
    for (std::size_t i = 2; i < out.size(); ++i) out[i] = 1;
    return std::vector<TensorInfo>{{out, ctx.in_dtype(0)}};
  };
  global.flops = [](const OpContext& ctx) { return count(ctx.in_shape(0)); };
  r.add(std::move(global));
}

}  // namespace rdasim::graphs
