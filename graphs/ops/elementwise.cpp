// Element-wise ops: unary maths and activations, broadcasting binary ops and comparisons,
// Where, Clip.
// FLOPs per element follow common practice: 1 for arithmetic and comparisons, more for the
// transcendental ones as noted.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numbers>

#include <fmt/format.h>

#include "graphs/autodiff.h"
#include "graphs/ops/helpers.h"
#include "graphs/ops/kernel_helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;
using namespace kernels;

/// Attributes a unary function may read, looked up once per execution.
struct UnaryParams {
  double alpha = 0.01;
  bool tanh_gelu = false;
  explicit UnaryParams(const Attrs& a)
      : alpha(a.get_float("alpha", 0.01)),
        tanh_gelu(a.get_string("approximate", "none") == "tanh") {}
};

/// Applies F (a functor type `(T x, const UnaryParams&) -> T`) to every element.
template <class F>
struct UnaryKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const UnaryParams p(io.attrs());
    const auto& x = io.in(0).data;
    auto& y = io.out(0).data;
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = F{}(x[i], p);
  }
};

/// Applies F (a functor type `(T a, T b) -> T`) with broadcasting.
template <class F>
struct BinaryKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    broadcast_binary(io.in(0), io.in(1), io.out(0), F{});
  }
};

struct WhereKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const auto& c = io.in(0).data;
    const auto& x = io.in(1).data;
    const auto& y = io.in(2).data;
    auto& out = io.out(0).data;
    for_each_broadcast<3>(io.out(0).shape, {&io.in(0).shape, &io.in(1).shape, &io.in(2).shape},
                          [&](std::int64_t o, const std::array<std::int64_t, 3>& off) {
                            out[to_size(o)] = c[to_size(off[0])] != T(0) ? x[to_size(off[1])] : y[to_size(off[2])];
                          });
  }
};

struct ClipKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const T lo = io.has_input(1) ? io.in(1).data.at(0) : -std::numeric_limits<T>::infinity();
    const T hi = io.has_input(2) ? io.in(2).data.at(0) : std::numeric_limits<T>::infinity();
    const auto& x = io.in(0).data;
    auto& y = io.out(0).data;
    // min(max(x, lo), hi) as ONNX defines it: when lo > hi every element becomes hi.
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = std::isnan(x[i]) ? x[i] : std::min(std::max(x[i], lo), hi);
  }
};

template <class T>
T sigmoid(T x) {
  // Split by sign so that neither branch overflows exp.
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

#define RDASIM_UNARY(name, expr)                                     \
  struct name {                                                      \
    template <class T>                                               \
    T operator()(T x, [[maybe_unused]] const UnaryParams& p) const { \
      return expr;                                                   \
    }                                                                \
  }
RDASIM_UNARY(SqrtFn, std::sqrt(x));
RDASIM_UNARY(ExpFn, std::exp(x));
RDASIM_UNARY(CosFn, std::cos(x));
RDASIM_UNARY(SinFn, std::sin(x));
RDASIM_UNARY(LogFn, std::log(x));
RDASIM_UNARY(NegFn, -x);
RDASIM_UNARY(AbsFn, std::abs(x));
RDASIM_UNARY(ReciprocalFn, T(1) / x);
RDASIM_UNARY(ReluFn, x > T(0) ? x : T(0));
RDASIM_UNARY(LeakyReluFn, x >= T(0) ? x : static_cast<T>(p.alpha) * x);
RDASIM_UNARY(SigmoidFn, sigmoid(x));
RDASIM_UNARY(TanhFn, std::tanh(x));
// log(1 + e^x) without overflow: x + log1p(e^-x) for positive x.
RDASIM_UNARY(SoftplusFn, x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)));
RDASIM_UNARY(ErfFn, std::erf(x));
RDASIM_UNARY(GeluFn,
             p.tanh_gelu
                 ? T(0.5) * x*(T(1) + std::tanh(T(std::sqrt(2.0 / std::numbers::pi)) * (x + T(0.044715) * x * x * x)))
                 : T(0.5) * x * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2))));
#undef RDASIM_UNARY

