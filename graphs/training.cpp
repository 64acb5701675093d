#include "graphs/training.h"

#include <array>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/op_registry.h"
#include "graphs/transforms.h"
#include "graphs/verify.h"

namespace rdasim::graphs {

namespace {

constexpr std::array<std::pair<LossKind, std::string_view>, 7> k_losses = {{
    {LossKind::l1, "l1"},
    {LossKind::mse, "mse"},
    {LossKind::cross_entropy, "cross_entropy"},
    {LossKind::binary_cross_entropy, "bce"},
    {LossKind::gaussian_nll, "gaussian_nll"},
    {LossKind::inversion, "inversion"},
    {LossKind::pinball, "pinball"},
}};

constexpr std::array<std::pair<OptimizerKind, std::string_view>, 3> k_optimizers = {{
    {OptimizerKind::sgd, "sgd"},
    {OptimizerKind::adam, "adam"},
    {OptimizerKind::adamw, "adamw"},
}};

[[noreturn]] void fail(const Graph& g, const std::string& message) {
  throw core::InputError(core::Location(g.name()), message);
}

/// Hyperparameters torch.optim would reject (NaN fails every comparison, so is refused too).
void check_optimizer(const Graph& g, const Optimizer& o) {
  auto require = [&](bool ok, std::string_view what, double value, std::string_view expected) {
    if (!ok) fail(g, fmt::format("the optimizer's {} is {}, expected {}", what, value, expected));
  };
  require(o.lr > 0, "learning rate", o.lr, "> 0");
  require(o.momentum >= 0, "momentum", o.momentum, ">= 0");
  require(o.beta1 >= 0 && o.beta1 < 1, "beta1", o.beta1, "0 <= beta1 < 1");
  require(o.beta2 >= 0 && o.beta2 < 1, "beta2", o.beta2, "0 <= beta2 < 1");
  require(o.epsilon >= 0, "epsilon", o.epsilon, ">= 0");
  require(o.weight_decay >= 0, "weight decay", o.weight_decay, ">= 0");
  if (o.step < 1) fail(g, fmt::format("the optimizer's step is {}, expected >= 1", o.step));
}

/// A loss term's own settings, checked before it adds anything to the graph.
void check_term(const Graph& g, const LossTerm& t) {
  if (t.kind == LossKind::pinball && !(t.quantile > 0 && t.quantile < 1)) {
    fail(g, fmt::format("the pinball quantile is {}, expected 0 < q < 1", t.quantile));
  }
  if (t.kind == LossKind::inversion && !(t.sigma > 0))
    fail(g, fmt::format("the inversion loss's sigma is {}, expected > 0", t.sigma));
  if (!std::isfinite(t.weight))
    fail(g, fmt::format("the loss term's weight is {}, expected a finite number", t.weight));
}

TensorId find_output(const Graph& g, const std::string& name, std::string_view what) {
  auto id = g.find_tensor(name);
  if (!id || g.tensor(*id).role != Role::output) {
    std::vector<std::string> outputs;
    for (TensorId t : g.tensors_with(Role::output)) outputs.push_back(g.tensor(t).name);
    fail(g, fmt::format("the loss's {} '{}' is not an output of the graph; its outputs: {}", what, name,
                        fmt::join(outputs, ", ")));
  }
  return *id;
}

/// Builds one term's ops ("loss/<k>/...") and returns its scalar.
class LossBuilder {
 public:
  LossBuilder(GraphEditor& editor, const LossTerm& term, std::size_t index)
      : m_e(editor),
        m_term(term),
        m_prefix(fmt::format("loss/{}", index)) {}

