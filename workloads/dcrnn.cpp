// DCRNN (Li et al., ICLR 2018; shared/WORKLOADS.md §3): a sequence-to-sequence model of DCGRU
// cells, whose gates are diffusion convolutions over a road graph, unrolled over time. The
// decoder feeds its own projection back as the next input.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "core/log.h"
#include "workloads/layers.h"
#include "workloads/road_network.h"
#include "workloads/workload.h"

namespace rdasim::workloads {

namespace {

using graphs::GraphBuilder;
using graphs::TensorId;

graphs::Attrs axis(std::int64_t a) {
  graphs::Attrs attrs;
  attrs.values["axis"] = a;
  return attrs;
}

/// The diffusion supports as the graph holds them: CSR constants for SpMM, or dense matrices.
struct Supports {
  std::vector<std::array<TensorId, 3>> sparse;  // row_ptr, col_idx, values
  std::vector<TensorId> dense;
  std::int64_t sensors = 0;
};

Supports add_supports(GraphBuilder& b, const std::vector<Csr>& supports, bool sparse) {
  Supports s;
  s.sensors = supports.front().rows;
  for (std::size_t k = 0; k < supports.size(); ++k) {
    const Csr& m = supports[k];
    const std::string name = fmt::format("support{}", k + 1);
    if (sparse) {
      s.sparse.push_back({b.ints(name + "/row_ptr", m.row_ptr), b.ints(name + "/col_idx", m.col_idx),
                          b.constant(name + "/values", {m.nonzeros()}, m.values)});
      continue;
    }
    std::vector<double> dense(static_cast<std::size_t>(m.rows * m.cols), 0.0);
    for (std::int64_t i = 0; i < m.rows; ++i) {
      for (auto e = m.row_ptr[static_cast<std::size_t>(i)]; e < m.row_ptr[static_cast<std::size_t>(i + 1)]; ++e) {
        dense[static_cast<std::size_t>(i * m.cols + m.col_idx[static_cast<std::size_t>(e)])] =
            m.values[static_cast<std::size_t>(e)];
      }
    }
    s.dense.push_back(b.constant(name, {m.rows, m.cols}, std::move(dense)));
  }
  return s;
}

/// The weights of one DCGRU layer, shared by all its time steps.
struct CellWeights {
  TensorId ru_weight, ru_bias, c_weight, c_bias;
};

struct Config {
  std::int64_t batch, units, diffusion_steps, layers, input_dim, output_dim, seq, horizon;
};

class Builder {
 public:
  Builder(GraphBuilder& b, const Config& c, Supports s) : m_b(b), m_c(c), m_s(std::move(s)) {}

  /// S . x for support k, x [B, N, F].
  TensorId diffuse(std::size_t k, TensorId x, const std::string& name) {
    if (!m_s.sparse.empty()) {
      graphs::Attrs cols;
      cols.values["cols"] = m_s.sensors;
      const auto& csr = m_s.sparse[k];
      return m_b.op("SpMM", name, {csr[0], csr[1], csr[2], x}, std::move(cols));
    }
    return m_b.op("MatMul", name, {m_s.dense[k], x});
  }

  /// Diffusion convolution of [inputs, state] ([B, N, F]) to `out` features: the K-step
  /// Chebyshev-style diffusion per support, stacked as [B, N, F, M], then one dense weight.
  TensorId gconv(const std::string& name, TensorId inputs, TensorId state, TensorId w, TensorId bias) {
    graphs::BuilderScope scope(m_b, name);
    const TensorId x0 = m_b.op("Concat", "x", {inputs, state}, axis(2));
    std::vector<TensorId> copies{x0};
    const std::size_t supports = std::max(m_s.sparse.size(), m_s.dense.size());
    for (std::size_t k = 0; k < supports; ++k) {
      TensorId prev = x0;
      TensorId cur = diffuse(k, x0, fmt::format("s{}_x1", k + 1));
      copies.push_back(cur);
      for (std::int64_t step = 2; step <= m_c.diffusion_steps; ++step) {
        const TensorId next = m_b.op("Sub", fmt::format("s{}_x{}", k + 1, step),
                                     {layers::scale(m_b, fmt::format("s{}_x{}_twice", k + 1, step),
                                                    diffuse(k, cur, fmt::format("s{}_sx{}", k + 1, step)), 2.0),
                                      prev});
        copies.push_back(next);
        prev = cur;
        cur = next;
      }
    }
    // [B, N, F, M] with the copies innermost, as DCRNN lays out its weight rows (f * M + m).
    std::vector<TensorId> stacked;
    for (std::size_t m = 0; m < copies.size(); ++m) {
      stacked.push_back(m_b.op("Unsqueeze", fmt::format("copy{}", m), {copies[m], m_axis3}));
    }
    const TensorId all =
        m_b.op("Reshape", "stack",
               {m_b.op("Concat", "copies", stacked, axis(3)), m_b.ints("stack_shape", {m_c.batch, m_s.sensors, -1})});
    return m_b.op("Add", "add_bias", {m_b.op("MatMul", "matmul", {all, w}), bias});
  }