struct AddFn {
  template <class T>
  T operator()(T a, T b) const {
    return a + b;
  }
};
struct SubFn {
  template <class T>
  T operator()(T a, T b) const {
    return a - b;
  }
};
struct MulFn {
  template <class T>
  T operator()(T a, T b) const {
    return a * b;
  }
};
struct DivFn {
  template <class T>
  T operator()(T a, T b) const {
    return a / b;
  }
};
struct PowFn {
  template <class T>
  T operator()(T a, T b) const {
    return std::pow(a, b);
  }
};
/// A comparison as 1 or 0, for a bool output.
template <class Compare>
struct CompareFn {
  template <class T>
  T operator()(T a, T b) const {
    return Compare{}(a, b) ? T(1) : T(0);
  }
};

// ---- Gradients. UnaryGrad(dy, x) = dy * f'(x) for the unary kind named by 'of'; Clip also
// takes its bounds (the gradient passes where lo <= x <= hi, as PyTorch's clamp does).

template <class T>
using Derivative = T (*)(T x, const UnaryParams& p);

template <class T>
Derivative<T> derivative_of(const std::string& kind) {
  using P = const UnaryParams&;
  if (kind == "Sqrt") return [](T x, P) { return T(0.5) / std::sqrt(x); };
  if (kind == "Exp") return [](T x, P) { return std::exp(x); };
  if (kind == "Cos") return [](T x, P) { return -std::sin(x); };
  if (kind == "Sin") return [](T x, P) { return std::cos(x); };
  if (kind == "Log") return [](T x, P) { return T(1) / x; };
  if (kind == "Abs") return [](T x, P) { return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0)); };
  if (kind == "Reciprocal") return [](T x, P) { return -T(1) / (x * x); };
  if (kind == "Relu") return [](T x, P) { return x > T(0) ? T(1) : T(0); };
  if (kind == "LeakyRelu") return [](T x, P p) { return x > T(0) ? T(1) : static_cast<T>(p.alpha); };
  if (kind == "Sigmoid")
    return [](T x, P) {
      const T s = sigmoid(x);
      return s * (T(1) - s);
    };
  if (kind == "Tanh")
    return [](T x, P) {
      const T t = std::tanh(x);
      return T(1) - t * t;
    };
  if (kind == "Softplus") return [](T x, P) { return sigmoid(x); };
  if (kind == "Erf") return [](T x, P) { return T(2 / std::sqrt(std::numbers::pi)) * std::exp(-x * x); };
  if (kind == "Gelu") {
    return [](T x, P p) {
      if (p.tanh_gelu) {
        const T c = T(std::sqrt(2.0 / std::numbers::pi));
        const T t = std::tanh(c * (x + T(0.044715) * x * x * x));
        return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * c * (T(1) + T(3 * 0.044715) * x * x);
      }
      const T cdf = T(0.5) * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
      const T pdf = std::exp(-x * x / T(2)) / T(std::sqrt(2 * std::numbers::pi));
      return cdf + x * pdf;
    };
  }
  return nullptr;
}

struct UnaryGradKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const auto& dy = io.in(0).data;
    const auto& x = io.in(1).data;
    auto& dx = io.out(0).data;
    const std::string of = io.attrs().get_string("of", "");
    if (of == "Clip") {
      const T lo = io.has_input(2) ? io.in(2).data.at(0) : -std::numeric_limits<T>::infinity();
      const T hi = io.has_input(3) ? io.in(3).data.at(0) : std::numeric_limits<T>::infinity();
      for (std::size_t i = 0; i < x.size(); ++i) dx[i] = x[i] >= lo && x[i] <= hi ? dy[i] : T(0);
      return;
    }
    const Derivative<T> d = derivative_of<T>(of);
    if (d == nullptr) io.fail(fmt::format("'of' is '{}', which has no derivative here", of));
    const UnaryParams p(io.attrs());
    for (std::size_t i = 0; i < x.size(); ++i) dx[i] = dy[i] * d(x[i], p);
  }
};

/// The unary kinds UnaryGrad knows, with the FLOPs of f'(x) times dy per element.
const std::map<std::string, double, std::less<>>& unary_grad_flops() {
  static const std::map<std::string, double, std::less<>> flops = {
      {"Sqrt", 3}, {"Exp", 5},        {"Cos", 5},  {"Sin", 5},       {"Log", 2},
      {"Abs", 2},  {"Reciprocal", 3}, {"Relu", 2}, {"LeakyRelu", 2}, {"Sigmoid", 9},
      {"Tanh", 9}, {"Softplus", 7},   {"Erf", 8},  {"Gelu", 16},     {"Clip", 3}};
  return flops;
}