  TensorId build() {
    const Graph& g = m_e.graph();
    const TensorId y = find_output(g, m_term.prediction, "prediction");
    const Shape shape = g.tensor(y).shape;
    m_dtype = g.tensor(y).dtype;
    if (m_term.kind == LossKind::cross_entropy && shape.size() != 2) {
      fail(g, fmt::format("cross-entropy needs logits [N, C]; '{}' is {}", m_term.prediction, to_string(shape)));
    }
    TensorId v_raw = k_no_tensor;
    if (m_term.kind == LossKind::gaussian_nll) {
      v_raw = find_output(g, m_term.second, "variance");
      if (g.tensor(v_raw).shape != shape) {
        fail(g, fmt::format("the variance '{}' must have the prediction's shape {}", m_term.second, to_string(shape)));
      }
    }
    TensorId t = k_no_tensor;
    if (m_term.target.empty()) {
      t = m_e.source(m_e.unique("target/" + m_term.prediction), shape, Role::input, m_dtype);
    } else {
      auto found = g.find_tensor(m_term.target);
      if (!found) fail(g, fmt::format("the loss's target '{}' is not a tensor of the graph", m_term.target));
      t = *found;
      if (g.tensor(t).shape != shape) {
        fail(g, fmt::format("the loss's target '{}' is {} but the prediction '{}' is {}", m_term.target,
                            to_string(g.tensor(t).shape), m_term.prediction, to_string(shape)));
      }
    }
    switch (m_term.kind) {
      case LossKind::l1: return masked_mean(op("Abs", "abs", {op("Sub", "diff", {y, t})}), shape);
      case LossKind::mse: {
        const TensorId d = op("Sub", "diff", {y, t});
        return masked_mean(op("Mul", "square", {d, d}), shape);
      }
      case LossKind::cross_entropy: {
        const TensorId log_p = op("LogSoftmax", "log_softmax", {y}, make_attrs({{"axis", std::int64_t{1}}}));
        const TensorId per_row =
            op("ReduceSum", "per_row", {op("Mul", "t_log_p", {t, log_p}), m_e.ints(name("axis1"), {1})},
               make_attrs({{"keepdims", std::int64_t{0}}}));
        return op("Neg", "value", {mean(per_row)});
      }
      case LossKind::binary_cross_entropy: {
        // Logs clamped at -100 as torch's binary_cross_entropy does, so a saturated sigmoid
        // gives a large loss rather than infinity and NaN gradients.
        const TensorId one = scalar("one", 1.0), floor = scalar("log_floor", -100.0);
        const TensorId log_y = op("Clip", "log_y", {op("Log", "log_y_raw", {y}), floor});
        const TensorId log_1my =
            op("Clip", "log_1my", {op("Log", "log_1my_raw", {op("Sub", "one_minus_y", {one, y})}), floor});
        const TensorId pos = op("Mul", "t_log_y", {t, log_y});
        const TensorId neg = op("Mul", "u_log_1my", {op("Sub", "one_minus_t", {one, t}), log_1my});
        return op("Neg", "value", {mean(op("Add", "sum", {pos, neg}))});
      }
      case LossKind::gaussian_nll: {
        const TensorId v = op("Clip", "variance", {v_raw, scalar("eps", 1e-6)});
        const TensorId d = op("Sub", "diff", {y, t});
        const TensorId sum =
            op("Add", "sum", {op("Log", "log_v", {v}), op("Div", "scaled", {op("Mul", "square", {d, d}), v})});
        return op("Mul", "value", {mean(sum), scalar("half", 0.5)});
      }
      case LossKind::inversion: {
        const TensorId z = op("Mul", "z", {op("Sub", "diff", {y, t}), scalar("one_over_sigma", 1.0 / m_term.sigma)});
        TensorId value = mean(op("Mul", "chi2", {z, z}));
        if (!m_term.second.empty() && m_term.entropy_weight != 0.0) {
          const TensorId r = find_output(g, m_term.second, "spectrum");
          const auto rank = static_cast<std::int64_t>(g.tensor(r).shape.size());
          const TensorId r_log_r = op("Mul", "r_log_r", {r, op("Log", "log_r", {r})});
          const TensorId per_row = op("ReduceSum", "neg_entropy", {r_log_r, m_e.ints(name("last_axis"), {rank - 1})},
                                      make_attrs({{"keepdims", std::int64_t{0}}}));
          TensorId entropy = mean(per_row);
          if (m_term.entropy_weight != 1.0)
            entropy = op("Mul", "entropy_weighted", {entropy, scalar("alpha", m_term.entropy_weight)});
          value = op("Add", "value", {value, entropy});
        }
        return value;
      }
      case LossKind::pinball: {
        const TensorId r = op("Sub", "residual", {t, y});
        const TensorId above = op("Mul", "above", {op("Relu", "over", {r}), scalar("q", m_term.quantile)});
        const TensorId below =
            op("Mul", "below",
               {op("Relu", "under", {op("Neg", "neg_residual", {r})}), scalar("one_minus_q", 1.0 - m_term.quantile)});
        return mean(op("Add", "sum", {above, below}));
      }
    }
    throw core::InternalError("LossBuilder: a loss kind without a case");
  }

