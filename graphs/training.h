// Training steps: a forward graph becomes forward + loss + backward + optimizer update, one
// graph that the functional reference executes, the mapper lays out and the simulators time.
// Params are updated out of place: the step reads p (and its optimizer state, Role::state)
// and writes "new/<p>" (and "new/<state>"), which the next step reads as p.
#pragma once

#include <set>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graphs/autodiff.h"
#include "graphs/graph.h"

namespace rdasim::graphs {

enum class LossKind {
  l1,                    ///< mean |y - t| (masked: sum |y - t| m / sum m, DCRNN's masked MAE)
  mse,                   ///< mean (y - t)^2 (masked like l1)
  cross_entropy,         ///< -mean over rows of sum_c t_c log softmax(y)_c; y logits [N, C], t probabilities
  binary_cross_entropy,  ///< -mean(t log y + (1 - t) log(1 - y)); y probabilities
  gaussian_nll,          ///< mean(0.5 (log v + (y - t)^2 / v)), v the `second` output clamped at 1e-6
  inversion,             ///< mean(((y - t) / sigma)^2) + entropy_weight * mean over rows of sum R log R
  pinball,               ///< mean(max(q r, (q - 1) r)), r = t - y: the quantile-q loss
};

[[nodiscard]] std::string_view to_string(LossKind kind);
[[nodiscard]] std::optional<LossKind> parse_loss(std::string_view name);
/// "l1", "mse", ..., for messages.
[[nodiscard]] const std::vector<std::string>& loss_names();

/// One term of the loss, on one output of the forward graph.
struct LossTerm {
  LossKind kind = LossKind::l1;
  std::string prediction;  ///< the output it scores
  /// gaussian_nll: the variance output; inversion: the spectrum R whose entropy is added.
  std::string second;
  /// A tensor of the graph the prediction is compared with (inversion: the input E); empty:
  /// a new graph input "target/<prediction>" of the prediction's shape.
  std::string target;
  bool masked = false;  ///< l1, mse: a new input "mask/<prediction>" of 0/1 weights
  double weight = 1.0;
  double quantile = 0.5;        ///< pinball
  double sigma = 1e-4;          ///< inversion: the noise of E(tau)
  double entropy_weight = 1.0;  ///< inversion
};

/// A term of `kind` on output `prediction`, other fields at their defaults.
[[nodiscard]] inline LossTerm loss_on(LossKind kind, std::string prediction) {
  LossTerm t;
  t.kind = kind;
  t.prediction = std::move(prediction);
  return t;
}

enum class OptimizerKind { sgd, adam, adamw };
[[nodiscard]] std::string_view to_string(OptimizerKind kind);
[[nodiscard]] std::optional<OptimizerKind> parse_optimizer(std::string_view name);

/// torch.optim's hyperparameters, with its defaults except SGD's momentum (0.9 here: plain SGD
/// is momentum 0) and AdamW's weight decay, which `for_kind` sets to torch's 1e-2.
struct Optimizer {
  OptimizerKind kind = OptimizerKind::adam;
  double lr = 1e-3;
  double momentum = 0.9;  ///< sgd
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double weight_decay = 0.0;  ///< L2 for sgd and adam, decoupled for adamw
  std::int64_t step = 1;      ///< the step this graph performs (Adam's bias correction)

  /// This optimizer switched to `kind`, taking that kind's own defaults where they differ
  /// (AdamW: weight decay 1e-2 unless one is set).
  [[nodiscard]] Optimizer for_kind(OptimizerKind to) const {
    Optimizer o = *this;
    o.kind = to;
    if (to == OptimizerKind::adamw && o.weight_decay == 0.0) o.weight_decay = 1e-2;
    return o;
  }
};

/// The tensors a training step's optimizer updates read as gradients, by name (what data
/// parallelism all-reduces); none in an inference graph.
[[nodiscard]] std::set<std::string, std::less<>> gradient_inputs(const Graph& graph);

struct TrainingOptions {
  bool expose_gradients = false;  ///< also make every param's gradient a graph output ("grad/<p>")
};

/// What an op of a training step does. Its ops come in this order (forward ops first, then
/// the loss's "loss/...", the backward "grad/...", the updates "update/...").
enum class Phase { forward, loss, backward, update };
[[nodiscard]] std::string_view to_string(Phase phase);

struct TrainingStep {
  Graph graph;  ///< outputs: "loss", then "new/<p>" per param, then the new optimizer state
  TensorId loss = k_no_tensor;
  std::vector<TensorId> params, state;  ///< trained params; optimizer state (Role::state)
  Gradients gradients;
  std::size_t phase_end[4] = {0, 0, 0, 0};  ///< one past the last op of each Phase
  double flops[4] = {0, 0, 0, 0};           ///< per Phase
  [[nodiscard]] double total_flops() const { return flops[0] + flops[1] + flops[2] + flops[3]; }
  [[nodiscard]] Phase phase(OpId op) const;
};

/// Adds the loss ops ("loss/...") and their target and mask inputs to `graph` and returns the
/// scalar "loss", the weighted sum of the terms. Throws core::InputError as training_step.
TensorId add_loss(Graph& graph, const std::vector<LossTerm>& loss);

/// Builds the training step of `forward` (GRU and LSTM are expanded into primitives first).
/// Throws core::InputError for a loss term naming no output, a target of the wrong shape, an
/// empty loss, or a graph without params; core::UnsupportedError for an op on the path from a
/// param to the loss that rdasim cannot differentiate.
[[nodiscard]] TrainingStep training_step(const Graph& forward, const std::vector<LossTerm>& loss,
                                         const Optimizer& optimizer, const TrainingOptions& options = {});

}  // namespace rdasim::graphs
