// Deep ensembles (Lakshminarayanan et al., NeurIPS 2017; shared/WORKLOADS.md §4): M copies of a
// base model that differ only in their random initialization, each its own application on its
// own part of the fabric, and a combine step with the ensemble's mean and variance.
#include <fmt/format.h>

#include "core/error.h"
#include "graphs/builder.h"
#include "graphs/transforms.h"
#include "workloads/workload.h"

namespace rdasim::workloads {

namespace {

using graphs::TensorId;

/// The base model's parameters: those passed on, and the ensemble's mode (the base builds the
/// same model for training, e.g. a lensing EDSR on 32 x 32 crops).
Params base_params(const WorkloadDef& base, const Params& p) {
  auto given = p.passed_on();
  given["mode"] = p.text("mode");
  return Params(base, given);
}

Workload build_ensemble(const Params& p) {
  const std::string& base = p.text("base");
  const std::int64_t members = p.integer("members");
  const WorkloadDef& base_def = *find(base);  // one of the declared choices
  // Its builder, not build(): the members' training steps are made once, for the ensemble.
  Workload single = base_def.build(base_params(base_def, p));
  if (single.apps.size() != 1) {
    throw core::InputError(
        core::Location(fmt::format("-p base={}", base)),
        fmt::format("an ensemble member must be one application; '{}' is {}", base, single.apps.size()));
  }
  const graphs::Graph& model = single.apps.front();
  Workload w;
  // Params named apart ("member3/...") draw apart from the seeded initializer.
  for (std::int64_t m = 0; m < members; ++m) w.apps.push_back(graphs::with_prefix(model, fmt::format("member{}/", m)));
  // mu* = mean(mu_m), sigma*^2 = mean(mu_m^2) - mu*^2 for every output of the base model.
  graphs::GraphBuilder b("ensemble_combine");
  const TensorId axis0 = b.ints("axis0", {0});
  graphs::Attrs concat, mean;
  concat.values["axis"] = std::int64_t{0};
  mean.values["keepdims"] = std::int64_t{0};
  for (TensorId out : model.tensors_with(graphs::Role::output)) {
    const auto& t = model.tensor(out);
    std::vector<TensorId> stacked;
    for (std::int64_t m = 0; m < members; ++m) {
      const TensorId x = b.input(fmt::format("member{}/{}", m, t.name), t.shape);
      stacked.push_back(b.op("Unsqueeze", fmt::format("stack{}/{}", m, t.name), {x, axis0}));
    }
    const TensorId all = b.op("Concat", "members/" + t.name, stacked, concat);
    const TensorId mu = b.op("ReduceMean", "mean/" + t.name, {all, axis0}, mean);
    const TensorId second =
        b.op("ReduceMean", "second_moment/" + t.name, {b.op("Mul", "square/" + t.name, {all, all}), axis0}, mean);
    b.output(mu);
    b.output(b.op("Sub", "variance/" + t.name, {second, b.op("Mul", "mean_square/" + t.name, {mu, mu})}));
  }
  w.combine = b.finish();
  return w;
}

}  // namespace

WorkloadDef ensemble_workload() {
  WorkloadDef def{"ensemble",
                  "M independently initialized members of a base workload, each its own application, and their mean "
                  "and variance; other -p parameters go to the base workload",
                  {{"base", "dcrnn", "the member model", {"dcrnn", "inversion", "lensing"}},
                   {"members", "5", "ensemble members M", {}}},
                  build_ensemble,
                  [](const Params& p, const graphs::Graph& app) {  // each member trains as its base model does
                    const WorkloadDef& base = *find(p.text("base"));
                    return base.training(base_params(base, p), app);
                  }};
  def.passes_on_unknown = true;
  return def;
}

}  // namespace rdasim::workloads
