// Convolutions and pooling over 1-D, 2-D and 3-D spatial dimensions, with ONNX's auto_pad,
// pads (all begins, then all ends), strides, dilations, groups and ceil_mode.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "graphs/autodiff.h"
#include "graphs/ops/helpers.h"
#include "graphs/ops/kernel_helpers.h"

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
      ctx.fail(
          fmt::format("the window of {} (kernel {}, dilation {}) is larger than the padded input of {} "
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
    ctx.fail(
        fmt::format("kernel_shape [{}] differs from the weights' {}", fmt::join(declared, ", "), to_string(kernel)));
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

/// A sliding window's stream rule: X streams along the batch or a spatial axis, an output row
/// needing the input rows under its window (the halo: rows past its own); `mixes_channels`
/// (convolutions) needs every input channel for one output channel. The inputs past
/// `image_inputs` (weights, bias) are needed whole.
StreamRule window_stream(bool mixes_channels, std::size_t image_inputs = 1) {
  return [mixes_channels, image_inputs](const OpContext& ctx, std::size_t slot, std::size_t out_axis) -> StreamNeed {
    if (slot >= image_inputs) return StreamNeed::whole();
    if (out_axis == 0) return {Dependency::slice, 0, 0};  // image by image
    if (out_axis == 1) return mixes_channels ? StreamNeed::whole() : StreamNeed{Dependency::slice, 1, 0};
    const std::size_t i = out_axis - 2;
    const auto kernel =
        ctx.attrs().get_ints("kernel_shape", ctx.num_inputs() > 1 ? spatial_of(ctx.in_shape(1)) : Shape{});
    if (i >= kernel.size()) return StreamNeed::whole();
    const auto at = [&](const char* name, std::size_t k, std::int64_t fill) {
      const auto v = ctx.attrs().get_ints(name);
      return k < v.size() ? v[k] : fill;
    };
    // Output pixel (j, c) reads input rows up to j*s - p + (k-1)d, columns up to about c*s: past
    // the input position in step with it (j*s + c*s/W rows), (k-1)d - p rows.
    const std::int64_t halo = (kernel[i] - 1) * at("dilations", i, 1) - at("pads", i, 0);
    if (halo <= 0) return {Dependency::same, static_cast<int>(out_axis), 0};
    return {Dependency::window, static_cast<int>(out_axis), halo};
  };
}

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
  def.traits = elementwise_traits();  // a window per output, within its lane
  def.traits->stream = window_stream(false);
  def.traits->channels_last = true;
  return def;
}

// ---- Reference kernels. Spatial dimensions are padded to three (leading size-1 dimensions with
// kernel 1, stride 1, no padding) so one set of loops serves 1-D, 2-D and 3-D.

using namespace kernels;

struct Geometry3 {
  std::int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1};
  std::int64_t stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1};
  std::int64_t pad[3] = {0, 0, 0}, pad_end[3] = {0, 0, 0};
  [[nodiscard]] std::int64_t in_size() const { return in[0] * in[1] * in[2]; }
  [[nodiscard]] std::int64_t out_size() const { return out[0] * out[1] * out[2]; }
  [[nodiscard]] std::int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

