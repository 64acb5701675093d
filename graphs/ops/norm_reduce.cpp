// Softmax, normalizations and reductions.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "graphs/autodiff.h"
#include "graphs/ops/helpers.h"
#include "graphs/ops/kernel_helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;
using namespace kernels;

/// Softmax (or LogSoftmax when `log`) along one axis, with the maximum subtracted first.
template <bool log>
struct SoftmaxKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const std::size_t axis = axis_index(io.attrs().get_int("axis", -1), x.shape.size());
    const std::int64_t outer = product(x.shape, 0, axis), dim = x.shape[axis];
    const std::int64_t inner = product(x.shape, axis + 1, x.shape.size());
    auto& y = io.out(0).data;
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t i = 0; i < inner; ++i) {
        auto at = [&](std::int64_t j) { return to_size((o * dim + j) * inner + i); };
        T max = -std::numeric_limits<T>::infinity();
        for (std::int64_t j = 0; j < dim; ++j) max = std::max(max, x.data[at(j)]);
        T sum = 0;
        for (std::int64_t j = 0; j < dim; ++j) sum += std::exp(x.data[at(j)] - max);
        for (std::int64_t j = 0; j < dim; ++j) {
          y[at(j)] = log ? x.data[at(j)] - max - std::log(sum) : std::exp(x.data[at(j)] - max) / sum;
        }
      }
    }
  }
};

enum class Reduction { sum, mean, max };

template <Reduction kind>
struct ReduceKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    std::vector<std::int64_t> axes = io.has_input(1) ? io.ints(1) : io.attrs().get_ints("axes");
    Array<T>& y = io.out(0);
    if (axes.empty() && io.attrs().get_int("noop_with_empty_axes", 0) != 0) {
      y.data = x.data;
      return;
    }
    // The output seen with the reduced dimensions kept as 1: each input element broadcasts
    // onto the output element it reduces into.
    Shape kept = x.shape;
    if (axes.empty()) std::fill(kept.begin(), kept.end(), 1);
    for (auto a : axes) kept[axis_index(a, x.shape.size())] = 1;
    const T init = kind == Reduction::max ? -std::numeric_limits<T>::infinity() : T(0);
    std::fill(y.data.begin(), y.data.end(), init);
    for_each_broadcast<1>(x.shape, {&kept}, [&](std::int64_t i, const std::array<std::int64_t, 1>& off) {
      T& acc = y.data[to_size(off[0])];
      const T v = x.data[to_size(i)];
      if constexpr (kind == Reduction::max) acc = (std::isnan(v) || v > acc) ? v : acc;
      else acc += v;
    });
    if constexpr (kind == Reduction::mean) {
      const auto n = static_cast<T>(x.size() / std::max<std::size_t>(y.size(), 1));
      for (auto& v : y.data) v /= n;
    }
  }
};

struct LayerNormKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const std::size_t axis = axis_index(io.attrs().get_int("axis", -1), x.shape.size());
    const auto epsilon = static_cast<T>(io.attrs().get_float("epsilon", 1e-5));
    const Shape normalized(x.shape.begin() + static_cast<std::ptrdiff_t>(axis), x.shape.end());
    const std::int64_t outer = product(x.shape, 0, axis), inner = product(x.shape, axis, x.shape.size());
    const auto scale = broadcast_to(io, 1, normalized, T(1));
    const auto bias = broadcast_to(io, 2, normalized, T(0));
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* in = x.data.data() + o * inner;
      T* out = io.out(0).data.data() + o * inner;
      T mean = 0;
      for (std::int64_t i = 0; i < inner; ++i) mean += in[i];
      mean /= static_cast<T>(inner);
      T var = 0;
      for (std::int64_t i = 0; i < inner; ++i) var += (in[i] - mean) * (in[i] - mean);
      var /= static_cast<T>(inner);
      const T inv_std = T(1) / std::sqrt(var + epsilon);
      for (std::int64_t i = 0; i < inner; ++i) {
        out[i] = (in[i] - mean) * inv_std * scale[to_size(i)] + bias[to_size(i)];
      }
      if (io.has_output(1)) io.out(1).data[to_size(o)] = mean;
      if (io.has_output(2)) io.out(2).data[to_size(o)] = inv_std;
    }
  }
};

