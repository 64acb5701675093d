// Gradient rules against central finite differences in fp64: every op kind that declares a
// gradient has a case here (the coverage test fails when one is missing), on small shapes
// that exercise broadcasting, strides, padding, groups and transposes. The objective is
// sum_k sum(out_k * w_k) over the op's float outputs with fixed random weights w_k, so that
// every output element matters and no two elements weigh the same.
#include <cmath>
#include <functional>
#include <random>
#include <set>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "graphs/autodiff.h"
#include "graphs/editor.h"
#include "graphs/op_registry.h"
#include "graphs/verify.h"
#include "sim/functional/executor.h"

namespace rdasim {
namespace {

using graphs::DType;
using graphs::Graph;
using graphs::make_attrs;
using graphs::Role;
using graphs::Shape;
using graphs::TensorId;

/// Values of a differentiated input: uniform in [lo, hi], at least `gap` away from 0 (the
/// kinks of Relu, Abs, Clip's bounds shifted there), seeded by name.
struct Range {
  double lo = -1, hi = 1, gap = 0.1;
};

std::vector<double> draw(const std::string& name, std::size_t n, Range r) {
  std::mt19937_64 rng(std::hash<std::string>{}(name) ^ 0x5eedULL);
  std::uniform_real_distribution<double> u(r.lo, r.hi);
  std::vector<double> v(n);
  for (auto& x : v) {
    do x = u(rng);
    while (std::abs(x) < r.gap);
  }
  return v;
}

/// One op of the kind under test, its differentiated inputs as params with values.
class Case {
 public:
  Case() : m_editor(m_graph) {}

  TensorId param(const std::string& name, Shape shape, Range r = {}) {
    auto v = draw(name, static_cast<std::size_t>(graphs::checked_elements(shape).value()), r);
    const TensorId id = m_editor.source(name, std::move(shape), Role::param, DType::f32, std::move(v));
    m_params.push_back(id);
    return id;
  }
  TensorId constant(const std::string& name, Shape shape, std::vector<double> values, DType dtype = DType::f32) {
    return m_editor.source(name, std::move(shape), Role::constant, dtype, std::move(values));
  }
  TensorId ints(const std::string& name, const std::vector<std::int64_t>& v) { return m_editor.ints(name, v); }
  TensorId scalar(const std::string& name, double v) { return m_editor.scalar(name, v); }
  void op(const std::string& kind, std::vector<TensorId> in, graphs::Attrs a = {}, std::size_t outputs = 1) {
    m_outputs = m_editor.op_n(kind, "op", std::move(in), outputs, std::move(a));
  }

  /// Adds the objective; returns it.
  TensorId finish() {
    TensorId total = graphs::k_no_tensor;
    for (std::size_t k = 0; k < m_outputs.size(); ++k) {
      const Shape shape = m_graph.tensor(m_outputs[k]).shape;
      const auto n = static_cast<std::size_t>(graphs::checked_elements(shape).value());
      const TensorId w = constant(fmt::format("w{}", k), shape, draw(fmt::format("w{}", k), n, {-1, 1, 0}),
                                  m_graph.tensor(m_outputs[k]).dtype);
      const TensorId term = m_editor.op("ReduceSum", fmt::format("objective{}", k),
                                        {m_editor.op("Mul", fmt::format("weighted{}", k), {m_outputs[k], w})},
                                        make_attrs({{"keepdims", std::int64_t{0}}}));
      total = total == graphs::k_no_tensor ? term : m_editor.op("Add", fmt::format("sum{}", k), {total, term});
    }
    m_graph.mark_output(total);
    return total;
  }

  Graph& graph() { return m_graph; }
  const std::vector<TensorId>& params() const { return m_params; }