/// The window geometry of a Conv or pooling op from its attributes and its (inferred) shapes;
/// `transposed` for ConvTranspose, where input and output swap roles in the pad arithmetic.
Geometry3 geometry(const Attrs& attrs, const Shape& x, const Shape& y, const std::vector<std::int64_t>& kernel,
                   bool transposed) {
  const std::size_t n = x.size() - 2;
  const std::size_t shift = 3 - n;
  const auto strides = attrs.get_ints("strides", std::vector<std::int64_t>(n, 1));
  const auto dilations = attrs.get_ints("dilations", std::vector<std::int64_t>(n, 1));
  const auto pads = attrs.get_ints("pads", std::vector<std::int64_t>(2 * n, 0));
  const auto output_padding = attrs.get_ints("output_padding", std::vector<std::int64_t>(n, 0));
  const std::string auto_pad = attrs.get_string("auto_pad", "NOTSET");
  const bool explicit_output_shape = transposed && attrs.has("output_shape");
  Geometry3 g;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t d = i + shift;
    g.in[d] = x[i + 2];
    g.out[d] = y[i + 2];
    g.kernel[d] = kernel[i];
    g.stride[d] = strides[i];
    g.dilation[d] = dilations[i];
    const std::int64_t extent = dilations[i] * (kernel[i] - 1) + 1;
    const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
    if (transposed && (same || explicit_output_shape)) {
      // ONNX ConvTranspose: total = stride*(in-1) + output_padding + extent - out; SAME_UPPER
      // puts the smaller half at the start.
      const std::int64_t total =
          std::max<std::int64_t>(0, strides[i] * (x[i + 2] - 1) + output_padding[i] + extent - y[i + 2]);
      g.pad[d] = auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
      g.pad_end[d] = total - g.pad[d];
    } else if (!transposed && same) {
      const std::int64_t total = std::max<std::int64_t>(0, (y[i + 2] - 1) * strides[i] + extent - x[i + 2]);
      g.pad[d] = auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
      g.pad_end[d] = total - g.pad[d];
    } else if (auto_pad != "VALID") {
      g.pad[d] = pads[i];
      g.pad_end[d] = pads[i + n];
    }
  }
  return g;
}

/// Calls f(output offset, input offset or -1 when in padding, kernel offset) for every output
/// position and kernel tap of one channel plane.
template <class F>
void for_each_tap(const Geometry3& g, F&& f) {
  for (std::int64_t o0 = 0; o0 < g.out[0]; ++o0)
    for (std::int64_t o1 = 0; o1 < g.out[1]; ++o1)
      for (std::int64_t o2 = 0; o2 < g.out[2]; ++o2) {
        const std::int64_t o = (o0 * g.out[1] + o1) * g.out[2] + o2;
        for (std::int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
          const std::int64_t i0 = o0 * g.stride[0] + k0 * g.dilation[0] - g.pad[0];
          for (std::int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
            const std::int64_t i1 = o1 * g.stride[1] + k1 * g.dilation[1] - g.pad[1];
            for (std::int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
              const std::int64_t i2 = o2 * g.stride[2] + k2 * g.dilation[2] - g.pad[2];
              const std::int64_t k = (k0 * g.kernel[1] + k1) * g.kernel[2] + k2;
              const bool inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1] && i2 >= 0 && i2 < g.in[2];
              f(o, inside ? (i0 * g.in[1] + i1) * g.in[2] + i2 : -1, k);
            }
          }
        }
      }
}

std::vector<std::int64_t> spatial_kernel(const Shape& w) { return {w.begin() + 2, w.end()}; }

/// Adds the optional bias (input 2, one value per output channel) to image n of y.
template <class T>
void add_channel_bias(const KernelIO<T>& io, Array<T>& y, std::int64_t n, std::int64_t positions) {
  if (!io.has_input(2)) return;
  const std::int64_t m = y.shape[1];
  for (std::int64_t mi = 0; mi < m; ++mi) {
    T* out = y.data.data() + (n * m + mi) * positions;
    for (std::int64_t p = 0; p < positions; ++p) out[p] += io.in(2).data[to_size(mi)];
  }
}

/// The im2col matrix [cg x taps, positions] of image n, group gi of x: the window of every
/// output position, zeros in the padding.
template <class T>
void im2col(const Array<T>& x, const Geometry3& g, std::int64_t n, std::int64_t gi, std::int64_t cg,
            std::vector<T>& cols) {
  const std::int64_t c = x.shape[1], taps = g.kernel_size(), positions = g.out_size();
  std::fill(cols.begin(), cols.end(), T(0));
  for (std::int64_t ci = 0; ci < cg; ++ci) {
    const T* plane = x.data.data() + ((n * c) + gi * cg + ci) * g.in_size();
    T* rows = cols.data() + ci * taps * positions;
    for_each_tap(g, [&](std::int64_t o, std::int64_t i, std::int64_t k) {
      if (i >= 0) rows[k * positions + o] = plane[i];
    });
  }
}