struct BatchNormKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    const auto epsilon = static_cast<T>(io.attrs().get_float("epsilon", 1e-5));
    const std::int64_t batch = x.shape[0], channels = x.shape[1];
    const std::int64_t inner = product(x.shape, 2, x.shape.size());
    for (std::int64_t c = 0; c < channels; ++c) {
      const auto ci = to_size(c);
      const T scale = io.in(1).data[ci] / std::sqrt(io.in(4).data[ci] + epsilon);
      const T shift = io.in(2).data[ci] - io.in(3).data[ci] * scale;
      for (std::int64_t n = 0; n < batch; ++n) {
        const std::int64_t at = (n * channels + c) * inner;
        for (std::int64_t i = 0; i < inner; ++i) {
          io.out(0).data[to_size(at + i)] = x.data[to_size(at + i)] * scale + shift;
        }
      }
    }
  }
};

/// SumTo: the sum of x over the dimensions that broadcasting x from `shape` added or
/// stretched (the backward pass of broadcasting).
struct SumToKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x = io.in(0);
    Array<T>& y = io.out(0);
    std::fill(y.data.begin(), y.data.end(), T(0));
    for_each_broadcast<1>(x.shape, {&y.shape}, [&](std::int64_t i, const std::array<std::int64_t, 1>& off) {
      y.data[to_size(off[0])] += x.data[to_size(i)];
    });
  }
};

/// The reduced input's shape with the reduced dimensions kept as 1, and the number of
/// elements each output element reduces.
std::pair<Shape, double> kept_shape(const GradientBuilder& b) {
  const Shape in = b.shape(b.input(0));
  std::vector<std::int64_t> axes;
  if (b.has_input(1)) {
    const auto& v = b.tensor(b.input(1)).values;
    if (!v) b.unsupported("the axes are not a constant");
    axes.assign(v->begin(), v->end());
  } else {
    axes = b.attrs().get_ints("axes");
  }
  Shape kept = in;
  if (axes.empty() && b.attrs().get_int("noop_with_empty_axes", 0) == 0) std::fill(kept.begin(), kept.end(), 1);
  for (auto a : axes) kept[axis_index(a, in.size())] = 1;
  const double n = count(in) / std::max(1.0, count(kept));
  return {kept, n};
}

void reduce_gradient(GradientBuilder& b) {
  const auto [kept, n] = kept_shape(b);
  TensorId g = b.reshape(b.grad_output(0), kept);
  if (b.op().kind == "ReduceMean") g = b.emit("Mul", "scaled", {g, b.scalar("one_over_n", 1.0 / n)});
  const Shape in = b.shape(b.input(0));
  if (b.op().kind == "ReduceMax") {
    // The gradient goes to the maxima, shared evenly among ties (as torch.amax's).
    const TensorId mask =
        b.emit("Cast", "mask", {b.emit("Equal", "is_max", {b.input(0), b.reshape(b.output(0), kept)})},
               make_attrs({{"to", std::string(to_string(b.tensor(b.input(0)).dtype))}}));
    std::vector<std::int64_t> reduced;  // every axis of size 1 in `kept`: the reduced ones, and harmless others
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (kept[i] == 1) reduced.push_back(to_i64(i));
    }
    const TensorId ties = reduced.empty() ? mask
                                          : b.emit("ReduceSum", "ties", {mask, b.ints("reduced", reduced)},
                                                   make_attrs({{"keepdims", std::int64_t{1}}}));
    b.set_grad(0, b.emit("Mul", "dx", {mask, b.emit("Div", "shared", {g, ties})}));
    return;
  }
  b.set_grad(0, kept == in ? g : b.emit("Expand", "dx", {g, b.ints("shape", {in.begin(), in.end()})}));
}

/// Softmax: dx = y (dy - sum(dy y)); LogSoftmax: dx = dy - e^y sum(dy), sums along the axis.
void softmax_gradient(GradientBuilder& b) {
  const Attrs sum_attrs = make_attrs({{"keepdims", std::int64_t{1}}});
  const TensorId axis = b.ints("axis", {b.attrs().get_int("axis", -1)});
  const TensorId g = b.grad_output(0), y = b.output(0);
  if (b.op().kind == "Softmax") {
    const TensorId dot = b.emit("ReduceSum", "dot", {b.emit("Mul", "gy", {g, y}), axis}, sum_attrs);
    b.set_grad(0, b.emit("Mul", "dx", {y, b.emit("Sub", "centred", {g, dot})}));
  } else {
    const TensorId total = b.emit("ReduceSum", "total", {g, axis}, sum_attrs);
    b.set_grad(0, b.emit("Sub", "dx", {g, b.emit("Mul", "spread", {b.emit("Exp", "p", {y}), total})}));
  }
}

