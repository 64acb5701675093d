// GRU and LSTM with ONNX semantics (forward, reverse or bidirectional; layout 0 = sequence
// first, 1 = batch first). They are composite: a pass may expand them into MatMul and
// element-wise primitives; the shape rule and cost here describe the whole recurrence.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "graphs/ops/helpers.h"
#include "graphs/ops/kernel_helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;

struct Recurrence {
  std::int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
  bool batch_first = false;
};

/// ONNX's activation functions for recurrent gates, by name.
const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names{"Sigmoid",     "Tanh",   "Relu",           "LeakyRelu",
                                              "HardSigmoid", "Affine", "ScaledTanh",     "Softsign",
                                              "Softplus",    "Elu",    "ThresholdedRelu"};
  return names;
}

/// The gate activations of every direction: ONNX's defaults, or the attribute, checked.
std::vector<std::string> activations_of(const Attrs& attrs, std::int64_t gates, std::int64_t dirs) {
  std::vector<std::string> defaults;
  for (std::int64_t d = 0; d < dirs; ++d) {
    defaults.insert(defaults.end(), {"Sigmoid", "Tanh"});
    if (gates == 4) defaults.push_back("Tanh");
  }
  const auto given = attrs.values.find("activations");
  if (given == attrs.values.end()) return defaults;
  return std::get<std::vector<std::string>>(given->second);
}

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
  const auto activations = activations_of(ctx.attrs(), gates, r.dirs);
  const std::size_t per_direction = gates == 4 ? 3 : 2;
  if (activations.size() != per_direction * static_cast<std::size_t>(r.dirs)) {
    ctx.fail(fmt::format("activations has {} names, expected {} ({} per direction)", activations.size(),
                         per_direction * static_cast<std::size_t>(r.dirs), per_direction));
  }
  for (const auto& name : activations) {
    const auto& known = activation_names();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      ctx.unsupported(fmt::format("activation '{}' is not one of {}", name, fmt::join(known, ", ")));
    }
  }
  if (ctx.attrs().get_int("input_forget", 0) != 0) {
    ctx.unsupported("input_forget = 1 (coupled input and forget gates) is not supported");
  }
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

using namespace kernels;

/// One gate activation with its alpha and beta (ONNX's recurrent activation functions).
struct Activation {
  std::string name;
  double alpha = 0, beta = 0;

  template <class T>
  T operator()(T x) const {
    const auto a = static_cast<T>(alpha), b = static_cast<T>(beta);
    if (name == "Sigmoid") return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    if (name == "Tanh") return std::tanh(x);
    if (name == "Relu") return std::max(x, T(0));
    if (name == "LeakyRelu") return x >= T(0) ? x : a * x;
    if (name == "HardSigmoid") return std::clamp(a * x + b, T(0), T(1));
    if (name == "Affine") return a * x + b;
    if (name == "ScaledTanh") return a * std::tanh(b * x);
    if (name == "Softsign") return x / (T(1) + std::abs(x));
    if (name == "Softplus") return std::log1p(std::exp(x));
    if (name == "Elu") return x >= T(0) ? x : a * (std::exp(x) - T(1));
    return x > a ? x : T(0);  // ThresholdedRelu
  }
};

std::vector<Activation> activations(const Attrs& attrs, std::int64_t gates, std::int64_t dirs) {
  const auto names = activations_of(attrs, gates, dirs);
  const auto alphas = attrs.get_floats("activation_alpha");
  const auto betas = attrs.get_floats("activation_beta");
  std::vector<Activation> out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    // Defaults as in ONNX's reference: LeakyRelu 0.01, HardSigmoid 0.2 / 0.5, Elu 1, ...
    const double default_alpha = names[i] == "LeakyRelu" ? 0.01 : names[i] == "HardSigmoid" ? 0.2 : 1.0;
    const double default_beta = names[i] == "HardSigmoid" ? 0.5 : names[i] == "Affine" ? 0.0 : 1.0;
    out.push_back(
        {names[i], i < alphas.size() ? alphas[i] : default_alpha, i < betas.size() ? betas[i] : default_beta});
  }
  return out;
}