/// The gradient of a unary op: UnaryGrad(dy, x) with the op's own attributes.
void unary_gradient(GradientBuilder& b) {
  Attrs a = b.attrs();
  a.values["of"] = b.op().kind;
  b.set_grad(0, b.emit("UnaryGrad", "dx", {b.grad_output(0), b.input(0)}, std::move(a)));
}

void unary(OpRegistry& r, std::string kind, std::string summary, double flops, OpTraits traits, Kernel kernel,
           std::vector<AttrDecl> attrs = {}, std::function<void(GradientBuilder&)> gradient = unary_gradient) {
  OpDef def;
  def.gradient = std::move(gradient);
  def.kernel = kernel;
  def.traits = std::move(traits);
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
      ctx.fail(fmt::format("shapes {} and {} ('{}') do not broadcast", to_string(shape), to_string(ctx.in_shape(i)),
                           ctx.input(i).name));
    }
    shape = *b;
  }
  return {{shape, ctx.in_dtype(value_input)}};
}

void binary(OpRegistry& r, std::string kind, std::string summary, double flops, OpTraits traits, Kernel kernel,
            std::function<void(GradientBuilder&)> gradient) {
  OpDef def;
  def.gradient = std::move(gradient);
  def.kernel = kernel;
  def.traits = std::move(traits);
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

/// A broadcasting comparison with a bool output (not differentiable).
void comparison(OpRegistry& r, std::string kind, const std::string& relation, Kernel kernel) {
  OpDef def;
  def.kind = std::move(kind);
  def.summary = relation + ", broadcasting, as bool (not differentiable)";
  def.min_inputs = def.max_inputs = 2;
  def.infer = [](const OpContext& ctx) {
    if (ctx.in_dtype(0) != ctx.in_dtype(1)) {
      ctx.fail(fmt::format("inputs have different types: {} and {}", to_string(ctx.in_dtype(0)),
                           to_string(ctx.in_dtype(1))));
    }
    auto info = broadcast_all(ctx, 0, 0);
    info.front().dtype = DType::boolean;
    return info;
  };
  def.flops = flops_per_output(1);
  def.kernel = std::move(kernel);
  def.traits = elementwise_traits();
  r.add(std::move(def));
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  unary(r, "Sqrt", "square root", 1, transcendental_traits(), make_kernel<UnaryKernel<SqrtFn>>());
  unary(r, "Exp", "e^x (transcendental: 4 FLOPs)", 4, transcendental_traits(), make_kernel<UnaryKernel<ExpFn>>());
  unary(r, "Cos", "cosine (transcendental: 4 FLOPs)", 4, transcendental_traits(), make_kernel<UnaryKernel<CosFn>>());
  unary(r, "Sin", "sine (transcendental: 4 FLOPs)", 4, transcendental_traits(), make_kernel<UnaryKernel<SinFn>>());
  unary(r, "Log", "natural logarithm (transcendental: 4 FLOPs)", 4, transcendental_traits(),
        make_kernel<UnaryKernel<LogFn>>());
  unary(r, "Neg", "-x", 1, elementwise_traits(), make_kernel<UnaryKernel<NegFn>>(), {},
        [](GradientBuilder& b) { b.set_grad(0, b.emit("Neg", "dx", {b.grad_output(0)})); });
  unary(r, "Abs", "|x|", 1, elementwise_traits(), make_kernel<UnaryKernel<AbsFn>>());
  unary(r, "Reciprocal", "1 / x", 1, transcendental_traits(), make_kernel<UnaryKernel<ReciprocalFn>>());
  unary(r, "Relu", "max(x, 0)", 1, elementwise_traits(), make_kernel<UnaryKernel<ReluFn>>());
  unary(r, "LeakyRelu", "x if x >= 0 else alpha * x", 2, elementwise_traits(), make_kernel<UnaryKernel<LeakyReluFn>>(),
        {attr_float("alpha", 0.01)});
  unary(r, "Sigmoid", "1 / (1 + e^-x): exp, add, divide (6 FLOPs)", 6, transcendental_traits(),
        make_kernel<UnaryKernel<SigmoidFn>>());
  unary(r, "Tanh", "hyperbolic tangent (6 FLOPs)", 6, transcendental_traits(), make_kernel<UnaryKernel<TanhFn>>());
  unary(r, "Softplus", "log(1 + e^x) (9 FLOPs)", 9, transcendental_traits(), make_kernel<UnaryKernel<SoftplusFn>>());
  unary(r, "Erf", "error function (8 FLOPs)", 8, transcendental_traits(), make_kernel<UnaryKernel<ErfFn>>());
  unary(r, "Gelu", "x * Phi(x), exact (approximate='none') or tanh form (12 FLOPs)", 12, transcendental_traits(),
        make_kernel<UnaryKernel<GeluFn>>(), {attr_string("approximate", "none")});

  binary(r, "Add", "a + b, broadcasting", 1, elementwise_traits(), make_kernel<BinaryKernel<AddFn>>(),
         [](GradientBuilder& b) {
           for (std::size_t i = 0; i < 2; ++i) {
             if (b.wants(i)) b.set_grad(i, b.sum_to(b.grad_output(0), b.shape(b.input(i))));
           }
         });
  binary(r, "Sub", "a - b, broadcasting", 1, elementwise_traits(), make_kernel<BinaryKernel<SubFn>>(),
         [](GradientBuilder& b) {
           if (b.wants(0)) b.set_grad(0, b.sum_to(b.grad_output(0), b.shape(b.input(0))));
           if (b.wants(1)) b.set_grad(1, b.emit("Neg", "db", {b.sum_to(b.grad_output(0), b.shape(b.input(1)))}));
         });
  binary(
      r, "Mul", "a * b, broadcasting", 1, elementwise_traits(), make_kernel<BinaryKernel<MulFn>>(),
      [](GradientBuilder& b) {
        for (std::size_t i = 0; i < 2; ++i) {
          if (!b.wants(i)) continue;
          const TensorId other = b.input(1 - i);
          b.set_grad(i, b.sum_to(b.emit("Mul", i == 0 ? "da" : "db", {b.grad_output(0), other}), b.shape(b.input(i))));
        }
      });
  binary(r, "Div", "a / b, broadcasting", 1, transcendental_traits(), make_kernel<BinaryKernel<DivFn>>(),
         [](GradientBuilder& b) {
           const TensorId g = b.grad_output(0);
           if (b.wants(0)) b.set_grad(0, b.sum_to(b.emit("Div", "da", {g, b.input(1)}), b.shape(b.input(0))));
           if (b.wants(1)) {  // d(a/b)/db = -(a/b)/b
             const TensorId t = b.emit("Div", "db_ratio", {b.emit("Mul", "db_scaled", {g, b.output(0)}), b.input(1)});
             b.set_grad(1, b.emit("Neg", "db", {b.sum_to(t, b.shape(b.input(1)))}));
           }
         });
  binary(r, "Pow", "a ^ b, broadcasting (exp and log: 8 FLOPs)", 8, transcendental_traits(),
         make_kernel<BinaryKernel<PowFn>>(), [](GradientBuilder& b) {
           const TensorId g = b.grad_output(0);
           if (b.wants(0)) {  // b a^(b-1), the exponent in a's type (it may be an integer)
             const DType type = b.tensor(b.input(0)).dtype;
             const TensorId exponent =
                 b.tensor(b.input(1)).dtype == type
                     ? b.input(1)
                     : b.emit("Cast", "exponent", {b.input(1)}, make_attrs({{"to", std::string(to_string(type))}}));
             const TensorId lower =
                 b.emit("Pow", "a_pow", {b.input(0), b.emit("Sub", "b_minus_1", {exponent, b.scalar("one", 1.0)})});
             const TensorId slope = b.emit("Mul", "slope", {exponent, lower});
             b.set_grad(0, b.sum_to(b.emit("Mul", "da", {g, slope}), b.shape(b.input(0))));
           }
           if (b.wants(1)) {  // a^b log a
             const TensorId t = b.emit(
                 "Mul", "db", {b.emit("Mul", "db_scaled", {g, b.output(0)}), b.emit("Log", "log_a", {b.input(0)})});
             b.set_grad(1, b.sum_to(t, b.shape(b.input(1))));
           }
         });

  OpDef unary_grad;
  unary_grad.kind = "UnaryGrad";
  unary_grad.summary = "dy * f'(x) for the unary kind named by 'of' (the backward pass of element-wise ops)";
  unary_grad.min_inputs = 2;
  unary_grad.max_inputs = 4;
  unary_grad.attrs = {attr_required("of", AttrType::string), attr_float("alpha", 0.01),
                      attr_string("approximate", "none")};
  unary_grad.infer = [](const OpContext& ctx) {
    const std::string of = ctx.attrs().get_string("of", "");
    if (!unary_grad_flops().contains(of))
      ctx.fail(fmt::format("'of' is '{}', expected a unary kind with a derivative", of));
    if (ctx.in_shape(0) != ctx.in_shape(1)) {
      ctx.fail(fmt::format("dy {} and x {} differ in shape", to_string(ctx.in_shape(0)), to_string(ctx.in_shape(1))));
    }
    return same_as_input(ctx);
  };
  unary_grad.flops = [](const OpContext& ctx) {
    return unary_grad_flops().find(ctx.attrs().get_string("of", ""))->second * count(ctx.output(0).shape);
  };
  unary_grad.kernel = make_kernel<UnaryGradKernel>();
  unary_grad.traits = elementwise_traits();
  r.add(std::move(unary_grad));

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
  where.kernel = make_kernel<WhereKernel>();
  where.gradient = [](GradientBuilder& b) {
    if (b.wants(0)) b.unsupported("the condition is not differentiable");
    const TensorId zero = b.scalar("zero", 0.0);
    for (std::size_t i = 1; i < 3; ++i) {
      if (!b.wants(i)) continue;
      const std::vector<TensorId> in =
          i == 1 ? std::vector{b.input(0), b.grad_output(0), zero} : std::vector{b.input(0), zero, b.grad_output(0)};
      b.set_grad(i, b.sum_to(b.emit("Where", i == 1 ? "dx" : "dy", in), b.shape(b.input(i))));
    }
  };
  where.traits = elementwise_traits();
  r.add(std::move(where));

  comparison(r, "Equal", "a == b", make_kernel<BinaryKernel<CompareFn<std::equal_to<>>>>());
  comparison(r, "Less", "a < b", make_kernel<BinaryKernel<CompareFn<std::less<>>>>());
  comparison(r, "LessOrEqual", "a <= b", make_kernel<BinaryKernel<CompareFn<std::less_equal<>>>>());
  comparison(r, "Greater", "a > b", make_kernel<BinaryKernel<CompareFn<std::greater<>>>>());
  comparison(r, "GreaterOrEqual", "a >= b", make_kernel<BinaryKernel<CompareFn<std::greater_equal<>>>>());

  OpDef clip;
  clip.kind = "Clip";
  clip.summary = "min(max(x, lo), hi); lo and hi are optional scalar inputs";
  clip.min_inputs = 1;
  clip.max_inputs = 3;
  clip.infer = [](const OpContext& ctx) {
    for (std::size_t i = 1; i < 3; ++i) {
      if (ctx.has_input(i) && checked_elements(ctx.in_shape(i)).value_or(0) != 1) {
        ctx.fail(
            fmt::format("bound '{}' must be a scalar, found shape {}", ctx.input(i).name, to_string(ctx.in_shape(i))));
      }
    }
    return same_as_input(ctx);
  };
  clip.flops = flops_per_output(2);
  clip.kernel = make_kernel<ClipKernel>();
  clip.gradient = [](GradientBuilder& b) {
    if (b.wants(1) || b.wants(2)) b.unsupported("the bounds must not depend on trained params");
    std::vector<TensorId> in{b.grad_output(0), b.input(0)};
    for (std::size_t i = 1; i < 3; ++i) in.push_back(b.has_input(i) ? b.input(i) : k_no_tensor);
    while (in.back() == k_no_tensor) in.pop_back();
    b.set_grad(0, b.emit("UnaryGrad", "dx", std::move(in), make_attrs({{"of", std::string("Clip")}})));
  };
  clip.traits = elementwise_traits();
  r.add(std::move(clip));
}

}  // namespace rdasim::graphs