 private:
  Graph m_graph{"grad_check"};
  graphs::GraphEditor m_editor;
  std::vector<TensorId> m_params;
  std::vector<TensorId> m_outputs;
};

struct Check {
  std::string kind;
  std::string label;
  std::function<void(Case&)> build;
};

graphs::Attrs ints_attr(const std::string& name, std::vector<std::int64_t> v) {
  return make_attrs({{name, std::move(v)}});
}

std::vector<Check> checks() {
  std::vector<Check> c;
  const Range positive{0.2, 2.0, 0.0};
  for (std::string kind : {"Sqrt", "Log", "Reciprocal"}) {
    c.push_back({kind, kind, [kind, positive](Case& t) { t.op(kind, {t.param("x", {3, 4}, positive)}); }});
  }
  for (std::string kind : {"Exp", "Cos", "Sin", "Neg", "Abs", "Relu", "Sigmoid", "Tanh", "Softplus", "Erf"}) {
    c.push_back({kind, kind, [kind](Case& t) { t.op(kind, {t.param("x", {3, 4}, {-2, 2, 0.1})}); }});
  }
  c.push_back({"LeakyRelu", "LeakyRelu alpha 0.2", [](Case& t) {
                 t.op("LeakyRelu", {t.param("x", {3, 4})}, make_attrs({{"alpha", 0.2}}));
               }});
  c.push_back({"Gelu", "Gelu exact", [](Case& t) { t.op("Gelu", {t.param("x", {3, 4}, {-3, 3, 0})}); }});
  c.push_back({"Gelu", "Gelu tanh", [](Case& t) {
                 t.op("Gelu", {t.param("x", {3, 4}, {-3, 3, 0})}, make_attrs({{"approximate", std::string("tanh")}}));
               }});
  c.push_back({"Clip", "Clip to [-0.5, 0.5]", [](Case& t) {
                 // Values are drawn at least 0.1 from 0; shifted by 0.55 none sits on a bound.
                 t.op("Clip", {t.param("x", {4, 5}, {-0.45, 0.45, 0.1}), t.scalar("lo", -0.5), t.scalar("hi", 0.5)});
               }});
  for (std::string kind : {"Add", "Sub", "Mul"}) {
    c.push_back({kind, kind + " broadcasting [2,3,4] with [3,1]", [kind](Case& t) {
                   t.op(kind, {t.param("a", {2, 3, 4}), t.param("b", {3, 1})});
                 }});
  }
  c.push_back({"Div", "Div broadcasting", [positive](Case& t) {
                 t.op("Div", {t.param("a", {2, 3}), t.param("b", {3}, positive)});
               }});
  c.push_back({"Pow", "Pow", [positive](Case& t) {
                 t.op("Pow", {t.param("a", {2, 3}, positive), t.param("b", {2, 3}, {-1.5, 1.5, 0.1})});
               }});
  c.push_back({"Where", "Where with a constant condition, broadcasting", [](Case& t) {
                 t.op("Where", {t.constant("cond", {3, 1}, {1, 0, 1}), t.param("x", {3, 4}), t.param("y", {4})});
               }});
  c.push_back({"MatMul", "MatMul batched [2,3,4] x [4,5]", [](Case& t) {
                 t.op("MatMul", {t.param("a", {2, 3, 4}), t.param("b", {4, 5})});
               }});
  c.push_back({"MatMul", "MatMul [3,4] x batched [2,4,5]", [](Case& t) {
                 t.op("MatMul", {t.param("a", {3, 4}), t.param("b", {2, 4, 5})});
               }});
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      c.push_back(
          {"Gemm", fmt::format("Gemm transA {} transB {} with C [4] and alpha, beta", ta, tb), [ta, tb](Case& t) {
             const TensorId a = t.param("a", ta ? Shape{5, 3} : Shape{3, 5});
             const TensorId b = t.param("b", tb ? Shape{4, 5} : Shape{5, 4});
             t.op("Gemm", {a, b, t.param("c", {4})},
                  make_attrs(
                      {{"transA", std::int64_t{ta}}, {"transB", std::int64_t{tb}}, {"alpha", 0.7}, {"beta", 1.3}}));
           }});
    }
  }
  c.push_back({"SpMM", "SpMM, CSR [3 x 4] times [2, 4, 3]", [](Case& t) {
                 t.op("SpMM",
                      {t.ints("row_ptr", {0, 2, 3, 5}), t.ints("col_idx", {0, 3, 1, 2, 3}),
                       t.constant("values", {5}, {0.5, -1.0, 2.0, 0.25, 1.5}), t.param("b", {2, 4, 3})},
                      make_attrs({{"cols", std::int64_t{4}}}));
               }});
  c.push_back({"Conv", "Conv stride 2, pads, dilation 1, bias", [](Case& t) {
                 t.op("Conv", {t.param("x", {2, 3, 7, 6}), t.param("w", {4, 3, 3, 3}), t.param("bias", {4})},
                      make_attrs({{"strides", std::vector<std::int64_t>{2, 2}},
                                  {"pads", std::vector<std::int64_t>{1, 1, 1, 0}}}));
               }});
  c.push_back({"Conv", "Conv group 2, dilation 2, stride 3, no bias", [](Case& t) {
                 t.op("Conv", {t.param("x", {1, 4, 9, 8}), t.param("w", {6, 2, 2, 3})},
                      make_attrs({{"group", std::int64_t{2}},
                                  {"dilations", std::vector<std::int64_t>{2, 2}},
                                  {"strides", std::vector<std::int64_t>{3, 3}},
                                  {"pads", std::vector<std::int64_t>{1, 0, 1, 2}}}));
               }});
  c.push_back({"ConvTranspose", "ConvTranspose stride 2, pads, bias", [](Case& t) {
                 t.op("ConvTranspose", {t.param("x", {2, 3, 4, 3}), t.param("w", {3, 2, 3, 3}), t.param("bias", {2})},
                      make_attrs({{"strides", std::vector<std::int64_t>{2, 2}},
                                  {"pads", std::vector<std::int64_t>{1, 0, 1, 1}}}));
               }});
  c.push_back({"GlobalAveragePool", "GlobalAveragePool", [](Case& t) {
                 t.op("GlobalAveragePool", {t.param("x", {2, 3, 4, 5})});
               }});
  for (std::string kind : {"Softmax", "LogSoftmax"}) {
    c.push_back({kind, kind + " axis 1 of [2,5,3]", [kind](Case& t) {
                   t.op(kind, {t.param("x", {2, 5, 3}, {-2, 2, 0})}, make_attrs({{"axis", std::int64_t{1}}}));
                 }});
  }
  c.push_back({"ReduceMean", "ReduceMean axes [0, 2], keepdims", [](Case& t) {
                 t.op("ReduceMean", {t.param("x", {2, 3, 4}), t.ints("axes", {0, 2})});
               }});
  c.push_back({"ReduceSum", "ReduceSum axis -1, no keepdims", [](Case& t) {
                 t.op("ReduceSum", {t.param("x", {2, 3, 4}), t.ints("axes", {-1})},
                      make_attrs({{"keepdims", std::int64_t{0}}}));
               }});
  c.push_back({"ReduceSum", "ReduceSum of everything", [](Case& t) {
                 t.op("ReduceSum", {t.param("x", {2, 3})}, make_attrs({{"keepdims", std::int64_t{0}}}));
               }});
  c.push_back({"ReduceMax", "ReduceMax axis 1, keepdims", [](Case& t) {
                 t.op("ReduceMax", {t.param("x", {2, 4, 3}), t.ints("axes", {1})});
               }});
  c.push_back({"ReduceMax", "ReduceMax of everything, no keepdims", [](Case& t) {
                 t.op("ReduceMax", {t.param("x", {3, 4})}, make_attrs({{"keepdims", std::int64_t{0}}}));
               }});
  c.push_back({"MaxPool", "MaxPool 3x3 stride 2 pads 1", [](Case& t) {
                 t.op("MaxPool", {t.param("x", {2, 2, 7, 6})},
                      make_attrs({{"kernel_shape", std::vector<std::int64_t>{3, 3}},
                                  {"strides", std::vector<std::int64_t>{2, 2}},
                                  {"pads", std::vector<std::int64_t>{1, 1, 1, 1}}}));
               }});
  for (std::int64_t include : {0, 1}) {
    c.push_back({"AveragePool", fmt::format("AveragePool 3x2 stride 2 pads, count_include_pad {}", include),
                 [include](Case& t) {
                   t.op("AveragePool", {t.param("x", {1, 3, 6, 5})},
                        make_attrs({{"kernel_shape", std::vector<std::int64_t>{3, 2}},
                                    {"strides", std::vector<std::int64_t>{2, 2}},
                                    {"pads", std::vector<std::int64_t>{1, 0, 1, 1}},
                                    {"count_include_pad", include}}));
                 }});
  }
  c.push_back({"LayerNormalization", "LayerNormalization over the last axis", [](Case& t) {
                 t.op("LayerNormalization", {t.param("x", {3, 5}), t.param("scale", {5}), t.param("bias", {5})});
               }});
  c.push_back({"LayerNormalization", "LayerNormalization from axis 1, scale only", [](Case& t) {
                 t.op("LayerNormalization", {t.param("x", {2, 3, 4}), t.param("scale", {3, 4})},
                      make_attrs({{"axis", std::int64_t{1}}}));
               }});
  c.push_back({"BatchNormalization", "BatchNormalization (inference form)", [](Case& t) {
                 t.op("BatchNormalization",
                      {t.param("x", {2, 3, 2, 2}), t.param("scale", {3}), t.param("bias", {3}),
                       t.constant("mean", {3}, {0.1, -0.2, 0.3}), t.constant("var", {3}, {0.5, 1.5, 1.0})});
               }});
  c.push_back({"Flatten", "Flatten axis 2", [](Case& t) {
                 t.op("Flatten", {t.param("x", {2, 3, 4})}, make_attrs({{"axis", std::int64_t{2}}}));
               }});
  c.push_back({"Reshape", "Reshape", [](Case& t) {
                 t.op("Reshape", {t.param("x", {2, 3, 4}), t.ints("shape", {4, -1})});
               }});
  c.push_back({"Squeeze", "Squeeze", [](Case& t) { t.op("Squeeze", {t.param("x", {2, 1, 3}), t.ints("axes", {1})}); }});
  c.push_back({"Unsqueeze", "Unsqueeze", [](Case& t) {
                 t.op("Unsqueeze", {t.param("x", {2, 3}), t.ints("axes", {0, 3})});
               }});
  c.push_back({"Identity", "Identity", [](Case& t) { t.op("Identity", {t.param("x", {2, 3})}); }});
  c.push_back({"Transpose", "Transpose perm [1, 2, 0]", [](Case& t) {
                 t.op("Transpose", {t.param("x", {2, 3, 4})}, ints_attr("perm", {1, 2, 0}));
               }});
  c.push_back({"Concat", "Concat axis 1 of three", [](Case& t) {
                 t.op("Concat",
                      {t.param("a", {2, 1, 3}), t.constant("b", {2, 2, 3}, std::vector<double>(12, 0.5)),
                       t.param("c", {2, 3, 3})},
                      make_attrs({{"axis", std::int64_t{1}}}));
               }});
  c.push_back(
      {"Split", "Split axis 1 into [1, 3, 2]", [](Case& t) {
         t.op("Split", {t.param("x", {2, 6}), t.ints("split", {1, 3, 2})}, make_attrs({{"axis", std::int64_t{1}}}), 3);
       }});
  c.push_back({"Slice", "Slice with steps 2 and -1", [](Case& t) {
                 t.op("Slice", {t.param("x", {5, 6}), t.ints("starts", {1, 4}), t.ints("ends", {5, 0}),
                                t.ints("axes", {0, 1}), t.ints("steps", {2, -1})});
               }});
  c.push_back({"Gather", "Gather axis 1 with a repeated index", [](Case& t) {
                 t.op("Gather", {t.param("x", {2, 4, 3}), t.ints("indices", {3, 0, 3})},
                      make_attrs({{"axis", std::int64_t{1}}}));
               }});
  c.push_back({"Expand", "Expand [3,1] to [2,3,4]", [](Case& t) {
                 t.op("Expand", {t.param("x", {3, 1}), t.ints("shape", {2, 3, 4})});
               }});
  c.push_back({"Cast", "Cast to f64", [](Case& t) {
                 t.op("Cast", {t.param("x", {2, 3})}, make_attrs({{"to", std::string("f64")}}));
               }});
  return c;
}