 private:
  [[nodiscard]] std::string name(const std::string& what) const { return m_prefix + "/" + what; }
  TensorId op(const std::string& kind, const std::string& what, std::vector<TensorId> in, Attrs a = {}) {
    return m_e.op(kind, name(what), std::move(in), std::move(a));
  }
  /// A scalar constant of the prediction's type.
  TensorId scalar(const std::string& what, double value) { return m_e.scalar(name(what), value, m_dtype); }
  /// The mean of all elements, a scalar.
  TensorId mean(TensorId x) { return op("ReduceMean", "mean", {x}, make_attrs({{"keepdims", std::int64_t{0}}})); }
  /// mean(x), or with a mask input mean(x m) / mean(m).
  TensorId masked_mean(TensorId x, const Shape& shape) {
    if (!m_term.masked) return mean(x);
    const TensorId m = m_e.source(m_e.unique("mask/" + m_term.prediction), shape, Role::input, m_dtype);
    return op("Div", "masked", {mean(op("Mul", "weighted", {x, m})), mean(m)});
  }

  GraphEditor& m_e;
  const LossTerm& m_term;
  std::string m_prefix;
  DType m_dtype = DType::f32;
};

}  // namespace

std::string_view to_string(LossKind kind) {
  for (const auto& [k, name] : k_losses) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<LossKind> parse_loss(std::string_view name) {
  for (const auto& [k, n] : k_losses) {
    if (n == name) return k;
  }
  return std::nullopt;
}

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : k_losses) out.emplace_back(entry.second);
    return out;
  }();
  return names;
}