  /// One DCGRU step: r, u = sigmoid(gconv([X, H])); C = tanh(gconv([X, r * H])); H' = u H + (1 - u) C.
  TensorId cell(const std::string& name, TensorId x, TensorId h, const CellWeights& w) {
    graphs::BuilderScope scope(m_b, name);
    const TensorId ru = m_b.op("Sigmoid", "ru", {gconv("gconv_ru", x, h, w.ru_weight, w.ru_bias)});
    const auto gates = m_b.op_n("Split", "split", {ru, m_b.ints("halves", {m_c.units, m_c.units})}, 2, axis(2));
    const TensorId c =
        m_b.op("Tanh", "c", {gconv("gconv_c", x, m_b.op("Mul", "r_h", {gates[0], h}), w.c_weight, w.c_bias)});
    // u H + (1 - u) C = C + u (H - C)
    return m_b.op("Add", "h", {c, m_b.op("Mul", "u_delta", {gates[1], m_b.op("Sub", "delta", {h, c})})});
  }

  /// A layer's weights: [F * M, out] per graph convolution, F = input features + U.
  CellWeights weights(const std::string& name, std::int64_t input_dim) {
    graphs::BuilderScope scope(m_b, name);
    const std::int64_t matrices =
        static_cast<std::int64_t>(std::max(m_s.sparse.size(), m_s.dense.size())) * m_c.diffusion_steps + 1;
    const std::int64_t rows = (input_dim + m_c.units) * matrices;
    return {m_b.param("gconv_ru/weight", {rows, 2 * m_c.units}), m_b.param("gconv_ru/bias", {2 * m_c.units}),
            m_b.param("gconv_c/weight", {rows, m_c.units}), m_b.param("gconv_c/bias", {m_c.units})};
  }

  void build() {
    m_axis3 = m_b.ints("axis3", {3});
    std::vector<CellWeights> encoder, decoder;
    for (std::int64_t l = 0; l < m_c.layers; ++l) {
      encoder.push_back(weights(fmt::format("encoder/layer{}", l), l == 0 ? m_c.input_dim : m_c.units));
      decoder.push_back(weights(fmt::format("decoder/layer{}", l), l == 0 ? m_c.output_dim : m_c.units));
    }
    const TensorId x = m_b.input("x", {m_c.seq, m_c.batch, m_s.sensors, m_c.input_dim});
    const auto zeros = [&](const std::string& name, std::int64_t features) {
      return m_b.constant(name, {m_c.batch, m_s.sensors, features},
                          std::vector<double>(static_cast<std::size_t>(m_c.batch * m_s.sensors * features), 0.0));
    };
    std::vector<TensorId> state(static_cast<std::size_t>(m_c.layers), zeros("initial_state", m_c.units));
    for (std::int64_t t = 0; t < m_c.seq; ++t) {
      graphs::BuilderScope step(m_b, fmt::format("encoder/t{}", t));
      TensorId in =
          m_b.op("Gather", "input", {x, m_b.constant("index", {}, {static_cast<double>(t)}, graphs::DType::i64)});
      for (std::int64_t l = 0; l < m_c.layers; ++l) {
        const auto li = static_cast<std::size_t>(l);
        state[li] = cell(fmt::format("layer{}", l), in, state[li], encoder[li]);
        in = state[li];
      }
    }
    {
      graphs::BuilderScope scope(m_b, "projection");
      graphs::Attrs perm;
      perm.values["perm"] = std::vector<std::int64_t>{1, 0};
      m_projection_wt = m_b.op("Transpose", "weight_t", {m_b.param("weight", {m_c.output_dim, m_c.units})}, perm);
      m_projection_b = m_b.param("bias", {m_c.output_dim});
    }
    TensorId in = zeros("go", m_c.output_dim);
    std::vector<TensorId> outputs;
    for (std::int64_t t = 0; t < m_c.horizon; ++t) {
      graphs::BuilderScope step(m_b, fmt::format("decoder/t{}", t));
      for (std::int64_t l = 0; l < m_c.layers; ++l) {
        const auto li = static_cast<std::size_t>(l);
        state[li] = cell(fmt::format("layer{}", l), in, state[li], decoder[li]);
        in = state[li];
      }
      in = projection(in);
      outputs.push_back(m_b.op("Unsqueeze", "out", {in, m_b.ints("axis0", {0})}));
    }
    m_b.output(m_b.op("Concat", "forecast", outputs, axis(0)));
  }

