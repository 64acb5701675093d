// Training steps of the science workloads against PyTorch (workloads/models/TRAINING.md): the
// loss, every gradient and every parameter after one optimizer step, computed by rdasim's
// functional reference in fp32 on the same weights and data as the twins; the optimizers and
// losses alone; and what a training step costs against the forward pass.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "graphs/editor.h"
#include "graphs/export.h"
#include "graphs/import/onnx_import.h"
#include "graphs/op_registry.h"
#include "graphs/training.h"
#include "graphs/verify.h"
#include "sim/functional/executor.h"
#include "tests/test_paths.h"
#include "workloads/workload.h"

using namespace rdasim;
using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;
using Given = std::map<std::string, std::string, std::less<>>;
using sim::functional::Values;

const fs::path k_models = test::source_dir() / "workloads/models";

/// The named tensors of a test-data folder's input_K.pb or output_K.pb files, in K order.
std::vector<graphs::Tensor> read_set(const fs::path& dir, const std::string& prefix) {
  std::vector<graphs::Tensor> out;
  for (int k = 0;; ++k) {
    const fs::path file = dir / fmt::format("{}_{}.pb", prefix, k);
    if (!fs::exists(file)) break;
    out.push_back(graphs::load_onnx_tensor(file));
  }
  return out;
}

graphs::Array<double> array_of(const graphs::Tensor& t) {
  graphs::Array<double> a;
  a.shape = t.shape;
  a.data = *t.values;
  return a;
}

