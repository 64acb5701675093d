// GRU and LSTM with ONNX semantics (forward, reverse or bidirectional; layout 0 = sequence
// first, 1 = batch first). They are composite: a pass may expand them into MatMul and
// element-wise primitives; the shape rule and cost here describe the whole recurrence.
#include <fmt/format.h>

#include "graphs/ops/helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;

struct Recurrence {
  std::int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
  bool batch_first = false;
};

/// Checks X, W, R, B and the initial states of a recurrent op with `gates` gates.
Recurrence check(const OpContext& ctx, std::int64_t gates) {
  ctx.require_rank(0, 3, 3, "X");
  Recurrence r;
  r.batch_first = ctx.attrs().get_int("layout", 0) != 0;
  const Shape& x = ctx.in_shape(0);
  r.seq = r.batch_first ? x[1] : x[0];
  r.batch = r.batch_first ? x[0] : x[1];
  r.input = x[2];
  r.hidden = ctx.attrs().get_int("hidden_size", 0);
  if (r.hidden < 1) ctx.fail("hidden_size must be positive");
  const std::string direction = ctx.attrs().get_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") {
    ctx.fail(fmt::format("direction '{}' is not one of forward, reverse, bidirectional", direction));
  }
  r.dirs = direction == "bidirectional" ? 2 : 1;
  auto expect = [&](std::size_t i, const Shape& shape, const char* what) {
    if (ctx.has_input(i) && ctx.in_shape(i) != shape) {
      ctx.fail(fmt::format("{} '{}' must have shape {}, found {}", what, ctx.input(i).name, to_string(shape),
                           to_string(ctx.in_shape(i))));
    }
  };
  const std::int64_t gh = gates * r.hidden;
  expect(1, {r.dirs, gh, r.input}, "W");
  expect(2, {r.dirs, gh, r.hidden}, "R");
  expect(3, {r.dirs, 2 * gh}, "B");
  expect(4, {r.batch}, "sequence_lens");
  const Shape state = r.batch_first ? Shape{r.batch, r.dirs, r.hidden} : Shape{r.dirs, r.batch, r.hidden};
  expect(5, state, "initial_h");
  if (gates == 4) {
    expect(6, state, "initial_c");
    expect(7, {r.dirs, 3 * r.hidden}, "P");
  }
  return r;
}

std::vector<TensorInfo> outputs(const OpContext& ctx, const Recurrence& r) {
  const DType t = ctx.in_dtype(0);
  const Shape y = r.batch_first ? Shape{r.batch, r.seq, r.dirs, r.hidden} : Shape{r.seq, r.dirs, r.batch, r.hidden};
  const Shape state = r.batch_first ? Shape{r.batch, r.dirs, r.hidden} : Shape{r.dirs, r.batch, r.hidden};
  std::vector<TensorInfo> out{{y, t}};
  for (std::size_t i = 1; i < ctx.op().outputs.size(); ++i) out.push_back({state, t});
  return out;
}

/// Per step and direction: the gate products 2 * batch * gates*H * (input + H), plus
/// `pointwise` FLOPs per hidden unit for biases, activations and the state update.
double recurrence_flops(const Recurrence& r, double gates, double pointwise) {
  const double b = static_cast<double>(r.batch);
  const double h = static_cast<double>(r.hidden);
  const double per_step = 2.0 * b * gates * h * static_cast<double>(r.input + r.hidden) + b * h * pointwise;
  return per_step * static_cast<double>(r.seq * r.dirs);
}

void recurrent(OpRegistry& reg, std::string kind, std::string summary, std::int64_t gates, double pointwise) {
  OpDef def;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.min_inputs = 3;
  def.max_inputs = gates == 4 ? 8 : 6;
  def.min_outputs = 1;
  def.max_outputs = gates == 4 ? 3 : 2;
  def.attrs = {attr_required("hidden_size", AttrType::int_), attr_string("direction", "forward"),
               attr_int("layout", 0), AttrDecl{"clip", AttrType::float_, std::nullopt, true},
               AttrDecl{"activations", AttrType::strings, std::nullopt, true},
               AttrDecl{"activation_alpha", AttrType::floats, std::nullopt, true},
               AttrDecl{"activation_beta", AttrType::floats, std::nullopt, true}};
  if (gates == 3) def.attrs.push_back(attr_int("linear_before_reset", 0));
  if (gates == 4) def.attrs.push_back(attr_int("input_forget", 0));
  def.infer = [gates](const OpContext& ctx) { return outputs(ctx, check(ctx, gates)); };
  def.flops = [gates, pointwise](const OpContext& ctx) {
    return recurrence_flops(check(ctx, gates), static_cast<double>(gates), pointwise);
  };
  reg.add(std::move(def));
}

}  // namespace

void register_recurrent_ops(OpRegistry& r) {
  // GRU per hidden unit: 2 sigmoids (12), tanh (6), 6 bias adds, r*h, (1-z)*n + z*h (4): 28.
  recurrent(r, "GRU", "gated recurrent unit over a sequence (gates z, r, h)", 3, 28);
  // LSTM per hidden unit: 3 sigmoids (18), 2 tanh (12), 8 bias adds, f*c + i*g, o*tanh(c) (4): 42.
  recurrent(r, "LSTM", "long short-term memory over a sequence (gates i, o, f, c)", 4, 42);
}

}  // namespace rdasim::graphs
