#include "graphs/transforms.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "graphs/verify.h"

namespace rdasim::graphs {

Graph fold_constants(const Graph& graph) {
  const auto ops = graph.ops();
  std::vector<bool> folded(ops.size(), false);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    bool all_known = true;
    for (TensorId t : ops[i].outputs) {
      const Tensor& out = graph.tensor(t);
      all_known = all_known && out.values.has_value() && out.role != Role::output;
    }
    folded[i] = all_known;
  }
  // A tensor survives when a kept op reads or writes it, or when it is an input, param or output.
  const auto tensors = graph.tensors();
  std::vector<bool> used(tensors.size(), false);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (folded[i]) continue;
    for (TensorId t : ops[i].inputs) {
      if (t != k_no_tensor) used[static_cast<std::size_t>(t)] = true;
    }
    for (TensorId t : ops[i].outputs) used[static_cast<std::size_t>(t)] = true;
  }
  Graph out(graph.name());
  for (const auto& [name, size] : graph.dims()) out.set_dim(name, size);
  std::vector<TensorId> remap(tensors.size(), k_no_tensor);
  for (std::size_t id = 0; id < tensors.size(); ++id) {
    const Tensor& t = tensors[id];
    const bool source = t.role == Role::input || t.role == Role::param || t.role == Role::output;
    if (!used[id] && !source) continue;
    Tensor copy = t;
    if (t.producer >= 0 && folded[static_cast<std::size_t>(t.producer)]) copy.role = Role::constant;
    remap[id] = out.add_tensor(std::move(copy));
  }
  for (TensorId id : graph.tensors_with(Role::output)) out.mark_output(remap[static_cast<std::size_t>(id)]);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (folded[i]) continue;
    Op op = ops[i];
    for (auto& t : op.inputs) t = t == k_no_tensor ? k_no_tensor : remap[static_cast<std::size_t>(t)];
    for (auto& t : op.outputs) t = remap[static_cast<std::size_t>(t)];
    out.add_op(std::move(op));
  }
  verify(out);
  return out;
}

std::size_t load_weights(Graph& graph, const std::vector<Tensor>& weights, const std::string& source) {
  std::vector<std::string> names;
  for (const Tensor& t : graph.tensors()) {
    if (t.role == Role::param || t.role == Role::constant) names.push_back(t.name);
  }
  std::size_t set = 0;
  for (const Tensor& w : weights) {
    std::string name = w.name;
    std::replace(name.begin(), name.end(), '.', '/');
    const auto id = graph.find_tensor(name);
    const core::Location where(source, 0, 0, w.name);
    if (!id || (graph.tensor(*id).role != Role::param && graph.tensor(*id).role != Role::constant)) {
      throw core::InputError(where, fmt::format("weight '{}' matches no param or constant '{}' of '{}'{}", w.name, name,
                                                graph.name(), core::did_you_mean(name, names)));
    }
    Tensor& t = graph.tensor(*id);
    if (t.shape != w.shape) {
      throw core::InputError(where, fmt::format("weight '{}' has shape {}, '{}' of '{}' is {}", w.name,
                                                to_string(w.shape), name, graph.name(), to_string(t.shape)));
    }
    t.values = w.values;
    ++set;
  }
  std::vector<std::string> missing;
  for (const Tensor& t : graph.tensors()) {
    if (t.role == Role::param && !t.values) missing.push_back(t.name);
  }
  if (!missing.empty()) {
    throw core::InputError(core::Location(source),
                           fmt::format("gives no values for {} param{} of '{}', first '{}'", missing.size(),
                                       missing.size() == 1 ? "" : "s", graph.name(), missing.front()));
  }
  return set;
}

Graph with_prefix(const Graph& graph, const std::string& prefix) {
  Graph out(prefix + graph.name());
  for (const auto& [name, size] : graph.dims()) out.set_dim(name, size);
  for (Tensor t : graph.tensors()) {
    t.name = prefix + t.name;
    out.add_tensor(std::move(t));  // same ids
  }
  for (TensorId id : graph.tensors_with(Role::output)) out.mark_output(id);
  for (Op op : graph.ops()) {
    op.name = prefix + op.name;
    out.add_op(std::move(op));
  }
  verify(out);
  return out;
}

namespace {

/// Adds the primitives of one expanded op under names "<op>/<part>".
class Expansion {
 public:
  Expansion(Graph& g, const Op& op) : m_g(g), m_op(op) {}