 private:
  /// The Linear U -> output_dim every decoder step applies at every node (one set of weights,
  /// nn.Linear's layout [out, in]).
  TensorId projection(TensorId h) {
    return m_b.op("Add", "projection", {m_b.op("MatMul", "project", {h, m_projection_wt}), m_projection_b});
  }

  GraphBuilder& m_b;
  Config m_c;
  Supports m_s;
  TensorId m_axis3 = graphs::k_no_tensor;
  TensorId m_projection_wt = graphs::k_no_tensor, m_projection_b = graphs::k_no_tensor;
};

Config config_of(const Params& p) {
  return {p.integer("batch"), p.integer("units"),  p.integer("diffusion_steps"), p.integer("layers"), 2, 1,
          p.integer("seq"),   p.integer("horizon")};
}

graphs::Graph dcrnn_graph(const std::string& name, const Config& c, const std::vector<Csr>& supports, bool sparse) {
  GraphBuilder b(name);
  Builder(b, c, add_supports(b, supports, sparse)).build();
  return b.finish();
}

Workload build_dcrnn(const Params& p) {
  RoadOptions road;
  road.sensors = p.integer("sensors");
  road.nonzeros = p.integer("nonzeros");
  road.seed = static_cast<std::uint64_t>(p.integer("seed"));
  const RoadNetwork net = generate_road_network(road);
  const auto supports = diffusion_supports(net.weights, p.text("supports") == "dual_random_walk");
  Workload w;
  w.apps.push_back(dcrnn_graph("dcrnn", config_of(p), supports, p.text("diffusion") == "sparse"));
  return w;
}

/// GP-DCRNN: the road graph cut by METIS into `parts` subgraphs, each (with its halo of
/// out-of-part neighbours as input-only sensors) its own DCRNN; the combine graph keeps each
/// part's own sensors and puts them back in the road graph's order.
Workload build_gp_dcrnn(const Params& p) {
  RoadOptions road;
  road.sensors = p.integer("sensors");
  road.seed = static_cast<std::uint64_t>(p.integer("seed"));
  const RoadNetwork net = generate_road_network(road);
  const auto parts = static_cast<int>(p.integer("parts"));
  const auto split = partition_road_network(net.weights, parts, static_cast<int>(p.integer("seed")));
  const auto [smallest, largest] = std::minmax_element(split.sizes.begin(), split.sizes.end());
  core::log::info("METIS cut {} sensors into {} parts of {} to {} sensors (imbalance {:.3f}; link weight cut {:.1f})",
                  net.sensors(), parts, *smallest, *largest, split.imbalance.front(),
                  static_cast<double>(split.edge_cut) / 1000.0);  // weights were scaled by 1000
  const bool halo = p.text("halo") == "neighbours";
  const bool dual = p.text("supports") == "dual_random_walk";
  const Config c = config_of(p);
  Workload w;
  std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(parts));
  for (std::int64_t v = 0; v < net.sensors(); ++v)
    members[static_cast<std::size_t>(split.part[static_cast<std::size_t>(v)])].push_back(v);
  std::vector<std::int64_t> own_sizes;
  for (int k = 0; k < parts; ++k) {
    const auto& own = members[static_cast<std::size_t>(k)];
    const auto nodes = halo ? with_halo(net.weights, own) : own;
    own_sizes.push_back(static_cast<std::int64_t>(own.size()));
    w.apps.push_back(dcrnn_graph(fmt::format("gp_dcrnn_part{}", k), c,
                                 diffusion_supports(subgraph(net.weights, nodes), dual),
                                 p.text("diffusion") == "sparse"));
  }
  // Combine: [horizon, batch, N_k, 1] per part -> own sensors -> the full graph's order.
  GraphBuilder b("gp_dcrnn_combine");
  std::vector<TensorId> pieces;
  std::vector<std::int64_t> order;  // sensor of each position after the concatenation
  for (int k = 0; k < parts; ++k) {
    const auto& app = w.apps[static_cast<std::size_t>(k)];
    const auto& out = app.tensor(app.tensors_with(graphs::Role::output).front());
    TensorId piece = b.input(fmt::format("part{}", k), out.shape);
    if (out.shape[2] != own_sizes[static_cast<std::size_t>(k)]) {
      piece = b.op("Slice", fmt::format("part{}_own", k),
                   {piece, b.ints(fmt::format("part{}_start", k), {0}),
                    b.ints(fmt::format("part{}_end", k), {own_sizes[static_cast<std::size_t>(k)]}),
                    b.ints(fmt::format("part{}_axis", k), {2})});
    }
    pieces.push_back(piece);
    const auto& own = members[static_cast<std::size_t>(k)];
    order.insert(order.end(), own.begin(), own.end());
  }
  std::vector<double> position(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) position[static_cast<std::size_t>(order[i])] = static_cast<double>(i);
  const TensorId joined = b.op("Concat", "concat", pieces, axis(2));
  b.output(b.op(
      "Gather", "forecast",
      {joined, b.constant("sensor_positions", {static_cast<std::int64_t>(order.size())}, position, graphs::DType::i64)},
      axis(2)));
  w.combine = b.finish();
  return w;
}

}  // namespace