/// GRU (3 gates: z, r, h) and LSTM (4 gates: i, o, f, c) over the sequence, one direction
/// at a time; gate products through GEMMs, steps past a batch entry's length leave zeros in Y
/// and its state unchanged.
template <std::int64_t gates>
struct RecurrentKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Attrs& attrs = io.attrs();
    const bool batch_first = attrs.get_int("layout", 0) != 0;
    const Shape& xs = io.in(0).shape;
    const std::int64_t seq = batch_first ? xs[1] : xs[0], batch = batch_first ? xs[0] : xs[1], input = xs[2];
    const std::int64_t hidden = attrs.get_int("hidden_size", 0);
    const std::string direction = attrs.get_string("direction", "forward");
    const std::int64_t dirs = direction == "bidirectional" ? 2 : 1;
    const bool clip = attrs.has("clip");
    const auto clip_at = static_cast<T>(attrs.get_float("clip", 0.0));
    const bool linear_before_reset = attrs.get_int("linear_before_reset", 0) != 0;
    const auto acts = activations(attrs, gates, dirs);
    const std::int64_t gh = gates * hidden;
    std::vector<std::int64_t> lengths(to_size(batch), seq);
    if (io.has_input(4)) {
      lengths = io.ints(4);
      for (auto l : lengths) {
        if (l < 0 || l > seq) io.fail(fmt::format("a sequence length of {} is outside 0..{}", l, seq));
      }
    }
    Array<T>* y = io.has_output(0) ? &io.out(0) : nullptr;
    if (y) std::fill(y->data.begin(), y->data.end(), T(0));
    // Index helpers for the layouts: X [seq, batch, input] or [batch, seq, input]; Y [seq, dirs,
    // batch, hidden] or [batch, seq, dirs, hidden]; states [dirs, batch, hidden] or [batch, dirs, hidden].
    auto x_at = [&](std::int64_t t, std::int64_t b) { return (batch_first ? b * seq + t : t * batch + b) * input; };
    auto y_at = [&](std::int64_t t, std::int64_t d, std::int64_t b) {
      return (batch_first ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * hidden;
    };
    auto state_at = [&](std::int64_t d, std::int64_t b) {
      return (batch_first ? b * dirs + d : d * batch + b) * hidden;
    };

    std::vector<T> xt(to_size(batch * input)), ht(to_size(batch * hidden)), ct(to_size(batch * hidden));
    std::vector<T> xw(to_size(batch * gh)), hr(to_size(batch * gh)), rh(to_size(batch * hidden));
    std::vector<T> wt(to_size(gh * input)), rt(to_size(gh * hidden));
    for (std::int64_t d = 0; d < dirs; ++d) {
      const bool reverse = direction == "reverse" || d == 1;
      const T* w = io.in(1).data.data() + d * gh * input;
      const T* r = io.in(2).data.data() + d * gh * hidden;
      const T* wb = io.has_input(3) ? io.in(3).data.data() + d * 2 * gh : nullptr;
      const T* rb = wb ? wb + gh : nullptr;
      const T* peep = gates == 4 && io.has_input(7) ? io.in(7).data.data() + d * 3 * hidden : nullptr;
      const Activation& f = acts[to_size(d) * (gates == 4 ? 3 : 2)];
      const Activation& g = acts[to_size(d) * (gates == 4 ? 3 : 2) + 1];
      const Activation& h_act = gates == 4 ? acts[to_size(d) * 3 + 2] : g;
      for (std::int64_t b = 0; b < batch; ++b) {
        for (std::int64_t k = 0; k < hidden; ++k) {
          const auto at = to_size(state_at(d, b) + k);
          ht[to_size(b * hidden + k)] = io.has_input(5) ? io.in(5).data[at] : T(0);
          ct[to_size(b * hidden + k)] = gates == 4 && io.has_input(6) ? io.in(6).data[at] : T(0);
        }
      }
      auto gate = [&](T v) { return clip ? std::clamp(v, -clip_at, clip_at) : v; };
      for (std::int64_t step = 0; step < seq; ++step) {
        for (std::int64_t b = 0; b < batch; ++b) {
          // Reverse runs each entry from its own last step back to its first.
          const std::int64_t t = reverse ? lengths[to_size(b)] - 1 - step : step;
          const T* src = io.in(0).data.data() + x_at(std::max<std::int64_t>(t, 0), b);
          std::copy_n(src, input, xt.begin() + b * input);
        }
        gemm(xt.data(), false, w, true, xw.data(), batch, gh, input, T(1), T(0));
        gemm(ht.data(), false, r, true, hr.data(), batch, gh, hidden, T(1), T(0));
        for (std::int64_t b = 0; b < batch; ++b) {
          const std::int64_t t = reverse ? lengths[to_size(b)] - 1 - step : step;
          if (step >= lengths[to_size(b)]) continue;
          T* xg = xw.data() + b * gh;
          T* hg = hr.data() + b * gh;
          T* hb = ht.data() + b * hidden;
          T* cb = ct.data() + b * hidden;
          auto bias = [&](const T* v, std::int64_t i) { return v ? v[i] : T(0); };
          if constexpr (gates == 3) {
            std::vector<T> z(to_size(hidden)), rr(to_size(hidden));
            for (std::int64_t k = 0; k < hidden; ++k) {
              z[to_size(k)] = f(gate(xg[k] + hg[k] + bias(wb, k) + bias(rb, k)));
              rr[to_size(k)] = f(gate(xg[hidden + k] + hg[hidden + k] + bias(wb, hidden + k) + bias(rb, hidden + k)));
            }
            std::vector<T> candidate(to_size(hidden));
            if (linear_before_reset) {
              for (std::int64_t k = 0; k < hidden; ++k) {
                candidate[to_size(k)] = xg[2 * hidden + k] + bias(wb, 2 * hidden + k) +
                                        rr[to_size(k)] * (hg[2 * hidden + k] + bias(rb, 2 * hidden + k));
              }
            } else {
              // (r * H_{t-1}) R_h^T: a product of its own once r is known.
              for (std::int64_t k = 0; k < hidden; ++k) rh[to_size(k)] = rr[to_size(k)] * hb[k];
              const T* rh_w = r + 2 * hidden * hidden;
              for (std::int64_t k = 0; k < hidden; ++k) {
                T acc = 0;
                for (std::int64_t j = 0; j < hidden; ++j) acc += rh[to_size(j)] * rh_w[k * hidden + j];
                candidate[to_size(k)] = xg[2 * hidden + k] + bias(wb, 2 * hidden + k) + acc + bias(rb, 2 * hidden + k);
              }
            }
            for (std::int64_t k = 0; k < hidden; ++k) {
              const T n = g(gate(candidate[to_size(k)]));
              hb[k] = (T(1) - z[to_size(k)]) * n + z[to_size(k)] * hb[k];
            }
          } else {
            for (std::int64_t k = 0; k < hidden; ++k) {
              auto pre = [&](std::int64_t q) {
                return xg[q * hidden + k] + hg[q * hidden + k] + bias(wb, q * hidden + k) + bias(rb, q * hidden + k);
              };
              const T c_prev = cb[k];
              const T i = f(gate(pre(0) + (peep ? peep[k] * c_prev : T(0))));
              const T fg = f(gate(pre(2) + (peep ? peep[2 * hidden + k] * c_prev : T(0))));
              const T c_new = fg * c_prev + i * g(gate(pre(3)));
              const T o = f(gate(pre(1) + (peep ? peep[hidden + k] * c_new : T(0))));
              cb[k] = c_new;
              hb[k] = o * h_act(c_new);
            }
          }
          if (y) std::copy_n(hb, hidden, y->data.begin() + y_at(t, d, b));
        }
      }
      for (std::size_t out = 1; out < io.num_outputs(); ++out) {
        if (!io.has_output(out)) continue;
        const std::vector<T>& state = out == 1 ? ht : ct;
        for (std::int64_t b = 0; b < batch; ++b) {
          std::copy_n(state.begin() + b * hidden, hidden, io.out(out).data.begin() + state_at(d, b));
        }
      }
    }
  }
};

