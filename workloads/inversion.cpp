// Inversion of nuclear responses (Raghavan et al., Phys. Rev. C 103, 035502; shared/WORKLOADS.md
// §2): the PRC network maps a Euclidean response E(tau) to R(omega) >= 0 with the sum rule
// built in, and back through the fixed Laplace kernel.
#include <cmath>

#include "workloads/layers.h"
#include "workloads/workload.h"

namespace rdasim::workloads {

namespace {

using graphs::GraphBuilder;
using graphs::TensorId;

constexpr double k_tau_step = 5e-4;   // MeV^-1: tau = 0, 5e-4, ..., 0.075 for 151 points
constexpr double k_omega_step = 1.0;  // MeV: omega = 0.5, 1.5, ..., 1999.5 for 2000 points

/// K[i][j] = exp(-omega_j tau_i) d_omega, row-major [taus, omegas].
std::vector<double> laplace_kernel(std::int64_t taus, std::int64_t omegas) {
  std::vector<double> k(static_cast<std::size_t>(taus * omegas));
  for (std::int64_t i = 0; i < taus; ++i) {
    for (std::int64_t j = 0; j < omegas; ++j) {
      const double tau = k_tau_step * static_cast<double>(i);
      const double omega = k_omega_step * (static_cast<double>(j) + 0.5);
      k[static_cast<std::size_t>(i * omegas + j)] = std::exp(-omega * tau) * k_omega_step;
    }
  }
  return k;
}

Workload build_inversion(const Params& p) {
  const std::int64_t batch = p.integer("batch"), taus = p.integer("taus"), omegas = p.integer("omegas");
  const std::int64_t centres = p.integer("centres"), hidden = p.integer("hidden");
  GraphBuilder b("inversion");
  const TensorId e = b.input("E", {batch, taus});
  // 1. RBF layer: out_j = exp(-(|E - c_j| s_j)^2), as (E - c) squared and summed over tau.
  TensorId rbf;
  {
    graphs::BuilderScope scope(b, "rbf");
    const TensorId c = b.param("centres", {centres, taus});
    const TensorId s = b.param("scales", {centres});
    const TensorId diff = b.op("Sub", "diff", {b.op("Unsqueeze", "e3", {e, b.ints("axis1", {1})}), c});
    graphs::Attrs sum;
    sum.values["keepdims"] = std::int64_t{0};
    const TensorId dist2 = b.op("ReduceSum", "dist2", {b.op("Mul", "diff2", {diff, diff}), b.ints("axis2", {2})}, sum);
    const TensorId scaled = b.op("Mul", "scaled", {dist2, b.op("Mul", "s2", {s, s})});
    rbf = b.op("Exp", "out", {b.op("Neg", "neg", {scaled})});
  }
  // 2-3. Linear + ReLU, Linear + exp (positivity).
  const TensorId h = b.op("Relu", "relu", {layers::linear(b, "fc1", rbf, centres, hidden)});
  const TensorId r = b.op("Exp", "positive", {layers::linear(b, "fc2", h, hidden, omegas)});
  // 4. Sum-rule normalization: E0 = R . K[0,:]^T, R_hat = R / E0.
  const auto kernel = laplace_kernel(taus, omegas);
  std::vector<double> k0(kernel.begin(), kernel.begin() + omegas);
  std::vector<double> kt(static_cast<std::size_t>(omegas * taus));
  for (std::int64_t i = 0; i < taus; ++i) {
    for (std::int64_t j = 0; j < omegas; ++j) {
      kt[static_cast<std::size_t>(j * taus + i)] = kernel[static_cast<std::size_t>(i * omegas + j)];
    }
  }
  const TensorId e0 = b.op("MatMul", "E0", {r, b.constant("laplace_row0", {omegas, 1}, std::move(k0))});
  const TensorId r_hat = b.op("Div", "R", {r, e0});
  // 5. The Laplace layer back to E(tau).
  const TensorId e_hat =
      b.op("MatMul", "E_hat", {r_hat, b.constant("laplace_kernel_t", {omegas, taus}, std::move(kt))});
  b.output(r_hat);
  b.output(e_hat);
  Workload w;
  w.apps.push_back(b.finish());
  return w;
}

/// chi^2 of E_hat against the input E (sigma_E = 1e-4) plus the entropy term of R, Adam.
Training train_inversion(const Params&, const graphs::Graph& app) {
  Training t;
  graphs::LossTerm term = graphs::loss_on(graphs::LossKind::inversion, output_name(app, 1));
  term.second = output_name(app, 0);
  term.target = app.tensor(app.tensors_with(graphs::Role::input).front()).name;
  t.loss.push_back(term);
  return t;
}

}  // namespace

WorkloadDef inversion_workload() {
  return {"inversion",
          "nuclear-response inversion: E(tau) -> RBF -> MLP -> R(omega) >= 0 with the sum rule -> Laplace kernel",
          {{"batch", "128", "responses per run", {}},
           {"taus", "151", "points of E(tau), tau = 0 .. 0.075 MeV^-1", {}},
           {"omegas", "2000", "points of R(omega), omega = 0.5 .. 1999.5 MeV", {}},
           {"centres", "200", "RBF centres", {}},
           {"hidden", "2000", "width of the hidden layer", {}}},
          build_inversion,
          train_inversion};
}

}  // namespace rdasim::workloads