namespace {

/// DCRNN's masked mean absolute error (missing readings are zeros) and its Adam settings:
/// base_lr 0.01, epsilon 1e-3.
Training train_dcrnn(const Params&, const graphs::Graph& app) {
  Training t;
  graphs::LossTerm term = graphs::loss_on(graphs::LossKind::l1, output_name(app, 0));
  term.masked = true;
  t.loss.push_back(term);
  t.optimizer.lr = 1e-2;
  t.optimizer.epsilon = 1e-3;
  return t;
}

}  // namespace

std::vector<ParamDecl> model_params() {
  return {
      {"batch", "64", "sequences per run", {}},
      {"diffusion_steps", "2", "diffusion steps K", {}},
      {"layers", "2", "DCGRU layers in the encoder and in the decoder", {}},
      {"seq", "12", "input steps (encoder)", {}},
      {"horizon", "12", "forecast steps (decoder)", {}},
      {"diffusion", "sparse", "SpMM on CSR supports, or dense MatMul (as the SambaNova port)", {"sparse", "dense"}}};
}

WorkloadDef dcrnn_workload() {
  std::vector<ParamDecl> params{
      {"sensors", "207", "road-graph nodes (METR-LA 207, PEMS-BAY 325)", {}},
      {"nonzeros", "1722", "nonzeros of the weighted adjacency, self loops included", {}},
      {"seed", "1", "seed of the generated road graph", {}},
      {"units", "64", "DCGRU hidden units U", {}},
      {"supports", "dual_random_walk", "diffusion supports", {"dual_random_walk", "random_walk"}}};
  for (auto& m : model_params()) params.push_back(std::move(m));
  return {"dcrnn",
          "seq2seq DCGRU traffic forecasting on a generated road graph (METR-LA scale by default), unrolled in time",
          std::move(params), build_dcrnn, train_dcrnn};
}

WorkloadDef gp_dcrnn_workload() {
  std::vector<ParamDecl> params{
      {"sensors", "11160", "road-graph nodes (California scale)", {}},
      {"parts", "64", "METIS parts, one DCRNN application each", {}},
      {"halo", "none", "add each part's out-of-part neighbours as input-only sensors", {"none", "neighbours"}},
      {"seed", "1", "seed of the road graph and of METIS", {}},
      {"units", "16", "DCGRU hidden units U", {}},
      {"supports", "random_walk", "diffusion supports", {"random_walk", "dual_random_walk"}}};
  for (auto& m : model_params()) params.push_back(std::move(m));
  return {"gp-dcrnn",
          "graph-partitioned DCRNN: a California-scale road graph cut by METIS, one DCRNN per part, and their combine",
          std::move(params), build_gp_dcrnn, train_dcrnn};
}

}  // namespace rdasim::workloads
