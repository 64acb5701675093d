// Softmax, normalizations and reductions.
#include <set>

#include <fmt/format.h>

#include "graphs/ops/helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;

void softmax(OpRegistry& r, std::string kind, std::string summary) {
  OpDef def;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.attrs = {attr_int("axis", -1)};
  def.infer = [](const OpContext& ctx) {
    ctx.require_rank(0, 1, k_variadic, "input");
    (void)ctx.normalize_axis(ctx.attrs().get_int("axis", -1), ctx.in_shape(0).size(), "axis");
    return same_as_input(ctx);
  };
  def.flops = flops_per_output(8);  // max, subtract, exp (4), sum, divide
  r.add(std::move(def));
}

void reduce(OpRegistry& r, std::string kind, std::string summary) {
  OpDef def;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.max_inputs = 2;  // axes as an input from opset 13 (ReduceSum) or 18
  def.attrs = {attr_ints("axes"), attr_int("keepdims", 1), attr_int("noop_with_empty_axes", 0)};
  def.infer = [](const OpContext& ctx) {
    const Shape& in = ctx.in_shape(0);
    std::vector<std::int64_t> axes;
    if (auto given = ctx.const_ints(1, "axes")) axes = *given;
    else axes = ctx.attrs().get_ints("axes");
    std::set<std::size_t> reduced;
    for (auto a : axes) reduced.insert(ctx.normalize_axis(a, in.size(), "axis"));
    if (axes.empty() && ctx.attrs().get_int("noop_with_empty_axes", 0) == 0) {
      for (std::size_t i = 0; i < in.size(); ++i) reduced.insert(i);
    }
    const bool keep = ctx.attrs().get_int("keepdims", 1) != 0;
    Shape out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (!reduced.contains(i)) out.push_back(in[i]);
      else if (keep) out.push_back(1);
    }
    return std::vector<TensorInfo>{{out, ctx.in_dtype(0)}};
  };
  def.flops = [](const OpContext& ctx) { return count(ctx.in_shape(0)); };
  r.add(std::move(def));
}

}  // namespace

void register_norm_reduce_ops(OpRegistry& r) {
  softmax(r, "Softmax", "exp(x) / sum(exp(x)) along an axis");
  softmax(r, "LogSoftmax", "x - log(sum(exp(x))) along an axis");
  reduce(r, "ReduceMean", "mean over axes (all when none)");
  reduce(r, "ReduceSum", "sum over axes (all when none)");
  reduce(r, "ReduceMax", "maximum over axes (all when none)");

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
      ctx.unsupported("the training form (training_mode = 1, running statistics as outputs) is not supported; "
                      "only inference");
    }
    const std::int64_t channels = ctx.in_shape(0)[1];
    for (std::size_t i = 1; i < 5; ++i) {
      if (ctx.in_shape(i) != Shape{channels}) {
        ctx.fail(fmt::format("'{}' must have shape [{}] (one value per channel), found {}", ctx.input(i).name,
                             channels, to_string(ctx.in_shape(i))));
      }
    }
    return same_as_input(ctx);
  };
  batch_norm.flops = flops_per_output(2);  // one multiply-add per element once folded
  r.add(std::move(batch_norm));
}

}  // namespace rdasim::graphs