/// The objective's value with the graph's current param values.
double objective(const Graph& g) {
  sim::functional::RunOptions fp64;
  fp64.precision = sim::functional::Precision::fp64;
  const auto out = sim::functional::run(g, {}, fp64);
  return out.begin()->second.data.at(0);
}

TEST_CASE("every gradient rule matches central differences in fp64", "[graphs][autodiff]") {
  for (const auto& check : checks()) {
    DYNAMIC_SECTION(check.label) {
      Case t;
      check.build(t);
      const TensorId loss = t.finish();
      Graph forward = t.graph();
      Graph backward = t.graph();
      const auto grads = graphs::add_gradients(backward, loss, t.params());
      for (TensorId p : t.params()) backward.mark_output(grads.of.at(p));
      graphs::verify(backward);
      sim::functional::RunOptions fp64;
      fp64.precision = sim::functional::Precision::fp64;
      const auto values = sim::functional::run(backward, {}, fp64);
      for (TensorId p : t.params()) {
        const auto& analytic = values.at(backward.tensor(grads.of.at(p)).name).data;
        auto& x = *forward.tensor(p).values;
        std::vector<double> numeric(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
          const double keep = x[i], h = 1e-5 * std::max(1.0, std::abs(keep));
          x[i] = keep + h;
          const double up = objective(forward);
          x[i] = keep - h;
          const double down = objective(forward);
          x[i] = keep;
          numeric[i] = (up - down) / (2 * h);
        }
        double diff = 0, norm = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
          diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
          norm += numeric[i] * numeric[i];
        }
        INFO(fmt::format("{}: d/d{} ({} elements), |grad| {:.3g}", check.label, forward.tensor(p).name, x.size(),
                         std::sqrt(norm)));
        CHECK(norm > 0);
        CHECK(std::sqrt(diff / norm) < 1e-6);
      }
    }
  }
}

