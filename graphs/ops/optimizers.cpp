// Optimizer updates: one fused op per parameter tensor, as a training step on the fabric runs
// them (element-wise on PCUs, next to where the weights and their state live). Semantics are
// PyTorch's torch.optim.SGD (momentum, no dampening) and Adam/AdamW; `step` is the 1-based
// step count that Adam's bias correction uses.
#include <cmath>

#include <fmt/format.h>

#include "graphs/ops/helpers.h"
#include "graphs/ops/kernel_helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;
using namespace kernels;

/// MomentumUpdate(p, g, v) -> (p', v'): g += wd p; v' = momentum v + g; p' = p - lr v'.
struct MomentumKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const auto lr = static_cast<T>(io.attrs().get_float("lr", 0.01));
    const auto momentum = static_cast<T>(io.attrs().get_float("momentum", 0.9));
    const auto wd = static_cast<T>(io.attrs().get_float("weight_decay", 0.0));
    const auto& p = io.in(0).data;
    const auto& g = io.in(1).data;
    const auto& v = io.in(2).data;
    auto& p_new = io.out(0).data;
    auto& v_new = io.out(1).data;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const T grad = g[i] + wd * p[i];
      v_new[i] = momentum * v[i] + grad;
      p_new[i] = p[i] - lr * v_new[i];
    }
  }
};

/// AdamUpdate(p, g, m, v) -> (p', m', v'), PyTorch's order of operations: with `decoupled`
/// (AdamW) p shrinks by lr wd first, else g += wd p; m' and v' are the moving averages;
/// p' = p - (lr / (1 - beta1^t)) m' / (sqrt(v') / sqrt(1 - beta2^t) + eps).
struct AdamKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Attrs& a = io.attrs();
    const auto lr = static_cast<T>(a.get_float("lr", 1e-3));
    const auto beta1 = static_cast<T>(a.get_float("beta1", 0.9));
    const auto beta2 = static_cast<T>(a.get_float("beta2", 0.999));
    const auto eps = static_cast<T>(a.get_float("epsilon", 1e-8));
    const auto wd = static_cast<T>(a.get_float("weight_decay", 0.0));
    const bool decoupled = a.get_int("decoupled", 0) != 0;
    const auto step = static_cast<double>(a.get_int("step", 1));
    const auto correction1 = static_cast<T>(1.0 - std::pow(a.get_float("beta1", 0.9), step));
    const auto correction2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(a.get_float("beta2", 0.999), step)));
    const T step_size = lr / correction1;
    const auto& p = io.in(0).data;
    const auto& g = io.in(1).data;
    const auto& m = io.in(2).data;
    const auto& v = io.in(3).data;
    auto& p_new = io.out(0).data;
    auto& m_new = io.out(1).data;
    auto& v_new = io.out(2).data;
    for (std::size_t i = 0; i < p.size(); ++i) {
      T param = p[i];
      T grad = g[i];
      if (decoupled) param *= T(1) - lr * wd;
      else grad += wd * param;
      m_new[i] = beta1 * m[i] + (T(1) - beta1) * grad;
      v_new[i] = beta2 * v[i] + (T(1) - beta2) * grad * grad;
      p_new[i] = param - step_size * m_new[i] / (std::sqrt(v_new[i]) / correction2_sqrt + eps);
    }
  }
};

/// Every input has the param's shape; the outputs are the new param and state.
std::vector<TensorInfo> same_shapes(const OpContext& ctx) {
  for (std::size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.in_shape(i) != ctx.in_shape(0)) {
      ctx.fail(fmt::format("'{}' {} must have the param's shape {}", ctx.input(i).name, to_string(ctx.in_shape(i)),
                           to_string(ctx.in_shape(0))));
    }
  }
  return std::vector<TensorInfo>(ctx.op().outputs.size(), {ctx.in_shape(0), ctx.in_dtype(0)});
}

/// The learning rate (its default when absent) must be positive.
void check_rate(const OpContext& ctx, double default_lr) {
  const double lr = ctx.attrs().get_float("lr", default_lr);
  if (!(lr > 0)) ctx.fail(fmt::format("lr is {}, expected > 0", lr));
}

}  // namespace

void register_optimizer_ops(OpRegistry& r) {
  OpDef momentum;
  momentum.kind = "MomentumUpdate";
  momentum.summary = "SGD with momentum: (p, g, v) -> (p', v') (torch.optim.SGD, no dampening)";
  momentum.min_inputs = momentum.max_inputs = 3;
  momentum.min_outputs = momentum.max_outputs = 2;
  momentum.attrs = {attr_float("lr", 0.01), attr_float("momentum", 0.9), attr_float("weight_decay", 0.0)};
  momentum.infer = [](const OpContext& ctx) {
    check_rate(ctx, 0.01);
    return same_shapes(ctx);
  };
  momentum.flops = [](const OpContext& ctx) { return 6.0 * count(ctx.in_shape(0)); };
  momentum.kernel = make_kernel<MomentumKernel>();
  momentum.traits = elementwise_traits();
  momentum.traits->gradient_input = 1;
  r.add(std::move(momentum));

  OpDef adam;
  adam.kind = "AdamUpdate";
  adam.summary = "Adam / AdamW (decoupled = 1): (p, g, m, v) -> (p', m', v') at step 'step' (torch.optim)";
  adam.min_inputs = adam.max_inputs = 4;
  adam.min_outputs = adam.max_outputs = 3;
  adam.attrs = {attr_float("lr", 1e-3),      attr_float("beta1", 0.9),        attr_float("beta2", 0.999),
                attr_float("epsilon", 1e-8), attr_float("weight_decay", 0.0), attr_int("decoupled", 0),
                attr_int("step", 1)};
  adam.infer = [](const OpContext& ctx) {
    check_rate(ctx, 1e-3);
    if (ctx.attrs().get_int("step", 1) < 1)
      ctx.fail(fmt::format("step is {}, expected >= 1", ctx.attrs().get_int("step", 1)));
    return same_shapes(ctx);
  };
  // Weight decay 2, m 3, v 4, sqrt and scale 2, add eps 1, divide 1, scale and subtract 2.
  adam.flops = [](const OpContext& ctx) { return 15.0 * count(ctx.in_shape(0)); };
  adam.kernel = make_kernel<AdamKernel>();
  adam.traits = elementwise_traits();
  adam.traits->gradient_input = 1;
  r.add(std::move(adam));
}

}  // namespace rdasim::graphs
