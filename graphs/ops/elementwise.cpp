// Element-wise ops: unary maths and activations, broadcasting binary ops, Where, Clip.
// FLOPs per element follow common practice: 1 for arithmetic and comparisons, more for the
// transcendental ones as noted.
#include <fmt/format.h>

#include "graphs/ops/helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;

void unary(OpRegistry& r, std::string kind, std::string summary, double flops,
           std::vector<AttrDecl> attrs = {}) {
  OpDef def;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.attrs = std::move(attrs);
  def.infer = [](const OpContext& ctx) {
    if (!is_float(ctx.in_dtype(0))) {
      ctx.fail(fmt::format("expected a floating-point input, found {} ('{}')", to_string(ctx.in_dtype(0)),
                           ctx.input(0).name));
    }
    return same_as_input(ctx);
  };
  def.flops = flops_per_output(flops);
  r.add(std::move(def));
}

std::vector<TensorInfo> broadcast_all(const OpContext& ctx, std::size_t first, std::size_t value_input) {
  Shape shape = ctx.in_shape(first);
  for (std::size_t i = first + 1; i < ctx.num_inputs(); ++i) {
    auto b = broadcast_shapes(shape, ctx.in_shape(i));
    if (!b) {
      ctx.fail(fmt::format("shapes {} and {} ('{}') do not broadcast", to_string(shape),
                           to_string(ctx.in_shape(i)), ctx.input(i).name));
    }
    shape = *b;
  }
  return {{shape, ctx.in_dtype(value_input)}};
}

void binary(OpRegistry& r, std::string kind, std::string summary, double flops) {
  OpDef def;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.min_inputs = def.max_inputs = 2;
  def.infer = [](const OpContext& ctx) {
    if (ctx.in_dtype(0) != ctx.in_dtype(1) && ctx.op().kind != "Pow") {
      ctx.fail(fmt::format("inputs have different types: {} ('{}') and {} ('{}')", to_string(ctx.in_dtype(0)),
                           ctx.input(0).name, to_string(ctx.in_dtype(1)), ctx.input(1).name));
    }
    return broadcast_all(ctx, 0, 0);
  };
  def.flops = flops_per_output(flops);
  r.add(std::move(def));
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  unary(r, "Sqrt", "square root", 1);
  unary(r, "Exp", "e^x (transcendental: 4 FLOPs)", 4);
  unary(r, "Log", "natural logarithm (transcendental: 4 FLOPs)", 4);
  unary(r, "Neg", "-x", 1);
  unary(r, "Abs", "|x|", 1);
  unary(r, "Reciprocal", "1 / x", 1);
  unary(r, "Relu", "max(x, 0)", 1);
  unary(r, "LeakyRelu", "x if x >= 0 else alpha * x", 2, {attr_float("alpha", 0.01)});
  unary(r, "Sigmoid", "1 / (1 + e^-x): exp, add, divide (6 FLOPs)", 6);
  unary(r, "Tanh", "hyperbolic tangent (6 FLOPs)", 6);
  unary(r, "Softplus", "log(1 + e^x) (9 FLOPs)", 9);
  unary(r, "Erf", "error function (8 FLOPs)", 8);
  unary(r, "Gelu", "x * Phi(x), exact (approximate='none') or tanh form (12 FLOPs)", 12,
        {attr_string("approximate", "none")});

  binary(r, "Add", "a + b, broadcasting", 1);
  binary(r, "Sub", "a - b, broadcasting", 1);
  binary(r, "Mul", "a * b, broadcasting", 1);
  binary(r, "Div", "a / b, broadcasting", 1);
  binary(r, "Pow", "a ^ b, broadcasting (exp and log: 8 FLOPs)", 8);

  OpDef where;
  where.kind = "Where";
  where.summary = "cond ? x : y, broadcasting";
  where.min_inputs = where.max_inputs = 3;
  where.infer = [](const OpContext& ctx) {
    if (ctx.in_dtype(1) != ctx.in_dtype(2)) {
      ctx.fail(fmt::format("x and y have different types: {} and {}", to_string(ctx.in_dtype(1)),
                           to_string(ctx.in_dtype(2))));
    }
    return broadcast_all(ctx, 0, 1);
  };
  where.flops = flops_per_output(1);
  r.add(std::move(where));

  OpDef clip;
  clip.kind = "Clip";
  clip.summary = "min(max(x, lo), hi); lo and hi are optional scalar inputs";
  clip.min_inputs = 1;
  clip.max_inputs = 3;
  clip.infer = [](const OpContext& ctx) {
    for (std::size_t i = 1; i < 3; ++i) {
      if (ctx.has_input(i) && checked_elements(ctx.in_shape(i)).value_or(0) != 1) {
        ctx.fail(fmt::format("bound '{}' must be a scalar, found shape {}", ctx.input(i).name,
                             to_string(ctx.in_shape(i))));
      }
    }
    return same_as_input(ctx);
  };
  clip.flops = flops_per_output(2);
  r.add(std::move(clip));
}

}  // namespace rdasim::graphs