  TensorId ints(const std::string& part, std::vector<std::int64_t> values) {
    Tensor t;
    t.name = name(part);
    t.shape = {static_cast<std::int64_t>(values.size())};
    t.dtype = DType::i64;
    t.role = Role::constant;
    t.values.emplace(values.begin(), values.end());
    return m_g.add_tensor(std::move(t));
  }

  TensorId scalar(const std::string& part, double value, DType dtype) {
    Tensor t;
    t.name = name(part);
    t.dtype = dtype;
    t.role = Role::constant;
    t.values = std::vector<double>{value};
    return m_g.add_tensor(std::move(t));
  }

  /// An op with fresh activations as outputs; returns them.
  std::vector<TensorId> op(const std::string& kind, std::vector<TensorId> inputs, std::size_t outputs = 1,
                           Attrs attrs = {}) {
    std::vector<TensorId> outs;
    for (std::size_t i = 0; i < outputs; ++i) {
      Tensor t;
      t.name = name(kind);
      outs.push_back(m_g.add_tensor(std::move(t)));
    }
    into(kind, std::move(inputs), outs, std::move(attrs));
    return outs;
  }

  TensorId one(const std::string& kind, std::vector<TensorId> inputs, Attrs attrs = {}) {
    return op(kind, std::move(inputs), 1, std::move(attrs)).front();
  }

  /// An op writing existing tensors (the composite's outputs).
  void into(const std::string& kind, std::vector<TensorId> inputs, std::vector<TensorId> outputs, Attrs attrs = {}) {
    Op o;
    o.name = name(kind);
    o.kind = kind;
    o.inputs = std::move(inputs);
    o.outputs = std::move(outputs);
    o.attrs = std::move(attrs);
    m_g.add_op(std::move(o));
  }

  [[noreturn]] void unsupported(const std::string& message) const {
    throw core::UnsupportedError(core::Location(m_g.name(), 0, 0, m_op.name),
                                 fmt::format("op '{}' ({}): cannot expand: {}", m_op.name, m_op.kind, message));
  }

 private:
  std::string name(const std::string& part) { return fmt::format("{}/{}_{}", m_op.name, part, m_counter++); }