/// LayerNormalization over the axes from `axis` on: with xhat = (x - mean) inv_std and
/// h = dy scale, dx = inv_std (h - mean(h) - xhat mean(h xhat)) (means over the normalized
/// axes); dscale = sum(dy xhat) and dbias = sum(dy) over the other axes. The statistics are
/// recomputed from x.
void layer_norm_gradient(GradientBuilder& b) {
  const Shape x = b.shape(b.input(0));
  const std::size_t axis = axis_index(b.attrs().get_int("axis", -1), x.size());
  std::vector<std::int64_t> normalized;
  for (std::size_t i = axis; i < x.size(); ++i) normalized.push_back(to_i64(i));
  const Attrs keep = make_attrs({{"keepdims", std::int64_t{1}}});
  const TensorId axes = b.ints("axes", normalized);
  const TensorId mean = b.emit("ReduceMean", "mean", {b.input(0), axes}, keep);
  const TensorId centred = b.emit("Sub", "centred", {b.input(0), mean});
  const TensorId var = b.emit("ReduceMean", "var", {b.emit("Mul", "square", {centred, centred}), axes}, keep);
  const TensorId inv_std =
      b.emit("Reciprocal", "inv_std",
             {b.emit("Sqrt", "std",
                     {b.emit("Add", "var_eps", {var, b.scalar("epsilon", b.attrs().get_float("epsilon", 1e-5))})})});
  const TensorId xhat = b.emit("Mul", "xhat", {centred, inv_std});
  const TensorId g = b.grad_output(0);
  if (b.wants(0)) {
    const TensorId h = b.emit("Mul", "h", {g, b.input(1)});
    const TensorId mean_h = b.emit("ReduceMean", "mean_h", {h, axes}, keep);
    const TensorId mean_hx = b.emit("ReduceMean", "mean_hx", {b.emit("Mul", "hx", {h, xhat}), axes}, keep);
    const TensorId inner = b.emit(
        "Sub", "inner", {b.emit("Sub", "h_centred", {h, mean_h}), b.emit("Mul", "xhat_mean_hx", {xhat, mean_hx})});
    b.set_grad(0, b.emit("Mul", "dx", {inner, inv_std}));
  }
  if (b.wants(1)) b.set_grad(1, b.sum_to(b.emit("Mul", "g_xhat", {g, xhat}), b.shape(b.input(1))));
  if (b.wants(2)) b.set_grad(2, b.sum_to(g, b.shape(b.input(2))));
}

/// BatchNormalization (inference form): y = x k + (B - mean k) with k = scale / sqrt(var + eps)
/// per channel; the statistics are constants.
void batch_norm_gradient(GradientBuilder& b) {
  if (b.wants(3) || b.wants(4)) b.unsupported("the running mean and variance must not depend on trained params");
  const Shape x = b.shape(b.input(0));
  Shape channel(x.size() - 1, 1);  // [C, 1, ...] broadcasts against [N, C, ...]
  channel[0] = x[1];
  const TensorId g = b.grad_output(0);
  const TensorId inv_std = b.emit(
      "Reciprocal", "inv_std",
      {b.emit("Sqrt", "std",
              {b.emit("Add", "var_eps", {b.input(4), b.scalar("epsilon", b.attrs().get_float("epsilon", 1e-5))})})});
  if (b.wants(0)) {
    const TensorId k = b.reshape(b.emit("Mul", "k", {b.input(1), inv_std}), channel);
    b.set_grad(0, b.emit("Mul", "dx", {g, k}));
  }
  if (b.wants(1)) {
    const TensorId mean = b.reshape(b.input(3), channel);
    const TensorId xhat =
        b.emit("Mul", "xhat", {b.emit("Sub", "centred", {b.input(0), mean}), b.reshape(inv_std, channel)});
    b.set_grad(1, b.reshape(b.sum_to(b.emit("Mul", "g_xhat", {g, xhat}), channel), {x[1]}));
  }
  if (b.wants(2)) b.set_grad(2, b.reshape(b.sum_to(g, channel), {x[1]}));
}