/// Convolution as im2col and a GEMM per image and group (the implicit GEMM the PCUs run).
struct ConvKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const Array<T>& w = io.in(1);
    Array<T>& y = io.out(0);
    const Geometry3 g = geometry(io.attrs(), x.shape, y.shape, spatial_kernel(w.shape), false);
    const std::int64_t group = io.attrs().get_int("group", 1);
    const std::int64_t batch = x.shape[0], c = x.shape[1], m = w.shape[0];
    const std::int64_t cg = c / group, mg = m / group;
    const std::int64_t taps = g.kernel_size(), positions = g.out_size();
    std::vector<T> cols(to_size(cg * taps * positions));
    for (std::int64_t n = 0; n < batch; ++n) {
      for (std::int64_t gi = 0; gi < group; ++gi) {
        im2col(x, g, n, gi, cg, cols);
        gemm(w.data.data() + gi * mg * cg * taps, false, cols.data(), false,
             y.data.data() + (n * m + gi * mg) * positions, mg, positions, cg * taps, T(1), T(0));
      }
      add_channel_bias(io, y, n, positions);
    }
  }
};

/// Every input element scatters weight-scaled copies into the output (the adjoint of Conv).
struct ConvTransposeKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const Array<T>& w = io.in(1);
    Array<T>& y = io.out(0);
    // Conv's loops with input and output swapped: the "output" positions walk over X.
    const Geometry3 g = geometry(io.attrs(), x.shape, y.shape, spatial_kernel(w.shape), true);
    Geometry3 walk = g;
    std::copy(std::begin(g.out), std::end(g.out), std::begin(walk.in));
    std::copy(std::begin(g.in), std::end(g.in), std::begin(walk.out));
    const std::int64_t group = io.attrs().get_int("group", 1);
    const std::int64_t batch = x.shape[0], c = x.shape[1], m = y.shape[1];
    const std::int64_t cg = c / group, mg = m / group, taps = g.kernel_size();
    std::fill(y.data.begin(), y.data.end(), T(0));
    for (std::int64_t n = 0; n < batch; ++n) {
      for (std::int64_t ci = 0; ci < c; ++ci) {
        const std::int64_t gi = ci / cg;
        const T* plane = x.data.data() + (n * c + ci) * g.in_size();
        for (std::int64_t mi = 0; mi < mg; ++mi) {
          const T* wk = w.data.data() + (ci * mg + mi) * taps;
          T* out = y.data.data() + (n * m + gi * mg + mi) * g.out_size();
          for_each_tap(walk, [&](std::int64_t i, std::int64_t o, std::int64_t k) {
            if (o >= 0) out[o] += plane[i] * wk[k];
          });
        }
      }
      add_channel_bias(io, y, n, g.out_size());
    }
  }
};

/// ConvWeightGrad(X, dY) = dW of Conv: per image and group, dY [M/g, positions] times the
/// im2col matrix of X transposed, accumulated over the batch (as a GEMM on the PCUs).
struct ConvWeightGradKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const Array<T>& dy = io.in(1);
    Array<T>& dw = io.out(0);
    const Geometry3 g = geometry(io.attrs(), x.shape, dy.shape, spatial_kernel(dw.shape), false);
    const std::int64_t group = io.attrs().get_int("group", 1);
    const std::int64_t batch = x.shape[0], c = x.shape[1], m = dy.shape[1];
    const std::int64_t cg = c / group, mg = m / group;
    const std::int64_t taps = g.kernel_size(), positions = g.out_size();
    std::vector<T> cols(to_size(cg * taps * positions));
    std::fill(dw.data.begin(), dw.data.end(), T(0));
    for (std::int64_t n = 0; n < batch; ++n) {
      for (std::int64_t gi = 0; gi < group; ++gi) {
        im2col(x, g, n, gi, cg, cols);
        gemm(dy.data.data() + (n * m + gi * mg) * positions, false, cols.data(), true,
             dw.data.data() + gi * mg * cg * taps, mg, cg * taps, positions, T(1), T(1));
      }
    }
  }
};

/// The window attributes of a Conv as its backward ops take them, with explicit pads.
Attrs window_attrs_of(const GradientBuilder& b) {
  const std::string auto_pad = b.attrs().get_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") b.unsupported("auto_pad " + auto_pad);
  Attrs a;
  const std::size_t n = b.shape(b.input(0)).size() - 2;
  a.values["strides"] = b.attrs().get_ints("strides", std::vector<std::int64_t>(n, 1));
  a.values["dilations"] = b.attrs().get_ints("dilations", std::vector<std::int64_t>(n, 1));
  a.values["pads"] = auto_pad == "VALID" ? std::vector<std::int64_t>(2 * n, 0)
                                         : b.attrs().get_ints("pads", std::vector<std::int64_t>(2 * n, 0));
  a.values["group"] = b.attrs().get_int("group", 1);
  return a;
}