void recurrent(OpRegistry& reg, std::string kind, std::string summary, std::int64_t gates, double pointwise,
               Kernel kernel) {
  OpDef def;
  def.kernel = kernel;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.min_inputs = 3;
  def.max_inputs = gates == 4 ? 8 : 6;
  def.min_outputs = 1;
  def.max_outputs = gates == 4 ? 3 : 2;
  def.attrs = {attr_required("hidden_size", AttrType::int_),
               attr_string("direction", "forward"),
               attr_int("layout", 0),
               AttrDecl{"clip", AttrType::float_, std::nullopt, true},
               AttrDecl{"activations", AttrType::strings, std::nullopt, true},
               AttrDecl{"activation_alpha", AttrType::floats, std::nullopt, true},
               AttrDecl{"activation_beta", AttrType::floats, std::nullopt, true}};
  if (gates == 3) def.attrs.push_back(attr_int("linear_before_reset", 0));
  if (gates == 4) def.attrs.push_back(attr_int("input_forget", 0));
  def.infer = [gates](const OpContext& ctx) { return outputs(ctx, check(ctx, gates)); };
  def.flops = [gates, pointwise](const OpContext& ctx) {
    return recurrence_flops(check(ctx, gates), static_cast<double>(gates), pointwise);
  };
  // Its gate projections: [x_t, h_t-1] x [W; R] per step and direction (the mapper sees the
  // expanded primitives; the GPU runs it as cuDNN's GEMMs).
  def.traits = matrix_traits(
      GpuKernel::matmul,
      [gates](const OpContext& ctx) {
        const Shape& x = ctx.in_shape(0);
        const Shape& w = ctx.in_shape(1);
        const std::int64_t hidden = ctx.attrs().get_int("hidden_size", 1);
        return GemmView{w[0], x[0] * x[1], gates * hidden, x[2] + hidden};  // W [dirs, gates x hidden, input]
      },
      // Step t needs the inputs up to t (forward; a reverse pass needs them all); batch rows
      // are independent. Weights and initial states whole.
      [](const OpContext& ctx, std::size_t slot, std::size_t out_axis) -> StreamNeed {
        if (slot != 0) return StreamNeed::whole();
        const bool batch_first = ctx.attrs().get_int("layout", 0) != 0;
        const std::size_t y_seq = batch_first ? 1 : 0, y_batch = batch_first ? 0 : 2;
        const int x_seq = batch_first ? 1 : 0, x_batch = batch_first ? 0 : 1;
        if (out_axis == y_batch) return {Dependency::slice, x_batch, 0};
        if (out_axis == y_seq && ctx.attrs().get_string("direction", "forward") == "forward")
          return {Dependency::prefix, x_seq, 0};
        return StreamNeed::whole();
      });
  reg.add(std::move(def));
}

}  // namespace

void register_recurrent_ops(OpRegistry& r) {
  // GRU per hidden unit: 2 sigmoids (12), tanh (6), 6 bias adds, r*h, (1-z)*n + z*h (4): 28.
  recurrent(r, "GRU", "gated recurrent unit over a sequence (gates z, r, h)", 3, 28, make_kernel<RecurrentKernel<3>>());
  // LSTM per hidden unit: 3 sigmoids (18), 2 tanh (12), 8 bias adds, f*c + i*g, o*tanh(c) (4): 42.
  recurrent(r, "LSTM", "long short-term memory over a sequence (gates i, o, f, c)", 4, 42,
            make_kernel<RecurrentKernel<4>>());
}

}  // namespace rdasim::graphs