void softmax(OpRegistry& r, std::string kind, std::string summary, Kernel kernel) {
  OpDef def;
  def.gradient = softmax_gradient;
  def.kernel = kernel;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.attrs = {attr_int("axis", -1)};
  def.traits = reduction_traits([](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    const std::size_t rank = ctx.in_shape(0).size();
    return mixing_need(ctx, slot, out_axis, {ctx.normalize_axis(ctx.attrs().get_int("axis", -1), rank, "axis")});
  });
  def.traits->transcendental = true;  // exp, and a division or log
  def.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 1, k_variadic, "input");
    (void)ctx.normalize_axis(ctx.attrs().get_int("axis", -1), ctx.in_shape(0).size(), "axis");
    return same_as_input(ctx);
  };
  def.flops = flops_per_output(8);  // max, subtract, exp (4), sum, divide
  r.add(std::move(def));
}

/// The axes a Reduce* op combines: its axes (input or attribute), or all of them.
std::set<std::size_t> reduced_axes(const OpContext& ctx) {
  const Shape& in = ctx.in_shape(0);
  std::vector<std::int64_t> axes;
  if (auto given = ctx.const_ints(1, "axes")) axes = *given;
  else axes = ctx.attrs().get_ints("axes");
  std::set<std::size_t> reduced;
  for (auto a : axes) reduced.insert(ctx.normalize_axis(a, in.size(), "axis"));
  if (axes.empty() && ctx.attrs().get_int("noop_with_empty_axes", 0) == 0) {
    for (std::size_t i = 0; i < in.size(); ++i) reduced.insert(i);
  }
  return reduced;
}

void reduce(OpRegistry& r, std::string kind, std::string summary, Kernel kernel) {
  OpDef def;
  def.kernel = kernel;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.max_inputs = 2;  // axes as an input from opset 13 (ReduceSum) or 18
  def.attrs = {attr_ints("axes"), attr_int("keepdims", 1), attr_int("noop_with_empty_axes", 0)};
  def.infer = [](const OpContext& ctx) {
    const Shape& in = ctx.in_shape(0);
    const std::set<std::size_t> reduced = reduced_axes(ctx);
    const bool keep = ctx.attrs().get_int("keepdims", 1) != 0;
    Shape out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (!reduced.contains(i)) out.push_back(in[i]);
      else if (keep) out.push_back(1);
    }
    return std::vector<TensorInfo>{{out, ctx.in_dtype(0)}};
  };
  def.flops = [](const OpContext& ctx) { return count(ctx.in_shape(0)); };
  def.gradient = reduce_gradient;
  def.traits = reduction_traits([](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    if (slot > 0) return StreamNeed::whole();  // the axes
    const auto reduced = reduced_axes(ctx);
    return mixing_need(ctx, slot, out_axis, {reduced.begin(), reduced.end()});
  });
  r.add(std::move(def));
}

}  // namespace