/// Conv: dX = ConvTranspose(dY, W) with the output padding that restores X's size, dW =
/// ConvWeightGrad(X, dY), dB = dY summed over everything but channels.
void conv_gradient(GradientBuilder& b) {
  const Attrs window = window_attrs_of(b);
  const TensorId g = b.grad_output(0);
  const Shape x = b.shape(b.input(0));
  const Shape w = b.shape(b.input(1));
  const std::size_t n = x.size() - 2;
  if (b.wants(0)) {
    Attrs a = window;
    const auto strides = std::get<std::vector<std::int64_t>>(window.values.at("strides"));
    const auto dilations = std::get<std::vector<std::int64_t>>(window.values.at("dilations"));
    const auto pads = std::get<std::vector<std::int64_t>>(window.values.at("pads"));
    std::vector<std::int64_t> output_padding(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t extent = dilations[i] * (w[i + 2] - 1) + 1;
      output_padding[i] = (x[i + 2] + pads[i] + pads[i + n] - extent) % strides[i];
    }
    a.values["output_padding"] = output_padding;
    b.set_grad(0, b.emit("ConvTranspose", "dx", {g, b.input(1)}, std::move(a)));
  }
  if (b.wants(1)) {
    Attrs a = window;
    a.values["kernel_shape"] = std::vector<std::int64_t>(w.begin() + 2, w.end());
    b.set_grad(1, b.emit("ConvWeightGrad", "dw", {b.input(0), g}, std::move(a)));
  }
  if (b.wants(2)) {
    std::vector<std::int64_t> axes{0};
    for (std::size_t i = 0; i < n; ++i) axes.push_back(static_cast<std::int64_t>(i + 2));
    b.set_grad(2, b.emit("ReduceSum", "db", {g, b.ints("axes", axes)}, make_attrs({{"keepdims", std::int64_t{0}}})));
  }
}

/// ConvTranspose (group 1): the adjoint of Conv, so dX = Conv(dY, W) and dW =
/// ConvWeightGrad(dY, X) with the same window.
void conv_transpose_gradient(GradientBuilder& b) {
  if (b.attrs().get_int("group", 1) != 1) b.unsupported("groups");
  if (b.attrs().has("output_shape")) b.unsupported("an explicit output_shape");
  const Attrs window = window_attrs_of(b);
  const TensorId g = b.grad_output(0);
  const Shape w = b.shape(b.input(1));
  if (b.wants(0)) b.set_grad(0, b.emit("Conv", "dx", {g, b.input(1)}, window));
  if (b.wants(1)) {
    Attrs a = window;
    a.values["kernel_shape"] = std::vector<std::int64_t>(w.begin() + 2, w.end());
    b.set_grad(1, b.emit("ConvWeightGrad", "dw", {g, b.input(0)}, std::move(a)));
  }
  if (b.wants(2)) {
    std::vector<std::int64_t> axes{0};
    for (std::size_t i = 2; i < w.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    b.set_grad(2, b.emit("ReduceSum", "db", {g, b.ints("axes", axes)}, make_attrs({{"keepdims", std::int64_t{0}}})));
  }
}

/// Per output position of one channel plane, the input position of its window's maximum (the
/// first one among equals), or -1 for a window wholly in the padding.
template <class T>
std::vector<std::int64_t> window_argmax(const Geometry3& g, const T* in) {
  std::vector<std::int64_t> best(to_size(g.out_size()), -1);
  for_each_tap(g, [&](std::int64_t o, std::int64_t i, std::int64_t) {
    if (i >= 0 && (best[to_size(o)] < 0 || in[i] > in[best[to_size(o)]])) best[to_size(o)] = i;
  });
  return best;
}

/// AveragePool's divisor per output position: with count_include_pad the taps inside the
/// padded input (whose padding starts at coordinate 0), without it the taps inside the input.
template <class T>
std::vector<T> average_divisor(const Attrs& attrs, const Geometry3& g) {
  Geometry3 counted = g;
  if (attrs.get_int("count_include_pad", 0) != 0) {
    for (int d = 0; d < 3; ++d) {
      counted.in[d] = g.in[d] + g.pad[d] + g.pad_end[d];
      counted.pad[d] = 0;
    }
  }
  std::vector<T> divisor(to_size(g.out_size()), T(0));
  for_each_tap(counted, [&](std::int64_t o, std::int64_t i, std::int64_t) {
    if (i >= 0) divisor[to_size(o)] += T(1);
  });
  return divisor;
}

struct MaxPoolKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    Array<T>& y = io.out(0);
    const Geometry3 g = geometry(io.attrs(), x.shape, y.shape, io.attrs().get_ints("kernel_shape"), false);
    const bool column_major = io.attrs().get_int("storage_order", 0) != 0;
    const std::int64_t planes = x.shape[0] * x.shape[1];
    Array<T>* indices = io.has_output(1) ? &io.out(1) : nullptr;
    for (std::int64_t p = 0; p < planes; ++p) {
      const T* in = x.data.data() + p * g.in_size();
      T* out = y.data.data() + p * g.out_size();
      const auto best = window_argmax(g, in);
      for (std::int64_t o = 0; o < g.out_size(); ++o) {
        out[o] = best[to_size(o)] < 0 ? -std::numeric_limits<T>::infinity() : in[best[to_size(o)]];
      }
      if (!indices) continue;
      for (std::int64_t o = 0; o < g.out_size(); ++o) {
        std::int64_t i = best[to_size(o)];
        if (column_major) {  // spatial coordinates reversed: the last varies slowest
          const std::int64_t i0 = i / (g.in[1] * g.in[2]), i1 = i / g.in[2] % g.in[1], i2 = i % g.in[2];
          i = (i2 * g.in[1] + i1) * g.in[0] + i0;
        }
        indices->data[to_size(p * g.out_size() + o)] = static_cast<T>(p * g.in_size() + i);
      }
    }
  }
};