TEST_CASE("every op kind with a gradient rule has a finite-difference check", "[graphs][autodiff]") {
  std::set<std::string> checked;
  for (const auto& check : checks()) checked.insert(check.kind);
  const auto& registry = graphs::OpRegistry::instance();
  std::vector<std::string> with_rule;
  for (const auto& kind : registry.kinds()) {
    if (registry.find(kind)->gradient) with_rule.push_back(kind);
  }
  for (const auto& kind : with_rule) {
    INFO(kind);
    CHECK(checked.contains(kind));
  }
  CHECK(with_rule.size() >= 40);
}

TEST_CASE("a gradient through an op kind without a rule fails naming the op", "[graphs][autodiff][errors]") {
  Case t;
  t.op("SumTo", {t.param("x", {2, 3})}, make_attrs({{"shape", std::vector<std::int64_t>{3}}}));  // backward-only
  const TensorId loss = t.finish();
  try {
    (void)graphs::add_gradients(t.graph(), loss, t.params());
    FAIL("expected an UnsupportedError");
  } catch (const core::UnsupportedError& e) {
    CHECK(std::string(e.what()).find("op 'op' (SumTo): no gradient: the op kind has no gradient rule") !=
          std::string::npos);
  }
}

TEST_CASE("a param shared by two ops gets the sum of both gradients", "[graphs][autodiff]") {
  Case t;
  const TensorId x = t.param("x", {3});
  t.op("Mul", {x, x});  // d(sum(w x^2))/dx = 2 w x: two contributions through one op's inputs
  const TensorId loss = t.finish();
  const auto grads = graphs::add_gradients(t.graph(), loss, t.params());
  t.graph().mark_output(grads.of.at(x));
  sim::functional::RunOptions fp64;
  fp64.precision = sim::functional::Precision::fp64;
  const auto out = sim::functional::run(t.graph(), {}, fp64);
  const auto& g = out.at(t.graph().tensor(grads.of.at(x)).name).data;
  const auto& xv = *t.graph().tensor(x).values;
  const auto& w = *t.graph().tensor(*t.graph().find_tensor("w0")).values;
  for (std::size_t i = 0; i < 3; ++i) CHECK(std::abs(g[i] - 2 * w[i] * xv[i]) < 1e-12);
}

}  // namespace
}  // namespace rdasim