void register_norm_reduce_ops(OpRegistry& r) {
  softmax(r, "Softmax", "exp(x) / sum(exp(x)) along an axis", make_kernel<SoftmaxKernel<false>>());
  softmax(r, "LogSoftmax", "x - log(sum(exp(x))) along an axis", make_kernel<SoftmaxKernel<true>>());
  reduce(r, "ReduceMean", "mean over axes (all when none)", make_kernel<ReduceKernel<Reduction::mean>>());
  reduce(r, "ReduceSum", "sum over axes (all when none)", make_kernel<ReduceKernel<Reduction::sum>>());
  reduce(r, "ReduceMax", "maximum over axes (all when none)", make_kernel<ReduceKernel<Reduction::max>>());

  OpDef layer_norm;
  layer_norm.kind = "LayerNormalization";
  layer_norm.summary = "normalize over the axes from 'axis' on, then scale and shift";
  layer_norm.min_inputs = 2;
  layer_norm.max_inputs = 3;
  layer_norm.max_outputs = 3;
  layer_norm.attrs = {attr_int("axis", -1), attr_float("epsilon", 1e-5), attr_int("stash_type", 1)};
  layer_norm.infer = [](const OpContext& ctx) {
    const Shape& x = ctx.in_shape(0);
    const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", -1), x.size(), "axis");
    const Shape normalized(x.begin() + static_cast<std::ptrdiff_t>(axis), x.end());
    for (std::size_t i = 1; i < 3; ++i) {
      if (!ctx.has_input(i)) continue;
      auto b = broadcast_shapes(ctx.in_shape(i), normalized);
      if (!b || *b != normalized) {
        ctx.fail(fmt::format("'{}' {} does not broadcast to the normalized shape {}", ctx.input(i).name,
                             to_string(ctx.in_shape(i)), to_string(normalized)));
      }
    }
    std::vector<TensorInfo> out{{x, ctx.in_dtype(0)}};
    Shape stats(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(axis));
    stats.resize(x.size(), 1);
    for (std::size_t i = 1; i < ctx.op().outputs.size(); ++i) out.push_back({stats, DType::f32});
    return out;
  };
  layer_norm.flops = flops_per_output(8);  // mean, variance, normalize, scale, shift
  layer_norm.kernel = make_kernel<LayerNormKernel>();
  layer_norm.gradient = [](GradientBuilder& b) {
    if (b.op().outputs.size() > 1 && (b.grad_output(1) != k_no_tensor || b.grad_output(2) != k_no_tensor)) {
      b.unsupported("the mean and inverse deviation outputs are used on the way to the loss");
    }
    layer_norm_gradient(b);
  };
  // Mean and variance over the normalized axes; scale and shift are params.
  layer_norm.traits = reduction_traits([](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    if (slot > 0) return StreamNeed::whole();
    const std::size_t rank = ctx.in_shape(0).size();
    std::vector<std::size_t> normalized;
    for (auto a = ctx.normalize_axis(ctx.attrs().get_int("axis", -1), rank, "axis"); a < rank; ++a)
      normalized.push_back(a);
    return mixing_need(ctx, slot, out_axis, normalized);
  });
  layer_norm.traits->param_uses = {ParamUse::by_rank, ParamUse::norm_scale, ParamUse::norm_shift};
  r.add(std::move(layer_norm));

  OpDef batch_norm;
  batch_norm.kind = "BatchNormalization";
  batch_norm.summary = "inference form: (x - mean) / sqrt(var + epsilon) * scale + B per channel";
  batch_norm.min_inputs = batch_norm.max_inputs = 5;
  batch_norm.max_outputs = 3;
  batch_norm.attrs = {attr_float("epsilon", 1e-5), attr_float("momentum", 0.9), attr_int("training_mode", 0)};
  batch_norm.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 2, k_variadic, "X");
    if (ctx.attrs().get_int("training_mode", 0) != 0 || ctx.op().outputs.size() > 1) {
      ctx.unsupported(
          "the training form (training_mode = 1, running statistics as outputs) is not supported; "
          "only inference");
    }
    const std::int64_t channels = ctx.in_shape(0)[1];
    for (std::size_t i = 1; i < 5; ++i) {
      if (ctx.in_shape(i) != Shape{channels}) {
        ctx.fail(fmt::format("'{}' must have shape [{}] (one value per channel), found {}", ctx.input(i).name, channels,
                             to_string(ctx.in_shape(i))));
      }
    }
    return same_as_input(ctx);
  };
  batch_norm.flops = flops_per_output(2);  // one multiply-add per element once folded
  batch_norm.kernel = make_kernel<BatchNormKernel>();
  batch_norm.gradient = batch_norm_gradient;
  // The inference form: a per-channel affine map of each element (statistics are params).
  batch_norm.traits = reduction_traits([](const OpContext&, std::size_t slot, std::size_t out_axis) {
    return slot == 0 ? StreamNeed{Dependency::same, static_cast<int>(out_axis), 0} : StreamNeed::whole();
  });
  batch_norm.traits->param_uses = {ParamUse::by_rank, ParamUse::norm_scale, ParamUse::norm_shift,
                                   ParamUse::running_mean, ParamUse::running_variance};
  r.add(std::move(batch_norm));

  OpDef sum_to;
  sum_to.kind = "SumTo";
  sum_to.summary = "sum over the dimensions broadcasting from 'shape' added or stretched (backward of broadcasting)";
  sum_to.attrs = {attr_required("shape", AttrType::ints)};
  sum_to.infer = [](const OpContext& ctx) {
    const auto target = ctx.attrs().get_ints("shape");
    const Shape shape(target.begin(), target.end());
    if (broadcast_shapes(shape, ctx.in_shape(0)) != ctx.in_shape(0)) {
      ctx.fail(fmt::format("{} does not broadcast to the input's {}", to_string(shape), to_string(ctx.in_shape(0))));
    }
    return std::vector<TensorInfo>{{shape, ctx.in_dtype(0)}};
  };
  sum_to.flops = [](const OpContext& ctx) { return count(ctx.in_shape(0)); };
  sum_to.kernel = make_kernel<SumToKernel>();
  sum_to.traits = elementwise_traits();
  // Sums the input's broadcast axes: a kept axis streams a slice at a time (the slice's other
  // axes summed), a summed one is needed whole.
  sum_to.traits->stream = [](const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
    return aligned_need(ctx, slot, out_axis, Dependency::slice);
  };
  r.add(std::move(sum_to));
}

}  // namespace rdasim::graphs