struct AveragePoolKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    Array<T>& y = io.out(0);
    const Geometry3 g = geometry(io.attrs(), x.shape, y.shape, io.attrs().get_ints("kernel_shape"), false);
    const auto divisor = average_divisor<T>(io.attrs(), g);
    const std::int64_t planes = x.shape[0] * x.shape[1];
    for (std::int64_t p = 0; p < planes; ++p) {
      const T* in = x.data.data() + p * g.in_size();
      T* out = y.data.data() + p * g.out_size();
      std::fill(out, out + g.out_size(), T(0));
      for_each_tap(g, [&](std::int64_t o, std::int64_t i, std::int64_t) {
        if (i >= 0) out[o] += in[i];
      });
      for (std::int64_t o = 0; o < g.out_size(); ++o) out[o] /= divisor[to_size(o)];
    }
  }
};

/// PoolGrad(dY, X), 'of' MaxPool or AveragePool with the pool's attributes: dX gets dY at each
/// window's maximum, or dY / divisor at every tap of the window.
struct PoolGradKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& dy = io.in(0);
    const Array<T>& x = io.in(1);
    Array<T>& dx = io.out(0);
    const Geometry3 g = geometry(io.attrs(), x.shape, dy.shape, io.attrs().get_ints("kernel_shape"), false);
    const bool max = io.attrs().get_string("of", "") == "MaxPool";
    const auto divisor = max ? std::vector<T>{} : average_divisor<T>(io.attrs(), g);
    std::fill(dx.data.begin(), dx.data.end(), T(0));
    const std::int64_t planes = x.shape[0] * x.shape[1];
    for (std::int64_t p = 0; p < planes; ++p) {
      const T* grad = dy.data.data() + p * g.out_size();
      T* out = dx.data.data() + p * g.in_size();
      if (max) {
        const auto best = window_argmax(g, x.data.data() + p * g.in_size());
        for (std::int64_t o = 0; o < g.out_size(); ++o) {
          if (best[to_size(o)] >= 0) out[best[to_size(o)]] += grad[o];
        }
      } else {
        for_each_tap(g, [&](std::int64_t o, std::int64_t i, std::int64_t) {
          if (i >= 0) out[i] += grad[o] / divisor[to_size(o)];
        });
      }
    }
  }
};