/// "lensing -p stage=denoise -p batch=2" -> workload name and parameters.
std::pair<std::string, Given> read_builder(const fs::path& file) {
  std::ifstream in(file);
  std::string name, word;
  in >> name;
  Given params;
  while (in >> word) {
    if (word == "-p" && in >> word) {
      const auto eq = word.find('=');
      params[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  return {name, params};
}

/// |a - b| / |b| over all elements (Euclidean norms).
double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

std::string slashed(std::string name) {
  std::replace(name.begin(), name.end(), '.', '/');
  return name;
}

/// Runs one case's training step in fp32 and compares every golden output it has.
void check_case(const graphs::Graph& step, const fs::path& set, std::size_t expected_outputs) {
  // Inputs feed graph inputs; an input named like a param gives the param its starting values.
  graphs::Graph g = step;
  std::map<std::string, graphs::TensorId> by_slashed;
  for (std::size_t i = 0; i < g.tensors().size(); ++i)
    by_slashed[slashed(g.tensors()[i].name)] = static_cast<graphs::TensorId>(i);
  Values inputs;
  for (const auto& t : read_set(set, "input")) {
    INFO(t.name);
    REQUIRE(by_slashed.contains(t.name));
    graphs::Tensor& target = g.tensor(by_slashed.at(t.name));
    REQUIRE(target.shape == t.shape);
    if (target.role == graphs::Role::param) target.values = t.values;
    else inputs[target.name] = array_of(t);
  }
  sim::functional::RunOptions fp32;
  fp32.precision = sim::functional::Precision::fp32;
  const Values out = sim::functional::run(g, inputs, fp32);
  std::map<std::string, const graphs::Array<double>*> got;
  for (const auto& [name, value] : out) got[slashed(name)] = &value;
  const auto golden = read_set(set, "output");
  CHECK(golden.size() == expected_outputs);
  double worst_grad = 0, worst_param = 0;
  for (const auto& t : golden) {
    INFO(t.name);
    REQUIRE(got.contains(t.name));
    const double error = relative_error(got.at(t.name)->data, *t.values);
    CHECK(error < 1e-4);
    (t.name.starts_with("new/") ? worst_param : worst_grad) =
        std::max(t.name.starts_with("new/") ? worst_param : worst_grad, error);
  }
  WARN(fmt::format("{}: {} tensors; largest relative error: gradients and loss {:.2e}, updated params {:.2e}",
                   set.parent_path().filename().string(), golden.size(), worst_grad, worst_param));
}

}  // namespace

TEST_CASE("one training step of each workload's small case reproduces PyTorch's in fp32",
          "[workloads][training][golden]") {
  for (const std::string name : {"lensing_edsr", "lensing_encoder", "inversion", "dcrnn"}) {
    DYNAMIC_SECTION(name) {
      const fs::path dir = k_models / name;
      const auto [workload, params] = read_builder(dir / "builder.txt");
      const workloads::WorkloadDef& def = *workloads::find(workload);
      const graphs::Graph forward = graphs::load_onnx_model(dir / "model.onnx");
      // The workload's own (the paper's) loss and optimizer, on the exported model.
      const auto training = def.training(workloads::Params(def, params), forward);
      graphs::TrainingOptions options;
      options.expose_gradients = true;
      const auto step = graphs::training_step(forward, training.loss, training.optimizer, options);
      // loss, a gradient and a new value per param
      check_case(step.graph, dir / "training_set_0", 1 + 2 * step.params.size());
    }
  }
  SECTION("ensemble: two DCRNN members, each its own application, trained independently") {
    const auto [workload, params] = read_builder(k_models / "ensemble/builder.txt");
    Given train = params;
    train["mode"] = "train";
    const auto w = workloads::build(workload, train);
    REQUIRE(w.apps.size() == 2);
    CHECK_FALSE(w.combine.has_value());
    // Both members' files hold both members' tensors; each run takes its own.
    for (const auto& app : w.apps) {
      const std::string member = app.name().substr(0, app.name().find('/'));
      const fs::path set = k_models / "ensemble/training_set_0";
      graphs::Graph g = app;
      Values inputs;
      for (const auto& t : read_set(set, "input")) {
        auto id = g.find_tensor(t.name);
        if (!id) continue;  // the other member's
        if (g.tensor(*id).role == graphs::Role::param) g.tensor(*id).values = t.values;
        else inputs[t.name] = array_of(t);
      }
      sim::functional::RunOptions fp32;
      const Values out = sim::functional::run(g, inputs, fp32);
      int compared = 0;
      for (const auto& t : read_set(set, "output")) {
        if (!t.name.starts_with("new/") || !out.contains(t.name)) continue;
        INFO(t.name);
        CHECK(relative_error(out.at(t.name).data, *t.values) < 1e-4);
        ++compared;
      }
      CHECK(compared == 18);  // every param of the member
    }
  }
}

TEST_CASE("the optimizers' updates are torch.optim's over three steps", "[workloads][training][golden]") {
  const auto in = read_set(k_models / "training_ops/test_data_set_0", "input");
  const auto out = read_set(k_models / "training_ops/test_data_set_0", "output");
  std::map<std::string, graphs::Tensor> golden;
  for (const auto& t : out) golden[t.name] = t;
  auto value = [&](const std::string& name) -> const graphs::Tensor& {
    for (const auto& t : in) {
      if (t.name == name) return t;
    }
    FAIL("no input " << name);
    return in.front();
  };
  struct Run {
    std::string name, kind;
    graphs::Attrs attrs;
  };
  const std::vector<Run> runs{
      {"sgd", "MomentumUpdate", graphs::make_attrs({{"lr", 0.1}, {"momentum", 0.9}})},
      {"adam", "AdamUpdate", graphs::make_attrs({{"lr", 0.01}})},
      {"adamw", "AdamUpdate",
       graphs::make_attrs({{"lr", 0.01}, {"weight_decay", 0.1}, {"decoupled", std::int64_t{1}}})}};
  for (const auto& r : runs) {
    DYNAMIC_SECTION(r.name) {
      graphs::Graph g("optimizer");
      graphs::GraphEditor e(g);
      const graphs::Shape shape = value("p").shape;
      graphs::TensorId p = e.source("p", shape, graphs::Role::input);
      std::vector<graphs::TensorId> state;
      for (std::size_t s = 0; s < (r.kind == "AdamUpdate" ? 2u : 1u); ++s)
        state.push_back(e.source(fmt::format("s{}", s), shape, graphs::Role::state));
      for (std::int64_t step = 1; step <= 3; ++step) {
        graphs::Attrs a = r.attrs;
        if (r.kind == "AdamUpdate") a.values["step"] = step;
        std::vector<graphs::TensorId> ins{p, e.source(fmt::format("g{}", step), shape, graphs::Role::input)};
        ins.insert(ins.end(), state.begin(), state.end());
        const auto written = e.op_n(r.kind, fmt::format("step{}", step), ins, 1 + state.size(), a);
        p = written[0];
        state.assign(written.begin() + 1, written.end());
      }
      g.mark_output(p);
      for (auto s : state) g.mark_output(s);
      graphs::verify(g);
      Values inputs;
      for (const std::string name : {"p", "g1", "g2", "g3"}) inputs[name] = array_of(value(name));
      sim::functional::RunOptions fp64;
      fp64.precision = sim::functional::Precision::fp64;
      const Values result = sim::functional::run(g, inputs, fp64);
      CHECK(relative_error(result.at(g.tensor(p).name).data, *golden.at(r.name).values) < 1e-6);
      if (r.name == "adam") {
        CHECK(relative_error(result.at(g.tensor(state[0]).name).data, *golden.at("adam_m").values) < 1e-6);
        CHECK(relative_error(result.at(g.tensor(state[1]).name).data, *golden.at("adam_v").values) < 1e-6);
      }
    }
  }
}

TEST_CASE("the losses are PyTorch's", "[workloads][training][golden]") {
  std::map<std::string, graphs::Tensor> in, golden;
  for (const auto& t : read_set(k_models / "training_ops/test_data_set_0", "input")) in[t.name] = t;
  for (const auto& t : read_set(k_models / "training_ops/test_data_set_0", "output")) golden[t.name] = t;
  // One-hot rows for the class indices (rdasim's cross-entropy takes probabilities).
  const graphs::Shape shape = in.at("pred").shape;
  std::vector<double> one_hot(in.at("pred").values->size(), 0.0);
  for (std::int64_t r = 0; r < shape[0]; ++r) {
    one_hot[static_cast<std::size_t>(
        r * shape[1] + static_cast<std::int64_t>((*in.at("classes").values)[static_cast<std::size_t>(r)]))] = 1.0;
  }
  std::vector<double> soft(one_hot.size());
  for (std::int64_t r = 0; r < shape[0]; ++r) {
    double sum = 0;
    for (std::int64_t c = 0; c < shape[1]; ++c)
      sum += std::exp((*in.at("target").values)[static_cast<std::size_t>(r * shape[1] + c)]);
    for (std::int64_t c = 0; c < shape[1]; ++c) {
      const auto i = static_cast<std::size_t>(r * shape[1] + c);
      soft[i] = std::exp((*in.at("target").values)[i]) / sum;
    }
  }
  struct Case {
    std::string name;
    graphs::LossKind kind;
    std::string prediction, target_values;
    std::vector<double> target;
  };
  const std::vector<Case> cases{{"l1", graphs::LossKind::l1, "pred", "target", {}},
                                {"mse", graphs::LossKind::mse, "pred", "target", {}},
                                {"cross_entropy", graphs::LossKind::cross_entropy, "pred", "", one_hot},
                                {"cross_entropy_soft", graphs::LossKind::cross_entropy, "pred", "", soft},
                                {"bce", graphs::LossKind::binary_cross_entropy, "prob", "label01", {}},
                                {"gaussian_nll", graphs::LossKind::gaussian_nll, "pred", "target", {}},
                                {"pinball_0.9", graphs::LossKind::pinball, "pred", "target", {}}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      graphs::Graph g("losses");
      graphs::GraphEditor e(g);
      for (const std::string name : {"pred", "prob", "var"}) {
        g.mark_output(e.op("Identity", name + "_out", {e.source(name, shape, graphs::Role::input)}));
      }
      graphs::LossTerm term = graphs::loss_on(c.kind, c.prediction + "_out");
      term.second = "var_out";
      term.quantile = 0.9;
      g.mark_output(graphs::add_loss(g, {term}));
      graphs::verify(g);
      Values inputs;
      for (const std::string name : {"pred", "prob", "var"}) inputs[name] = array_of(in.at(name));
      graphs::Array<double> target(shape);
      target.data = c.target.empty() ? *in.at(c.target_values).values : c.target;
      inputs["target/" + c.prediction + "_out"] = target;
      sim::functional::RunOptions fp64;
      fp64.precision = sim::functional::Precision::fp64;
      const Values result = sim::functional::run(g, inputs, fp64);
      CHECK(std::abs(result.at("loss").data.at(0) / golden.at(c.name).values->at(0) - 1) < 1e-6);
    }
  }
}

TEST_CASE("a training step costs 2.5 to 3.5 times the forward FLOPs on every workload", "[workloads][training]") {
  const std::vector<std::pair<std::string, Given>> cases{{"lensing", {{"stage", "denoise"}, {"image", "32"}}},
                                                         {"lensing", {}},
                                                         {"inversion", {}},
                                                         {"dcrnn", {}},
                                                         {"ensemble", {{"members", "2"}}},
                                                         {"gp-dcrnn", {{"sensors", "600"}, {"parts", "4"}}}};
  for (const auto& [name, params] : cases) {
    DYNAMIC_SECTION(name << " " << fmt::format("{}", fmt::join(params, " "))) {
      Given train = params;
      train["mode"] = "train";
      double forward = 0, step = 0;
      for (const auto& g : workloads::build(name, params).apps) forward += graphs::totals(g).flops;
      for (const auto& g : workloads::build(name, train).apps) step += graphs::totals(g).flops;
      const double ratio = step / forward;
      WARN(fmt::format("{}: forward {:.4g} FLOP, training step {:.4g} FLOP: {:.3f}x", name, forward, step, ratio));
      CHECK(ratio >= 2.5);
      CHECK(ratio <= 3.5);
    }
  }
}

TEST_CASE("dense-diffusion DCRNN trains at under 2.5x: its largest products have constant operands",
          "[workloads][training]") {
  // The dense supports S (constants) make S x X the bulk of the forward FLOPs (323 of 127 +
  // 196 GFLOP); its backward needs S^T dY only, no weight gradient, so that part costs 2x.
  double forward = 0, step = 0;
  for (const auto& g : workloads::build("dcrnn", {{"diffusion", "dense"}}).apps) forward += graphs::totals(g).flops;
  for (const auto& g : workloads::build("dcrnn", {{"diffusion", "dense"}, {"mode", "train"}}).apps)
    step += graphs::totals(g).flops;
  CHECK(step / forward > 2.0);
  CHECK(step / forward < 2.5);
}

TEST_CASE("training parameters are checked", "[workloads][training][errors]") {
  CHECK_THROWS_WITH(workloads::build("inversion", {{"mode", "fit"}}), Contains("expected 'infer' or 'train'"));
  CHECK_THROWS_WITH(workloads::build("inversion", {{"mode", "train"}, {"lr", "-1"}}),
                    Contains("expected a positive number or 'paper' for 'lr'"));
  CHECK_THROWS_WITH(workloads::build("inversion", {{"mode", "train"}, {"optimizer", "lbfgs"}}),
                    Contains("expected 'paper', 'adam'"));
  CHECK_THROWS_WITH(workloads::build("inversion", {{"optimizer", "sgd"}}),
                    Contains("'optimizer' sets up a training step; add -p mode=train"));
  CHECK_NOTHROW(workloads::build("inversion", {{"mode", "train"}, {"lr", "paper"}, {"batch", "2"}}));
  // AdamW takes torch's weight decay, so it is not Adam under another name.
  const auto adamw =
      workloads::build("inversion", {{"mode", "train"}, {"optimizer", "adamw"}, {"batch", "2"}}).apps.front();
  const auto& adamw_update = adamw.op(*adamw.find_op("update/fc1/weight"));
  CHECK(adamw_update.attrs.get_int("decoupled", 0) == 1);
  CHECK(adamw_update.attrs.get_float("weight_decay", 0) == 0.01);
  const auto w =
      workloads::build("inversion", {{"mode", "train"}, {"optimizer", "sgd"}, {"lr", "0.05"}, {"batch", "4"}});
  const auto& g = w.apps.front();
  CHECK(g.name() == "inversion_train");
  const auto& update = g.op(*g.find_op("update/fc1/weight"));
  CHECK(update.kind == "MomentumUpdate");
  CHECK(update.attrs.get_float("lr", 0) == 0.05);
  CHECK(g.tensor(*g.find_tensor("momentum/fc1/weight")).role == graphs::Role::state);
  CHECK(g.tensor(*g.find_tensor("loss")).role == graphs::Role::output);
}

TEST_CASE("a loss on something that is not an output is refused by name", "[workloads][training][errors]") {
  graphs::Graph g = workloads::build("inversion", {{"batch", "2"}}).apps.front();
  try {
    (void)graphs::training_step(g, {graphs::loss_on(graphs::LossKind::l1, "nope")}, {});
    FAIL("expected an InputError");
  } catch (const core::InputError& e) {
    CHECK_THAT(e.what(), Contains("the loss's prediction 'nope' is not an output of the graph; its outputs: R, E_hat"));
  }
  CHECK_THROWS_WITH(graphs::training_step(g, {}, {}), Contains("the loss has no terms"));
}

TEST_CASE("a training step lists what the backward pass keeps and what it re-derives", "[workloads][training]") {
  const graphs::Graph forward = workloads::build("inversion", {{"batch", "4"}}).apps.front();
  const auto step = graphs::training_step(
      forward,
      workloads::find("inversion")->training(workloads::Params(*workloads::find("inversion"), {}), forward).loss, {});
  auto names = [&](const std::vector<graphs::TensorId>& ids) {
    std::set<std::string> out;
    for (auto id : ids) out.insert(step.graph.tensor(id).name);
    return out;
  };
  const auto saved = names(step.gradients.saved), recomputed = names(step.gradients.recomputed);
  CHECK(saved.contains("rbf/diff"));  // Mul(diff, diff)'s backward reads it
  CHECK(recomputed.empty());          // no view's output is read backwards here
  // DCRNN's gate products read reshaped activations: views, re-derived rather than kept.
  const Given small{{"batch", "2"}, {"sensors", "12"}, {"nonzeros", "61"},
                    {"units", "8"}, {"seq", "3"},      {"horizon", "3"}};
  const graphs::Graph dcrnn = workloads::build("dcrnn", small).apps.front();
  const auto dcrnn_step = graphs::training_step(
      dcrnn, workloads::find("dcrnn")->training(workloads::Params(*workloads::find("dcrnn"), small), dcrnn).loss, {});
  REQUIRE_FALSE(dcrnn_step.gradients.recomputed.empty());
  for (auto id : dcrnn_step.gradients.recomputed) {
    const auto& producer = dcrnn_step.graph.op(dcrnn_step.graph.tensor(id).producer);
    INFO(producer.name);
    CHECK(graphs::OpRegistry::instance().find(producer.kind)->is_view);
  }
  CHECK(step.flops[static_cast<int>(graphs::Phase::backward)] > step.flops[static_cast<int>(graphs::Phase::forward)]);
  CHECK(step.params.size() == 6);
  CHECK(step.state.size() == 12);  // Adam: two moments per param
  CHECK(step.phase(*step.graph.find_op("update/fc1/weight")) == graphs::Phase::update);
  CHECK(step.phase(*step.graph.find_op("fc1/gemm")) == graphs::Phase::forward);
  CHECK(step.phase(*step.graph.find_op("loss/total")) == graphs::Phase::loss);
  CHECK(step.phase(step.gradients.backward_ops.front()) == graphs::Phase::backward);
}

TEST_CASE("loss terms and optimizer settings are checked before the graph changes", "[workloads][training][errors]") {
  const graphs::Graph inversion = workloads::build("inversion", {{"batch", "4"}}).apps.front();
  auto fails = [&](graphs::LossTerm term, const std::string& message, graphs::Optimizer optimizer = {}) {
    INFO(message);
    CHECK_THROWS_WITH(graphs::training_step(inversion, {term}, optimizer), Contains(message));
  };
  using graphs::loss_on;
  using graphs::LossKind;
  graphs::LossTerm term = loss_on(LossKind::l1, "R");
  term.target = "nope";
  fails(term, "the loss's target 'nope' is not a tensor of the graph");
  term.target = "E";
  fails(term, "the loss's target 'E' is [4, 151] but the prediction 'R' is [4, 2000]");
  term = loss_on(LossKind::pinball, "R");
  term.quantile = 1.5;
  fails(term, "the pinball quantile is 1.5, expected 0 < q < 1");
  term = loss_on(LossKind::gaussian_nll, "R");
  term.second = "nope";
  fails(term, "the loss's variance 'nope' is not an output of the graph; its outputs: R, E_hat");
  term.second = "E_hat";
  fails(term, "the variance 'E_hat' must have the prediction's shape [4, 2000]");
  term = loss_on(LossKind::inversion, "E_hat");
  term.sigma = 0;
  fails(term, "the inversion loss's sigma is 0, expected > 0");
  graphs::Optimizer bad;
  bad.lr = std::nan("");
  fails(loss_on(LossKind::l1, "R"), "the optimizer's learning rate is nan, expected > 0", bad);
  bad = {};
  bad.beta1 = 1.0;
  fails(loss_on(LossKind::l1, "R"), "the optimizer's beta1 is 1, expected 0 <= beta1 < 1", bad);
  bad = {};
  bad.step = 0;
  fails(loss_on(LossKind::l1, "R"), "the optimizer's step is 0, expected >= 1", bad);

  // Cross-entropy on a rank-3 output: refused before any target input is added.
  graphs::Graph g("rank3");
  graphs::GraphEditor e(g);
  g.mark_output(e.op("Identity", "y", {e.source("x", {2, 3, 4}, graphs::Role::input)}));
  const auto tensors = g.tensors().size();
  CHECK_THROWS_WITH(graphs::add_loss(g, {loss_on(LossKind::cross_entropy, "y")}),
                    Contains("cross-entropy needs logits [N, C]; 'y' is [2, 3, 4]"));
  CHECK(g.tensors().size() == tensors);
  CHECK_THROWS_WITH(graphs::training_step(g, {loss_on(LossKind::l1, "y")}, {}),
                    Contains("the graph has no trainable params"));

  // The update ops check their own attributes too (a graph written by hand).
  graphs::Graph h("adam");
  graphs::GraphEditor he(h);
  std::vector<graphs::TensorId> in;
  for (const char* n : {"p", "g", "m", "v"}) in.push_back(he.source(n, {3}, graphs::Role::input));
  CHECK_THROWS_WITH(he.op_n("AdamUpdate", "update", in, 3, graphs::make_attrs({{"step", std::int64_t{0}}})),
                    Contains("step is 0, expected >= 1"));
}

TEST_CASE("binary cross-entropy stays finite when the sigmoid saturates", "[workloads][training]") {
  graphs::Graph g("saturated");
  graphs::GraphEditor e(g);
  g.mark_output(e.op("Identity", "p", {e.source("prob", {2}, graphs::Role::input)}));
  g.mark_output(graphs::add_loss(g, {graphs::loss_on(graphs::LossKind::binary_cross_entropy, "p")}));
  Values inputs;
  inputs["prob"] = graphs::Array<double>({2});
  inputs["prob"].data = {1.0, 0.0};  // both wrong: log(0) would be -inf
  inputs["target/p"] = graphs::Array<double>({2});
  inputs["target/p"].data = {0.0, 1.0};
  const Values out = sim::functional::run(g, inputs);
  CHECK(out.at("loss").data.at(0) == 100.0);  // torch's clamp of the log at -100
}