namespace rdasim {
namespace {

/// The message of the UnsupportedError add_gradients throws for the case, or "" when none.
std::string unsupported_message(Case& t) {
  const TensorId loss = t.finish();
  try {
    (void)graphs::add_gradients(t.graph(), loss, t.params());
  } catch (const core::UnsupportedError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("uses of an op its gradient rule does not cover fail naming the op and the use",
          "[graphs][autodiff][errors]") {
  using Catch::Matchers::Contains;
  {
    Case t;
    t.op("Conv", {t.param("x", {1, 2, 5, 5}), t.param("w", {2, 2, 3, 3})},
         make_attrs({{"auto_pad", std::string("SAME_UPPER")}}));
    CHECK_THAT(unsupported_message(t), Contains("op 'op' (Conv): no gradient: auto_pad SAME_UPPER"));
  }
  {
    Case t;
    t.op("ConvTranspose", {t.param("x", {1, 2, 3, 3}), t.param("w", {2, 1, 3, 3})},
         make_attrs({{"group", std::int64_t{2}}}));
    CHECK_THAT(unsupported_message(t), Contains("op 'op' (ConvTranspose): no gradient: groups"));
  }
  {
    Case t;
    t.op("MatMul", {t.param("a", {4}), t.param("b", {4, 3})});
    CHECK_THAT(unsupported_message(t), Contains("op 'op' (MatMul): no gradient: 1-D operands"));
  }
  {
    Case t;
    t.op("SpMM",
         {t.ints("row_ptr", {0, 1, 2}), t.ints("col_idx", {1, 0}), t.param("values", {2}), t.param("b", {2, 3})},
         make_attrs({{"cols", std::int64_t{2}}}));
    CHECK_THAT(unsupported_message(t), Contains("op 'op' (SpMM): no gradient: the sparse values must be constants"));
  }
  {
    Case t;
    t.op("Where", {t.param("c", {3}), t.param("x", {3}), t.param("y", {3})});
    CHECK_THAT(unsupported_message(t), Contains("op 'op' (Where): no gradient: the condition is not differentiable"));
  }
}

/// The gradient of sum(out * w) for the one-op case, w the objective's weights.
std::vector<double> gradient_of(Case& t, TensorId param) {
  const TensorId loss = t.finish();
  const auto grads = graphs::add_gradients(t.graph(), loss, t.params());
  t.graph().mark_output(grads.of.at(param));
  sim::functional::RunOptions fp64;
  fp64.precision = sim::functional::Precision::fp64;
  return sim::functional::run(t.graph(), {}, fp64).at(t.graph().tensor(grads.of.at(param)).name).data;
}

TEST_CASE("ties: ReduceMax shares the gradient among equal maxima, MaxPool gives it to the first",
          "[graphs][autodiff]") {
  {
    Case t;
    const TensorId x = t.param("x", {1, 3});
    t.graph().tensor(x).values = std::vector<double>{1.0, 3.0, 3.0};
    t.op("ReduceMax", {x, t.ints("axes", {1})});
    const auto g = gradient_of(t, x);
    const double w = t.graph().tensor(*t.graph().find_tensor("w0")).values->at(0);
    CHECK(g == std::vector<double>{0.0, w / 2, w / 2});  // as torch.amax
  }
  {
    Case t;
    const TensorId x = t.param("x", {1, 1, 2, 2});
    t.graph().tensor(x).values = std::vector<double>{1.0, 2.0, 2.0, 0.0};
    t.op("MaxPool", {x}, make_attrs({{"kernel_shape", std::vector<std::int64_t>{2, 2}}}));
    const auto g = gradient_of(t, x);
    const double w = t.graph().tensor(*t.graph().find_tensor("w0")).values->at(0);
    CHECK(g == std::vector<double>{0.0, w, 0.0, 0.0});  // the forward pass's choice
  }
}

}  // namespace
}  // namespace rdasim