std::string_view to_string(OptimizerKind kind) {
  for (const auto& [k, name] : k_optimizers) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<OptimizerKind> parse_optimizer(std::string_view name) {
  for (const auto& [k, n] : k_optimizers) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string_view to_string(Phase phase) {
  switch (phase) {
    case Phase::forward: return "forward";
    case Phase::loss: return "loss";
    case Phase::backward: return "backward";
    case Phase::update: return "update";
  }
  return "?";
}

Phase TrainingStep::phase(OpId op) const {
  const auto i = static_cast<std::size_t>(op);
  for (std::size_t k = 0; k < 4; ++k) {
    if (i < phase_end[k]) return static_cast<Phase>(k);
  }
  return Phase::update;  // the Identity ops that name exposed gradients come last
}

TensorId add_loss(Graph& g, const std::vector<LossTerm>& loss) {
  if (loss.empty()) fail(g, "the loss has no terms");
  for (const auto& term : loss) check_term(g, term);  // before anything is added
  GraphEditor editor(g);
  TensorId total = k_no_tensor;
  for (std::size_t k = 0; k < loss.size(); ++k) {
    TensorId term = LossBuilder(editor, loss[k], k).build();
    if (loss[k].weight != 1.0) {
      term = editor.op("Mul", fmt::format("loss/{}/weighted", k),
                       {term, editor.scalar(fmt::format("loss/{}/weight", k), loss[k].weight)});
    }
    total = total == k_no_tensor ? term : editor.op("Add", fmt::format("loss/sum{}", k), {total, term});
  }
  // The loss tensor is called "loss": an Identity gives it that name whatever the last term was.
  return editor.op_named("Identity", "loss/total", {total}, {"loss"}).front();
}

TrainingStep training_step(const Graph& forward, const std::vector<LossTerm>& loss, const Optimizer& optimizer,
                           const TrainingOptions& options) {
  TrainingStep step;
  step.graph = has_recurrent(forward) ? expand_recurrent(forward) : forward;
  Graph& g = step.graph;
  check_optimizer(g, optimizer);
  step.params = g.tensors_with(Role::param);
  std::erase_if(step.params, [&](TensorId p) { return !is_float(g.tensor(p).dtype); });
  if (step.params.empty()) fail(g, "the graph has no trainable params");
  const auto forward_outputs = g.tensors_with(Role::output);
  const std::size_t forward_ops = g.ops().size();
  step.loss = add_loss(g, loss);
  const std::size_t loss_ops_end = g.ops().size();
  GraphEditor editor(g);

  step.gradients = add_gradients(g, step.loss, step.params);
  const std::size_t backward_ops_end = g.ops().size();

  // Optimizer: one fused update op per param.
  std::vector<TensorId> new_params, new_state;
  for (TensorId p : step.params) {
    const std::string name = g.tensor(p).name;
    const Shape shape = g.tensor(p).shape;
    const TensorId grad = step.gradients.of.at(p);
    Attrs a;
    a.values["lr"] = optimizer.lr;
    a.values["weight_decay"] = optimizer.weight_decay;
    std::vector<std::string> state_names;
    std::string kind;
    if (optimizer.kind == OptimizerKind::sgd) {
      kind = "MomentumUpdate";
      a.values["momentum"] = optimizer.momentum;
      state_names = {"momentum/" + name};
    } else {
      kind = "AdamUpdate";
      a.values["beta1"] = optimizer.beta1;
      a.values["beta2"] = optimizer.beta2;
      a.values["epsilon"] = optimizer.epsilon;
      a.values["decoupled"] = std::int64_t{optimizer.kind == OptimizerKind::adamw};
      a.values["step"] = optimizer.step;
      state_names = {"adam_m/" + name, "adam_v/" + name};
    }
    std::vector<TensorId> inputs{p, grad};
    std::vector<std::string> outputs{"new/" + name};
    for (const auto& s : state_names) {
      const TensorId state = editor.source(s, shape, Role::state, g.tensor(p).dtype);
      step.state.push_back(state);
      inputs.push_back(state);
      outputs.push_back("new/" + s);
    }
    const auto written = editor.op_named(kind, "update/" + name, inputs, outputs, std::move(a));
    new_params.push_back(written[0]);
    new_state.insert(new_state.end(), written.begin() + 1, written.end());
  }

  // Outputs: the loss, the new params and state (and the gradients when asked).
  for (TensorId t : forward_outputs) g.tensor(t).role = Role::activation;
  g.mark_output(step.loss);
  for (TensorId t : new_params) g.mark_output(t);
  for (TensorId t : new_state) g.mark_output(t);
  if (options.expose_gradients) {
    for (TensorId p : step.params) {
      TensorId grad = step.gradients.of.at(p);
      const std::string name = "grad/" + g.tensor(p).name;
      if (g.tensor(grad).name != name) grad = editor.op_named("Identity", name + "/out", {grad}, {name}).front();
      g.mark_output(grad);
    }
  }
  g.set_name(forward.name() + "_train");
  verify(g);

  step.phase_end[0] = forward_ops;
  step.phase_end[1] = loss_ops_end;
  step.phase_end[2] = backward_ops_end;
  step.phase_end[3] = g.ops().size();
  for (std::size_t i = 0; i < g.ops().size(); ++i) {
    step.flops[static_cast<std::size_t>(step.phase(static_cast<OpId>(i)))] += op_cost(g, static_cast<OpId>(i)).flops;
  }
  return step;
}

std::set<std::string, std::less<>> gradient_inputs(const Graph& graph) {
  std::set<std::string, std::less<>> names;
  for (OpId id = 0; id < static_cast<OpId>(graph.ops().size()); ++id) {
    if (const auto slot = op_traits(graph, id).gradient_input) {
      names.insert(graph.tensor(graph.op(id).inputs.at(*slot)).name);
    }
  }
  return names;
}

}  // namespace rdasim::graphs