  Graph& m_g;
  const Op& m_op;
  int m_counter = 0;
};

Attrs attrs_of(std::initializer_list<std::pair<const std::string, AttrValue>> values) {
  Attrs a;
  a.values.insert(values.begin(), values.end());
  return a;
}

/// Writes the primitives of one GRU (gates = 3) or LSTM (gates = 4) op into `g`, whose tensors
/// have the ids of `source`.
void expand_one(const Graph& source, Graph& g, const Op& op, std::int64_t gates) {
  Expansion e(g, op);
  const Attrs& a = op.attrs;
  auto has = [&](std::size_t i) { return i < op.inputs.size() && op.inputs[i] != k_no_tensor; };
  const bool batch_first = a.get_int("layout", 0) != 0;
  const Shape& xs = source.tensor(op.inputs[0]).shape;
  const std::int64_t seq = batch_first ? xs[1] : xs[0];
  if (has(4)) {
    // Lengths known to be the full sequence change nothing; others make a ragged batch.
    const auto& lengths = source.tensor(op.inputs[4]).values;
    const bool full = lengths && std::all_of(lengths->begin(), lengths->end(),
                                             [seq](double l) { return static_cast<std::int64_t>(l) == seq; });
    if (!full) e.unsupported("sequence_lens other than constant full lengths (a ragged batch) has no primitive form");
  }
  const std::string direction = a.get_string("direction", "forward");
  const std::int64_t dirs = direction == "bidirectional" ? 2 : 1;
  const std::size_t per_dir = gates == 4 ? 3 : 2;
  std::vector<std::string> acts;
  if (auto it = a.values.find("activations"); it != a.values.end())
    acts = std::get<std::vector<std::string>>(it->second);
  for (std::int64_t d = 0; d < dirs; ++d) {
    if (acts.size() < per_dir * static_cast<std::size_t>(d + 1)) {
      acts.insert(acts.end(), {"Sigmoid", "Tanh"});
      if (gates == 4) acts.push_back("Tanh");
    }
  }
  const auto alphas = a.get_floats("activation_alpha");
  for (const auto& name : acts) {
    if (name != "Sigmoid" && name != "Tanh" && name != "Relu" && name != "LeakyRelu") {
      e.unsupported(fmt::format("activation '{}' has no primitive op; Sigmoid, Tanh, Relu and LeakyRelu do", name));
    }
  }
  const bool clip = a.has("clip");
  TensorId clip_lo = k_no_tensor, clip_hi = k_no_tensor;
  const DType dtype = source.tensor(op.inputs[0]).dtype;
  if (clip) {
    clip_lo = e.scalar("clip_lo", -a.get_float("clip", 0.0), dtype);
    clip_hi = e.scalar("clip_hi", a.get_float("clip", 0.0), dtype);
  }
  auto activate = [&](std::size_t index, TensorId x) {
    if (clip) x = e.one("Clip", {x, clip_lo, clip_hi});
    Attrs attrs;
    if (acts[index] == "LeakyRelu") attrs.values["alpha"] = index < alphas.size() ? alphas[index] : 0.01;
    return e.one(acts[index], {x}, std::move(attrs));
  };
  const bool linear_before_reset = a.get_int("linear_before_reset", 0) != 0;

  // X as [seq, batch, input].
  TensorId x = op.inputs[0];
  if (batch_first) x = e.one("Transpose", {x}, attrs_of({{"perm", std::vector<std::int64_t>{1, 0, 2}}}));
  const TensorId axis0 = e.ints("axis0", {0});
  auto take = [&](TensorId t, std::int64_t index) {  // t[index] along axis 0, that axis dropped
    const TensorId s = e.one("Slice", {t, e.ints("start", {index}), e.ints("end", {index + 1}), axis0});
    return e.one("Squeeze", {s, axis0});
  };
  auto initial_state = [&](std::size_t input, std::int64_t d) {
    TensorId s = op.inputs[input];
    if (batch_first) s = e.one("Transpose", {s}, attrs_of({{"perm", std::vector<std::int64_t>{1, 0, 2}}}));
    return take(s, d);  // [batch, hidden]
  };
  const Attrs transpose2 = attrs_of({{"perm", std::vector<std::int64_t>{1, 0}}});
  const Attrs split_gates = attrs_of({{"axis", std::int64_t{-1}}});

  std::vector<TensorId> y_dirs, h_dirs, c_dirs;
  for (std::int64_t d = 0; d < dirs; ++d) {
    const std::size_t act0 = per_dir * static_cast<std::size_t>(d);
    const TensorId w_t = e.one("Transpose", {take(op.inputs[1], d)}, transpose2);  // [input, G*H]
    const TensorId r_t = e.one("Transpose", {take(op.inputs[2], d)}, transpose2);  // [H, G*H]
    // The input projection of every step at once: [seq, batch, G*H], biases included.
    TensorId xw = e.one("MatMul", {x, w_t});
    TensorId r_bias = k_no_tensor;
    std::vector<TensorId> r_bias_gates;
    if (has(3)) {
      const auto halves = e.op("Split", {take(op.inputs[3], d)}, 2, split_gates);  // Wb, Rb
      if (gates == 3 && linear_before_reset) {
        // Rb_h stays inside the reset product; Wb and the z, r parts of Rb add up front.
        r_bias_gates = e.op("Split", {halves[1]}, 3, split_gates);
        const TensorId zr =
            e.one("Concat", {r_bias_gates[0], r_bias_gates[1], e.one("Sub", {r_bias_gates[2], r_bias_gates[2]})},
                  attrs_of({{"axis", std::int64_t{0}}}));
        xw = e.one("Add", {xw, e.one("Add", {halves[0], zr})});
      } else if (gates == 3) {
        r_bias_gates = e.op("Split", {halves[1]}, 3, split_gates);
        xw = e.one("Add", {xw, e.one("Add", {halves[0], halves[1]})});
      } else {
        xw = e.one("Add", {xw, e.one("Add", {halves[0], halves[1]})});
      }
      r_bias = halves[1];
    }
    std::vector<TensorId> peep;
    if (gates == 4 && has(7)) peep = e.op("Split", {take(op.inputs[7], d)}, 3, split_gates);  // i, o, f
    TensorId rh_t = k_no_tensor;
    if (gates == 3 && !linear_before_reset) {
      // R_h^T alone, for (r * H) R_h^T.
      const auto r_parts = e.op("Split", {r_t}, 3, split_gates);
      rh_t = r_parts[2];
    }
    TensorId h = has(5) ? initial_state(5, d) : k_no_tensor;
    TensorId c = gates == 4 && has(6) ? initial_state(6, d) : k_no_tensor;
    if (h == k_no_tensor || (gates == 4 && c == k_no_tensor)) {
      // Zero states shaped like one step's input projection's hidden part.
      const TensorId first = e.op("Split", {take(xw, 0)}, static_cast<std::size_t>(gates), split_gates)[0];
      const TensorId zero = e.one("Sub", {first, first});
      if (h == k_no_tensor) h = zero;
      if (gates == 4 && c == k_no_tensor) c = zero;
    }
    const bool reverse = direction == "reverse" || d == 1;
    std::vector<TensorId> steps(static_cast<std::size_t>(seq));
    for (std::int64_t step = 0; step < seq; ++step) {
      const std::int64_t t = reverse ? seq - 1 - step : step;
      const auto xg = e.op("Split", {take(xw, t)}, static_cast<std::size_t>(gates), split_gates);
      const TensorId hr = e.one("MatMul", {h, r_t});
      const auto hg = e.op("Split", {hr}, static_cast<std::size_t>(gates), split_gates);
      if (gates == 3) {
        const TensorId z = activate(act0, e.one("Add", {xg[0], hg[0]}));
        const TensorId r = activate(act0, e.one("Add", {xg[1], hg[1]}));
        TensorId candidate;
        if (linear_before_reset) {
          TensorId hh = hg[2];
          if (r_bias != k_no_tensor) hh = e.one("Add", {hh, r_bias_gates[2]});
          candidate = e.one("Add", {xg[2], e.one("Mul", {r, hh})});
        } else {
          candidate = e.one("Add", {xg[2], e.one("MatMul", {e.one("Mul", {r, h}), rh_t})});
        }
        const TensorId n = activate(act0 + 1, candidate);
        // H = (1 - z) * n + z * H_prev = n + z * (H_prev - n)
        h = e.one("Add", {n, e.one("Mul", {z, e.one("Sub", {h, n})})});
      } else {
        auto pre = [&](std::size_t q) { return e.one("Add", {xg[q], hg[q]}); };
        TensorId pi = pre(0), pf = pre(2);
        if (!peep.empty()) {
          pi = e.one("Add", {pi, e.one("Mul", {peep[0], c})});
          pf = e.one("Add", {pf, e.one("Mul", {peep[2], c})});
        }
        const TensorId i = activate(act0, pi);
        const TensorId f = activate(act0, pf);
        const TensorId g_gate = activate(act0 + 1, pre(3));
        c = e.one("Add", {e.one("Mul", {f, c}), e.one("Mul", {i, g_gate})});
        TensorId po = pre(1);
        if (!peep.empty()) po = e.one("Add", {po, e.one("Mul", {peep[1], c})});
        const TensorId o = activate(act0, po);
        h = e.one("Mul", {o, activate(act0 + 2, c)});
      }
      steps[static_cast<std::size_t>(t)] = e.one("Unsqueeze", {h, e.ints("axes", {0, 1})});  // [1, 1, batch, H]
    }
    y_dirs.push_back(steps.size() == 1 ? steps[0] : e.one("Concat", steps, attrs_of({{"axis", std::int64_t{0}}})));
    h_dirs.push_back(e.one("Unsqueeze", {h, axis0}));
    if (gates == 4) c_dirs.push_back(e.one("Unsqueeze", {c, axis0}));
  }
  // Outputs in the composite's layout, written into its own output tensors.
  auto finish = [&](std::size_t index, const std::vector<TensorId>& parts, std::vector<std::int64_t> perm) {
    if (index >= op.outputs.size()) return;
    TensorId whole =
        parts.size() == 1 ? parts[0] : e.one("Concat", parts, attrs_of({{"axis", std::int64_t{index == 0 ? 1 : 0}}}));
    if (batch_first) e.into("Transpose", {whole}, {op.outputs[index]}, attrs_of({{"perm", std::move(perm)}}));
    else e.into("Identity", {whole}, {op.outputs[index]});
  };
  finish(0, y_dirs, {2, 0, 1, 3});
  finish(1, h_dirs, {1, 0, 2});
  if (gates == 4) finish(2, c_dirs, {1, 0, 2});
}

}  // namespace

bool has_recurrent(const Graph& graph) {
  return std::any_of(graph.ops().begin(), graph.ops().end(),
                     [](const Op& op) { return op.kind == "GRU" || op.kind == "LSTM"; });
}

Graph expand_recurrent(const Graph& graph) {
  Graph out(graph.name());
  for (const auto& [name, size] : graph.dims()) out.set_dim(name, size);
  for (const Tensor& t : graph.tensors()) out.add_tensor(t);  // same ids
  for (TensorId id : graph.tensors_with(Role::output)) out.mark_output(id);
  for (const Op& op : graph.ops()) {
    if (op.kind == "GRU") expand_one(graph, out, op, 3);
    else if (op.kind == "LSTM") expand_one(graph, out, op, 4);
    else out.add_op(op);
  }
  infer_shapes(out);
  verify(out);
  return out;
}

}  // namespace rdasim::graphs