struct GlobalAveragePoolKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const std::int64_t planes = x.shape[0] * x.shape[1];
    const std::int64_t size = to_i64(x.size()) / std::max<std::int64_t>(planes, 1);
    for (std::int64_t p = 0; p < planes; ++p) {
      T sum = 0;
      for (std::int64_t i = 0; i < size; ++i) sum += x.data[to_size(p * size + i)];
      io.out(0).data[to_size(p)] = sum / static_cast<T>(size);
    }
  }
};

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
  conv.kernel = make_kernel<ConvKernel>();
  conv.gradient = conv_gradient;
  // An implicit GEMM per group: output positions x M/group channels, depth C/group x kernel.
  conv.traits = matrix_traits(
      GpuKernel::conv,
      [](const OpContext& ctx) {
        const Shape& w = ctx.in_shape(1);
        const Shape& y = ctx.output(0).shape;
        const std::int64_t group = std::max<std::int64_t>(1, ctx.attrs().get_int("group", 1));
        return GemmView{group, y[0] * static_cast<std::int64_t>(count(Shape(y.begin() + 2, y.end()))), w[0] / group,
                        static_cast<std::int64_t>(count(Shape(w.begin() + 1, w.end())))};
      },
      window_stream(true));
  conv.traits->channels_last = true;
  // The input channels of X [N, C, ...] and W [M, C, ...], a group's channels all together.
  conv.traits->reduction_cut = [](const OpContext& ctx) {
    if (ctx.attrs().get_int("group", 1) != 1) return std::optional<ReductionCut>();
    return std::optional<ReductionCut>(ReductionCut{{1, 1, -1}, {2}});
  };
  r.add(std::move(conv));

  OpDef weight_grad;
  weight_grad.kind = "ConvWeightGrad";
  weight_grad.summary = "dW of a Conv from X [N, C, ...] and dY [N, M, ...] (backward pass): [M, C/group, k...]";
  weight_grad.min_inputs = weight_grad.max_inputs = 2;
  add_window_attrs(weight_grad);
  weight_grad.attrs.back() = attr_required("kernel_shape", AttrType::ints);
  weight_grad.attrs.push_back(attr_int("group", 1));
  weight_grad.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 3, 5, "X");
    const Shape& x = ctx.in_shape(0);
    const Shape& dy = ctx.in_shape(1);
    const auto kernel = ctx.attrs().get_ints("kernel_shape");
    const std::int64_t group = ctx.attrs().get_int("group", 1);
    if (dy.size() != x.size() || dy[0] != x[0] || kernel.size() + 2 != x.size()) {
      ctx.fail(fmt::format("X {} and dY {} with kernel_shape [{}] do not belong to one convolution", to_string(x),
                           to_string(dy), fmt::join(kernel, ", ")));
    }
    if (group < 1 || x[1] % group != 0 || dy[1] % group != 0) {
      ctx.fail(fmt::format("channels {} and {} do not divide into {} groups", x[1], dy[1], group));
    }
    Shape out{dy[1], x[1] / group};
    out.insert(out.end(), kernel.begin(), kernel.end());
    return std::vector<TensorInfo>{{out, ctx.in_dtype(0)}};
  };
  weight_grad.flops = [](const OpContext& ctx) {  // the forward Conv's multiply-adds
    return 2.0 * count(ctx.in_shape(1)) * count(Shape(ctx.output(0).shape.begin() + 1, ctx.output(0).shape.end()));
  };
  weight_grad.kernel = make_kernel<ConvWeightGradKernel>();
  // dW [M, C/group x kernel] = dY [M, N x positions] x im2col(X)^T.
  weight_grad.traits = matrix_traits(
      GpuKernel::conv,
      [](const OpContext& ctx) {
        const Shape& dy = ctx.in_shape(1);
        const Shape& dw = ctx.output(0).shape;
        return GemmView{1, dw[0], static_cast<std::int64_t>(count(Shape(dw.begin() + 1, dw.end()))),
                        static_cast<std::int64_t>(count(Shape(dy.begin() + 2, dy.end()))) * dy[0]};
      },
      // Every weight sums over the whole batch and every position.
      [](const OpContext&, std::size_t, std::size_t) { return StreamNeed::whole(); });
  weight_grad.traits->channels_last = true;
  r.add(std::move(weight_grad));

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
  deconv.kernel = make_kernel<ConvTransposeKernel>();
  deconv.gradient = conv_transpose_gradient;
  // Per group: input positions x (M/group) channels, depth C/group x kernel.
  deconv.traits = matrix_traits(
      GpuKernel::conv,
      [](const OpContext& ctx) {
        const Shape& x = ctx.in_shape(0);
        const Shape& w = ctx.in_shape(1);
        const std::int64_t group = std::max<std::int64_t>(1, ctx.attrs().get_int("group", 1));
        return GemmView{group, x[0] * static_cast<std::int64_t>(count(Shape(x.begin() + 2, x.end()))), w[1],
                        x[1] / group * static_cast<std::int64_t>(count(Shape(w.begin() + 2, w.end())))};
      },
      window_stream(true));
  deconv.traits->channels_last = true;
  r.add(std::move(deconv));

  // Pools: PoolGrad(dY, X) with the pool's own attributes.
  const auto pool_gradient = [](GradientBuilder& b) {
    Attrs a = b.attrs();
    a.values["of"] = b.op().kind;
    b.set_grad(0, b.emit("PoolGrad", "dx", {b.grad_output(0), b.input(0)}, std::move(a)));
  };
  OpDef max_pool =
      pool("MaxPool", "maximum over sliding windows; optional second output: flat indices", "storage_order", 2);
  max_pool.kernel = make_kernel<MaxPoolKernel>();
  max_pool.gradient = pool_gradient;
  r.add(std::move(max_pool));
  OpDef average_pool = pool("AveragePool", "mean over sliding windows", "count_include_pad", 1);
  average_pool.kernel = make_kernel<AveragePoolKernel>();
  average_pool.gradient = pool_gradient;
  r.add(std::move(average_pool));

  OpDef pool_grad =
      pool("PoolGrad", "dX of MaxPool or AveragePool ('of') from dY and X (backward pass)", "count_include_pad", 1);
  pool_grad.min_inputs = pool_grad.max_inputs = 2;
  pool_grad.attrs.push_back(attr_int("storage_order", 0));
  pool_grad.attrs.push_back(attr_required("of", AttrType::string));
  pool_grad.infer = [](const OpContext& ctx) {
    const std::string of = ctx.attrs().get_string("of", "");
    if (of != "MaxPool" && of != "AveragePool")
      ctx.fail(fmt::format("'of' is '{}', expected 'MaxPool' or 'AveragePool'", of));
    const Shape& dy = ctx.in_shape(0);
    const Shape& x = ctx.in_shape(1);
    if (dy.size() != x.size() || dy.size() < 3 || dy[0] != x[0] || dy[1] != x[1]) {
      ctx.fail(fmt::format("dY {} does not belong to a pool of X {}", to_string(dy), to_string(x)));
    }
    return std::vector<TensorInfo>{{x, ctx.in_dtype(1)}};
  };
  pool_grad.flops = [](const OpContext& ctx) { return count(ctx.in_shape(0)) * window_volume(ctx); };
  pool_grad.kernel = make_kernel<PoolGradKernel>();
  pool_grad.traits->stream = window_stream(false, 2);
  r.add(std::move(pool_grad));

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
  global.kernel = make_kernel<GlobalAveragePoolKernel>();
  global.traits = reduction_traits([](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    std::vector<std::size_t> spatial;
    for (std::size_t a = 2; a < ctx.in_shape(0).size(); ++a) spatial.push_back(a);
    return mixing_need(ctx, slot, out_axis, spatial);
  });
  global.traits->channels_last = true;
  global.gradient = [](GradientBuilder& b) {  // dX = dY / positions, spread over the positions
    const Shape x = b.shape(b.input(0));
    const double positions = count(Shape(x.begin() + 2, x.end()));
    const TensorId scaled = b.emit("Mul", "scaled", {b.grad_output(0), b.scalar("one_over_n", 1.0 / positions)});
    b.set_grad(0, b.emit("Expand", "dx", {scaled, b.ints("shape", {x.begin(), x.end()})}));
  };
  r.add(std::move(global));
}

}  // namespace rdasim::graphs
