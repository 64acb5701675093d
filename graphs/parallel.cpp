// The sharding transform of graphs/parallel.h. Ops are copied in the unsharded graph's
// topological order, each for every replica and tensor-parallel rank of its stage, so every
// collective finds all its ranks' inputs already made.
#include "graphs/parallel.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/algorithms.h"
#include "graphs/editor.h"
#include "graphs/op_registry.h"
#include "graphs/verify.h"

namespace rdasim::graphs {

std::vector<std::int64_t> even_split(std::int64_t extent, int parts) {
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(parts), extent / parts);
  for (std::int64_t i = 0; i < extent % parts; ++i) ++sizes[static_cast<std::size_t>(i)];
  return sizes;
}

namespace {

/// How one tensor of the unsharded graph lies over the tensor-parallel ranks of a stage.
enum class Layout {
  whole,  ///< every rank holds all of it
  split,  ///< rank i holds `sizes[i]` of axis `axis`
};

struct Value {
  Layout layout = Layout::whole;
  std::vector<TensorId> ranks;      ///< per tensor-parallel rank
  std::vector<std::int64_t> sizes;  ///< split: per rank, along `axis`
  std::size_t axis = 0;             ///< split: the last axis, except for attention's heads

  [[nodiscard]] bool split_along(std::size_t a) const { return layout == Layout::split && axis == a; }
};

/// The query and KV heads of an op that divides its work by attention head (attention, rotary
/// embedding), 0 for one that does not.
struct Heads {
  std::int64_t q = 0, kv = 0;
};

Heads heads_of(const Op& op) {
  if (op.kind == "GroupedQueryAttention")
    return {op.attrs.get_int("q_num_heads", 0), op.attrs.get_int("kv_num_heads", 0)};
  if (op.kind == "RotaryEmbedding") return {op.attrs.get_int("num_heads", 0), 0};
  return {};
}

/// A product with a weight: Y = A B (+ C), B a stored 2-D tensor, A not transposed.
struct WeightedProduct {
  std::size_t n_axis = 1;  ///< B's axis of output columns (0 when Gemm's transB)
  std::size_t k_axis = 0;  ///< B's axis of the reduction
  bool has_bias = false;   ///< Gemm's C
};

std::optional<WeightedProduct> weighted_product(const Graph& g, const Op& op) {
  if (op.kind != "MatMul" && op.kind != "Gemm") return std::nullopt;
  if (op.inputs.size() < 2) return std::nullopt;
  const Tensor& b = g.tensor(op.inputs[1]);
  if (!is_stored(b.role) || b.shape.size() != 2 || g.tensor(op.inputs[0]).shape.empty()) return std::nullopt;
  WeightedProduct w;
  if (op.kind == "Gemm") {
    if (op.attrs.get_int("transA", 0) != 0) return std::nullopt;
    if (op.attrs.get_int("transB", 0) != 0) std::swap(w.n_axis, w.k_axis);
    w.has_bias = op.inputs.size() > 2 && op.inputs[2] != k_no_tensor;
  }
  return w;
}

/// A layer, for pipeline stages: a matrix op with a weight.
bool is_layer(const Graph& g, OpId id) {
  const Op& op = g.op(id);
  if (op_traits(g, id).engine != Engine::matrix) return false;
  return std::any_of(op.inputs.begin(), op.inputs.end(),
                     [&](TensorId t) { return t != k_no_tensor && is_stored(g.tensor(t).role); });
}

/// Values of `values` (row-major `shape`) from `begin` to `begin + size` along `axis`.
std::vector<double> slice_values(const std::vector<double>& values, const Shape& shape, std::size_t axis,
                                 std::int64_t begin, std::int64_t size) {
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(outer * size * inner));
  for (std::int64_t o = 0; o < outer; ++o) {
    const auto from = values.begin() + (o * shape[axis] + begin) * inner;
    out.insert(out.end(), from, from + size * inner);
  }
  return out;
}

class Sharder {
 public:
  Sharder(const Graph& graph, const Parallelism& p, const ShardOptions& options)
      : m_src(graph),
        m_p(p),
        m_options(options),
        m_editor(m_result.graph) {
    m_result.parallelism = p;
    m_result.graph.set_name(graph.name());
    check_degrees();
    make_replicas();
    assign_stages();
  }

  ShardedGraph run() {
    for (const OpId id : topological_order(m_src)) {
      for (int r = 0; r < m_p.dp; ++r) copy_op(r, id);
    }
    mark_outputs();
    m_result.stage_of_op = m_stage;
    verify(m_result.graph);
    return std::move(m_result);
  }

 private:
  using Key = std::tuple<int, int, TensorId>;  // replica, stage, unsharded tensor

  [[noreturn]] void fail(const std::string& message) const {
    throw core::InputError(core::Location(m_src.name()), message);
  }

  void check_degrees() const {
    for (const auto& [name, degree] : {std::pair{"tensor", m_p.tp}, {"pipeline", m_p.pp}, {"data", m_p.dp}}) {
      if (degree < 1) fail(fmt::format("{} parallel degree {}; expected 1 or more", name, degree));
    }
    if ((m_p.tp > 1 || m_p.pp > 1) && !m_options.gradients.empty()) {
      fail("tensor and pipeline parallelism shard inference graphs; a training step runs data parallel (--dp)");
    }
    // Attention splits by head, and a head is not split: the degree must divide every count.
    // Attention ops first, so that the message names attention rather than a rotary embedding.
    for (const bool attention : {true, false}) {
      for (const Op& op : m_src.ops()) {
        if ((op.kind == "GroupedQueryAttention") != attention) continue;
        const Heads heads = heads_of(op);
        for (const auto& [what, count] : {std::pair{"attention heads", heads.q}, {"KV heads", heads.kv}}) {
          if (m_p.tp > 1 && count > 0 && count % m_p.tp != 0) {
            fail(fmt::format("tensor parallel {} does not divide the {} {} of '{}'; attention splits by whole heads",
                             m_p.tp, count, what, op.name));
          }
        }
      }
    }
  }

  /// Each replica's view of the graph: the batch dimension set to its share, or the caller's
  /// graphs built at those shares.
  void make_replicas() {
    m_share.assign(static_cast<std::size_t>(m_p.dp), 0);
    m_begin.assign(static_cast<std::size_t>(m_p.dp), 0);
    if (m_p.dp == 1) {
      m_replicas.push_back(m_src);
      return;
    }
    const auto batch = m_src.dims().find("batch");
    if (!m_options.replicas.empty()) {
      if (m_options.replicas.size() != static_cast<std::size_t>(m_p.dp)) {
        fail(fmt::format("data parallel {} was given {} replica graphs", m_p.dp, m_options.replicas.size()));
      }
      m_batch = m_options.batch;
      RDASIM_ASSERT(m_batch > 0, "data-parallel replicas come with the graph's batch");
    } else if (batch == m_src.dims().end()) {
      fail(fmt::format("data parallel {} splits the batch, but the graph declares no `batch` dimension", m_p.dp));
    } else {
      m_batch = batch->second;
    }
    if (m_batch < m_p.dp) {
      fail(fmt::format("data parallel {} needs a sample per replica; the batch is {}", m_p.dp, m_batch));
    }
    const auto shares = even_split(m_batch, m_p.dp);
    std::int64_t begin = 0;
    for (int r = 0; r < m_p.dp; ++r) {
      const auto at = static_cast<std::size_t>(r);
      if (!m_options.replicas.empty()) {
        m_replicas.push_back(m_options.replicas[at]);
        if (m_replicas.back().ops().size() != m_src.ops().size()) {
          fail(fmt::format("replica {} of data parallel {} should be the graph at batch {}", r, m_p.dp, shares[at]));
        }
      } else {
        Graph replica = m_src;
        replica.set_dim("batch", shares[at]);
        infer_shapes(replica);
        m_replicas.push_back(std::move(replica));
      }
      m_share[at] = shares[at];
      m_begin[at] = begin;
      begin += shares[at];
    }
  }

  /// Contiguous stages of the topological order, cut before layers so that each stage has at
  /// least one and the FLOPs are as even as the layers allow.
  void assign_stages() {
    const auto order = topological_order(m_src);
    m_stage.assign(m_src.ops().size(), 0);
    if (m_p.pp == 1) return;
    std::vector<double> flops;
    std::vector<bool> layer;
    int layers = 0;
    for (const OpId id : order) {
      flops.push_back(op_cost(m_src, id).flops);
      layer.push_back(is_layer(m_src, id));
      layers += layer.back() ? 1 : 0;
    }
    if (layers < m_p.pp) {
      fail(fmt::format("pipeline parallel {} needs a layer (an op with a weight) per stage; the graph has {}", m_p.pp,
                       layers));
    }
    const double total = std::accumulate(flops.begin(), flops.end(), 0.0);
    double done = 0;
    int stage = 0, layers_left = layers;
    bool stage_has_layer = false;
    for (std::size_t i = 0; i < order.size(); ++i) {
      // Move on before this layer when the stage has its share, or when the layers left are
      // only enough for the stages left.
      if (layer[i] && stage + 1 < m_p.pp && stage_has_layer) {
        const bool share_done = done >= total * (stage + 1) / m_p.pp;
        if (share_done || layers_left <= m_p.pp - stage - 1) {
          ++stage;
          stage_has_layer = false;
        }
      }
      m_stage[static_cast<std::size_t>(order[i])] = stage;
      if (layer[i]) {
        stage_has_layer = true;
        --layers_left;
      }
      done += flops[i];
    }
  }

  [[nodiscard]] int device(int replica, int stage, int rank) const { return m_p.device(replica, stage, rank); }

  [[nodiscard]] std::string at_device(const std::string& name, int device) const {
    return m_p.devices() == 1 ? name : fmt::format("{}@d{}", name, device);
  }

  /// A source tensor of the unsharded graph in the sharded one: inputs per replica, params and
  /// constants shared.
  TensorId source(int replica, TensorId t) {
    const Tensor& original = m_replicas[static_cast<std::size_t>(replica)].tensor(t);
    const bool per_replica = original.role == Role::input && m_p.dp > 1;
    const auto key = std::pair{per_replica ? replica : -1, t};
    if (const auto found = m_sources.find(key); found != m_sources.end()) return found->second;
    Tensor copy = original;
    copy.producer = -1;
    copy.consumers.clear();
    if (per_replica) copy.name = fmt::format("{}@r{}", original.name, replica);
    const TensorId id = m_result.graph.add_tensor(std::move(copy));
    m_sources.emplace(key, id);
    if (original.role == Role::input) {
      m_result.inputs[original.name].push_back(part_record(id, original, replica));
    }
    return id;
  }

  /// The record of `id` as replica `replica`'s part of `original` (its rows of the batch), and
  /// with `sizes` rank `rank`'s cut along `axis` of those.
  BatchPart part_record(TensorId id, const Tensor& original, int replica, std::size_t axis = 0,
                        const std::vector<std::int64_t>& sizes = {}, int rank = 0) const {
    const int batch = batch_axis(original);
    BatchPart part{m_result.graph.tensor(id).name, batch, batch < 0 ? 0 : m_begin[to_size(replica)],
                   batch < 0 ? 0 : m_share[to_size(replica)]};
    if (!sizes.empty()) {
      part.split_axis = static_cast<int>(axis);
      part.split_begin = std::accumulate(sizes.begin(), sizes.begin() + rank, std::int64_t{0});
      part.split_size = sizes[to_size(rank)];
    }
    return part;
  }

  /// Rank `rank`'s part of input `t` cut along `axis` into `sizes` (a KV cache's heads): an
  /// input of its own, so that each device holds only its part.
  TensorId input_part(int replica, int stage, TensorId t, std::size_t axis, const std::vector<std::int64_t>& sizes,
                      int rank) {
    const Tensor& original = m_replicas[to_size(replica)].tensor(t);
    const auto key = std::tuple{replica, t, axis, sizes, rank};
    if (const auto found = m_input_parts.find(key); found != m_input_parts.end()) return found->second;
    Tensor part = original;
    part.producer = -1;
    part.consumers.clear();
    part.name = m_editor.unique(at_device(original.name, device(replica, stage, rank)));
    part.shape[axis] = sizes[to_size(rank)];
    const TensorId id = m_result.graph.add_tensor(std::move(part));
    m_input_parts.emplace(key, id);
    m_result.inputs[original.name].push_back(part_record(id, original, replica, axis, sizes, rank));
    return id;
  }

  /// The axis a replica's tensor holds its share of the batch along (-1: none).
  [[nodiscard]] int batch_axis(const Tensor& t) const {
    if (m_p.dp == 1) return -1;
    if (!m_options.replicas.empty()) {
      const auto whole = m_src.find_tensor(t.name);
      const bool cut =
          whole && !t.shape.empty() && m_src.tensor(*whole).shape.front() == m_batch && t.shape.front() != m_batch;
      return cut ? 0 : -1;
    }
    const auto at = std::find(t.dim_names.begin(), t.dim_names.end(), "batch");
    return at == t.dim_names.end() ? -1 : static_cast<int>(at - t.dim_names.begin());
  }

  /// Rank `rank`'s part of a stored tensor cut along `axis` into `sizes`.
  TensorId param_part(TensorId param, std::size_t axis, const std::vector<std::int64_t>& sizes, int rank) {
    const auto key = std::tuple{param, axis, sizes, rank};
    if (const auto found = m_parts.find(key); found != m_parts.end()) return found->second;
    const Tensor& original = m_src.tensor(param);
    const auto begin = std::accumulate(sizes.begin(), sizes.begin() + rank, std::int64_t{0});
    const auto size = sizes[static_cast<std::size_t>(rank)];
    Tensor part = original;
    part.producer = -1;
    part.consumers.clear();
    part.name = m_editor.unique(fmt::format("{}@tp{}of{}", original.name, rank, m_p.tp));
    part.shape[axis] = size;
    if (original.values) part.values = slice_values(*original.values, original.shape, axis, begin, size);
    const TensorId id = m_result.graph.add_tensor(std::move(part));
    m_parts.emplace(key, id);
    return id;
  }

  /// The value of an unsharded tensor as the ops of (replica, stage) read it.
  Value value(int replica, int stage, TensorId t) {
    const Tensor& tensor = m_src.tensor(t);
    if (tensor.producer < 0) {
      const TensorId id = source(replica, t);
      return {Layout::whole, std::vector<TensorId>(static_cast<std::size_t>(m_p.tp), id), {}};
    }
    const Key key{replica, stage, t};
    if (const auto found = m_values.find(key); found != m_values.end()) return found->second;
    const int from = m_stage[static_cast<std::size_t>(tensor.producer)];
    RDASIM_ASSERT(from < stage,
                  fmt::format("tensor '{}' read on stage {} before its producer's stage {}", tensor.name, stage, from));
    // Across stages: each rank of the producing stage sends its whole copy to the same rank here.
    const Value there = whole(replica, from, t);
    Value here{Layout::whole, {}, {}};
    for (int i = 0; i < m_p.tp; ++i) {
      const int src = device(replica, from, i), dst = device(replica, stage, i);
      const auto attrs = make_attrs({{"from", std::int64_t{src}}, {"to", std::int64_t{dst}}});
      m_editor.place_on(src);
      const TensorId sent =
          m_editor.op("Send", at_device("send/" + tensor.name, dst), {there.ranks[to_size(i)]}, attrs);
      m_editor.place_on(dst);
      here.ranks.push_back(m_editor.op("Recv", at_device("recv/" + tensor.name, dst), {sent}, attrs));
    }
    m_values.emplace(key, here);
    return here;
  }

  static std::size_t to_size(int i) { return static_cast<std::size_t>(i); }

  /// The tensor whole on every rank: a split one gathered once.
  Value whole(int replica, int stage, TensorId t) {
    Value v = value(replica, stage, t);
    if (v.layout == Layout::whole) return v;
    const Key key{replica, stage, t};
    if (const auto found = m_gathered.find(key); found != m_gathered.end()) return found->second;
    std::vector<std::int64_t> devices;
    for (int i = 0; i < m_p.tp; ++i) devices.push_back(device(replica, stage, i));
    m_editor.place_on(static_cast<int>(devices[0]));
    const std::string name = m_src.tensor(t).name;
    const auto gathered =
        m_editor.op_n("AllGather", at_device("allgather/" + name, static_cast<int>(devices[0])), v.ranks,
                      v.ranks.size(), make_attrs({{"axis", static_cast<std::int64_t>(v.axis)}, {"devices", devices}}));
    Value result{Layout::whole, gathered, {}};
    m_gathered.emplace(key, result);
    return result;
  }

  /// Whole inputs of data-parallel training gradients: weighted by the replica's share of the
  /// batch and all-reduced over the replicas, once per gradient.
  TensorId reduced_gradient(int replica, TensorId gradient) {
    auto found = m_reduced.find(gradient);
    if (found == m_reduced.end()) {
      std::vector<TensorId> weighted;
      std::vector<std::int64_t> devices;
      const std::string name = m_src.tensor(gradient).name;
      for (int r = 0; r < m_p.dp; ++r) {
        const int d = device(r, 0, 0);
        devices.push_back(d);
        m_editor.place_on(d);
        const double share = static_cast<double>(m_share[to_size(r)]) / static_cast<double>(m_batch);
        const TensorId w = m_editor.scalar(at_device("share/" + name, d), share);
        weighted.push_back(m_editor.op("Mul", at_device("weighted/" + name, d), {whole(r, 0, gradient).ranks[0], w}));
      }
      m_editor.place_on(static_cast<int>(devices[0]));
      const auto reduced = m_editor.op_n("AllReduce", at_device("allreduce/" + name, static_cast<int>(devices[0])),
                                         weighted, weighted.size(), make_attrs({{"devices", devices}}));
      found = m_reduced.emplace(gradient, reduced).first;
    }
    return found->second[to_size(replica)];
  }

  void copy_op(int replica, OpId id) {
    const Graph& g = m_replicas[to_size(replica)];
    const Op& op = g.op(id);
    const int stage = m_stage[to_size(id)];
    if (m_p.tp > 1) {
      if (const auto w = weighted_product(g, op)) {
        const Value a = value(replica, stage, op.inputs[0]);
        if (a.split_along(g.tensor(op.inputs[0]).shape.size() - 1)) return row_parallel(replica, stage, op, *w, a);
        return column_parallel(replica, stage, op, *w, whole(replica, stage, op.inputs[0]));
      }
      if (try_split_by_head(replica, stage, g, id) || try_keep_split(replica, stage, g, id)) return;
    }
    // Whole inputs, the op as it is on every rank.
    std::vector<std::vector<TensorId>> inputs(to_size(m_p.tp));
    for (const TensorId t : op.inputs) {
      for (int i = 0; i < m_p.tp; ++i) {
        if (t == k_no_tensor) {
          inputs[to_size(i)].push_back(k_no_tensor);
        } else if (m_options.gradients.contains(g.tensor(t).name) && m_p.dp > 1) {
          inputs[to_size(i)].push_back(reduced_gradient(replica, t));
        } else {
          inputs[to_size(i)].push_back(whole(replica, stage, t).ranks[to_size(i)]);
        }
      }
    }
    std::vector<Value> outputs(op.outputs.size(), Value{Layout::whole, {}, {}});
    for (int i = 0; i < m_p.tp; ++i) {
      const auto produced = emit(op, replica, stage, i, inputs[to_size(i)], op.attrs);
      for (std::size_t k = 0; k < produced.size(); ++k) outputs[k].ranks.push_back(produced[k]);
    }
    for (std::size_t k = 0; k < op.outputs.size(); ++k) m_values[Key{replica, stage, op.outputs[k]}] = outputs[k];
  }

  /// The op on one rank with the given inputs; outputs named after the unsharded ones.
  std::vector<TensorId> emit(const Op& op, int replica, int stage, int rank, std::vector<TensorId> inputs,
                             Attrs attrs) {
    const int d = device(replica, stage, rank);
    std::vector<std::string> names;
    for (const TensorId t : op.outputs) names.push_back(m_editor.unique(at_device(m_src.tensor(t).name, d)));
    m_editor.place_on(d);
    return m_editor.op_named(op.kind, at_device(op.name, d), std::move(inputs), names, std::move(attrs));
  }

  void column_parallel(int replica, int stage, const Op& op, const WeightedProduct& w, const Value& a) {
    const Shape& b = m_src.tensor(op.inputs[1]).shape;
    const std::int64_t n = b[w.n_axis];
    if (n < m_p.tp) return gather_all(replica, stage, op);  // too narrow to split: whole on every rank
    const auto sizes = even_split(n, m_p.tp);
    Value out{Layout::split, {}, sizes, m_src.tensor(op.outputs[0]).shape.size() - 1};
    for (int i = 0; i < m_p.tp; ++i) {
      std::vector<TensorId> inputs{a.ranks[to_size(i)], param_part(op.inputs[1], w.n_axis, sizes, i)};
      if (w.has_bias) {
        const TensorId c = op.inputs[2];
        const Shape& cs = m_src.tensor(c).shape;
        const bool per_column = !cs.empty() && cs.back() == n && n > 1;
        if (per_column && is_stored(m_src.tensor(c).role)) {
          inputs.push_back(param_part(c, cs.size() - 1, sizes, i));
        } else if (per_column) {
          return gather_all(replica, stage, op);  // an activation bias per column: not sliced here
        } else {
          inputs.push_back(whole(replica, stage, c).ranks[to_size(i)]);
        }
      }
      out.ranks.push_back(emit(op, replica, stage, i, inputs, op.attrs).front());
    }
    m_values[Key{replica, stage, op.outputs[0]}] = out;
  }

  void row_parallel(int replica, int stage, const Op& op, const WeightedProduct& w, const Value& a) {
    std::vector<TensorId> partial;
    std::vector<std::int64_t> devices;
    for (int i = 0; i < m_p.tp; ++i) {
      std::vector<TensorId> inputs{a.ranks[to_size(i)], param_part(op.inputs[1], w.k_axis, a.sizes, i)};
      // The bias is added once: by rank 0, before the sum.
      if (w.has_bias && i == 0) inputs.push_back(whole(replica, stage, op.inputs[2]).ranks[0]);
      partial.push_back(emit(op, replica, stage, i, inputs, op.attrs).front());
      devices.push_back(device(replica, stage, i));
    }
    m_editor.place_on(static_cast<int>(devices[0]));
    const std::string name = m_src.tensor(op.outputs[0]).name;
    const auto summed = m_editor.op_n("AllReduce", at_device("allreduce/" + name, static_cast<int>(devices[0])),
                                      partial, partial.size(), make_attrs({{"devices", devices}}));
    m_values[Key{replica, stage, op.outputs[0]}] = Value{Layout::whole, summed, {}};
  }

  void gather_all(int replica, int stage, const Op& op) {
    std::vector<std::vector<TensorId>> inputs(to_size(m_p.tp));
    for (const TensorId t : op.inputs) {
      for (int i = 0; i < m_p.tp; ++i) {
        inputs[to_size(i)].push_back(t == k_no_tensor ? k_no_tensor : whole(replica, stage, t).ranks[to_size(i)]);
      }
    }
    Value out{Layout::whole, {}, {}};
    for (int i = 0; i < m_p.tp; ++i) out.ranks.push_back(emit(op, replica, stage, i, inputs[to_size(i)], op.attrs)[0]);
    m_values[Key{replica, stage, op.outputs[0]}] = out;
  }

  /// An element-wise op on a tensor split along its last axis stays split: split inputs give
  /// their parts, per-column params are sliced alike, broadcast inputs are read whole.
  bool try_keep_split(int replica, int stage, const Graph& g, OpId id) {
    const Op& op = g.op(id);
    const OpTraits& traits = op_traits(g, id);
    if (op.outputs.size() != 1 || traits.engine != Engine::vector || traits.reduces) return false;
    const Shape& out = g.tensor(op.outputs[0]).shape;
    if (out.empty()) return false;
    const std::size_t last = out.size() - 1;
    const OpContext ctx(g, op);
    std::optional<std::vector<std::int64_t>> sizes;
    std::vector<std::pair<StreamNeed, std::optional<Value>>> needs;
    for (std::size_t slot = 0; slot < op.inputs.size(); ++slot) {
      if (op.inputs[slot] == k_no_tensor) return false;
      const StreamNeed need = traits.stream(ctx, slot, last);
      const Tensor& in = g.tensor(op.inputs[slot]);
      std::optional<Value> v;
      if (in.producer >= 0) v = value(replica, stage, op.inputs[slot]);
      if (v && v->layout == Layout::split) {
        const bool aligned = need.dependency == Dependency::same && v->axis == in.shape.size() - 1 &&
                             need.axis == static_cast<int>(in.shape.size()) - 1 && in.shape.back() == out.back() &&
                             (!sizes || *sizes == v->sizes);
        if (!aligned) return false;
        sizes = v->sizes;
      } else if (need.dependency == Dependency::same) {
        // A whole input indexed along the split axis: a stored one is sliced, an activation is not.
        if (!is_stored(in.role) || in.shape[to_size(need.axis)] != out.back()) return false;
      }
      needs.emplace_back(need, v);
    }
    if (!sizes) return false;
    Value result{Layout::split, {}, *sizes, last};
    for (int i = 0; i < m_p.tp; ++i) {
      std::vector<TensorId> inputs;
      for (std::size_t slot = 0; slot < op.inputs.size(); ++slot) {
        const auto& [need, v] = needs[slot];
        if (v && v->layout == Layout::split) {
          inputs.push_back(v->ranks[to_size(i)]);
        } else if (need.dependency == Dependency::same) {
          inputs.push_back(param_part(op.inputs[slot], to_size(need.axis), *sizes, i));
        } else {
          inputs.push_back(whole(replica, stage, op.inputs[slot]).ranks[to_size(i)]);
        }
      }
      result.ranks.push_back(emit(op, replica, stage, i, inputs, op.attrs).front());
    }
    m_values[Key{replica, stage, op.outputs[0]}] = result;
    return true;
  }

  /// Attention's path, split by head: a reshape that keeps each rank's block of a split
  /// tensor, the rotary embedding and the KV-cache write on a rank's heads, attention on its
  /// query heads and their KV heads (graphs/parallel.h). False when the op's inputs are not
  /// split so, and the op then runs whole.
  bool try_split_by_head(int replica, int stage, const Graph& g, OpId id) {
    const Op& op = g.op(id);
    if (op.inputs.empty() || op.inputs[0] == k_no_tensor) return false;
    if (op.kind == "Reshape") return reshape_split(replica, stage, g, op);
    // A graph input's value is not asked for before it is known to be read whole: asking
    // records it as an input that every rank holds.
    const bool source_cache = op.kind == "TensorScatter" && g.tensor(op.inputs[0]).producer < 0;
    const Value x = source_cache ? Value{} : value(replica, stage, op.inputs[0]);
    if (op.kind == "RotaryEmbedding") {
      const Shape& shape = g.tensor(op.inputs[0]).shape;
      if (shape.size() != 3 || !x.split_along(2)) return false;
      const std::int64_t head = shape[2] / op.attrs.get_int("num_heads", 1);
      return emit_by_head(replica, stage, op, x, 1, [&](int i, std::vector<TensorId>& inputs, Attrs& attrs) {
        inputs[0] = x.ranks[to_size(i)];
        attrs.values["num_heads"] = x.sizes[to_size(i)] / head;
        return x.sizes;
      });
    }
    if (op.kind == "TensorScatter" && op.inputs.size() >= 2) {
      // The cache's part on each rank holds that rank's heads: an input of its own, or a cache
      // already split alike.
      const Value update = value(replica, stage, op.inputs[1]);
      const std::size_t scatter_axis =
          OpContext(g, op).normalize_axis(op.attrs.get_int("axis", -2), g.tensor(op.inputs[0]).shape.size(), "axis");
      if (update.layout != Layout::split || update.axis == scatter_axis || update.axis == 0) return false;
      const Tensor& cache = g.tensor(op.inputs[0]);
      if (cache.producer >= 0 ? !x.split_along(update.axis) || x.sizes != update.sizes : cache.role != Role::input) {
        return false;
      }
      return emit_by_head(replica, stage, op, update, 2, [&](int i, std::vector<TensorId>& inputs, Attrs&) {
        inputs[0] = cache.producer >= 0 ? x.ranks[to_size(i)]
                                        : input_part(replica, stage, op.inputs[0], update.axis, update.sizes, i);
        inputs[1] = update.ranks[to_size(i)];
        return update.sizes;
      });
    }
    if (op.kind == "GroupedQueryAttention" && op.inputs.size() >= 3) {
      const Value k = value(replica, stage, op.inputs[1]), v = value(replica, stage, op.inputs[2]);
      const Heads heads = heads_of(op);
      if (!x.split_along(2) || !k.split_along(2) || !v.split_along(2)) return false;
      const std::int64_t qk_head = g.tensor(op.inputs[0]).shape[2] / heads.q;
      const std::int64_t v_head = g.tensor(op.inputs[2]).shape[2] / heads.kv;
      for (int i = 0; i < m_p.tp; ++i) {
        // Rank i's query heads must be those its KV heads serve.
        if (x.sizes[to_size(i)] * heads.kv != k.sizes[to_size(i)] * heads.q) return false;
      }
      std::vector<std::int64_t> out_sizes;
      for (const std::int64_t size : x.sizes) out_sizes.push_back(size / qk_head * v_head);
      return emit_by_head(replica, stage, op, x, 3, [&](int i, std::vector<TensorId>& inputs, Attrs& attrs) {
        inputs[0] = x.ranks[to_size(i)];
        inputs[1] = k.ranks[to_size(i)];
        inputs[2] = v.ranks[to_size(i)];
        attrs.values["q_num_heads"] = x.sizes[to_size(i)] / qk_head;
        attrs.values["kv_num_heads"] = v.sizes[to_size(i)] / v_head;
        return out_sizes;
      });
    }
    return false;
  }

  /// Emits `op` on every rank, its inputs from `split_slots` on whole; `adapt(rank, inputs,
  /// attrs)` sets the first `split_slots` inputs and the attributes and returns the output's
  /// sizes along `like.axis`.
  template <typename Adapt>
  bool emit_by_head(int replica, int stage, const Op& op, const Value& like, std::size_t split_slots, Adapt adapt) {
    Value out{Layout::split, {}, {}, like.axis};
    for (int i = 0; i < m_p.tp; ++i) {
      std::vector<TensorId> inputs;
      for (std::size_t slot = 0; slot < op.inputs.size(); ++slot) {
        // Placeholders for the slots adapt sets; the rest (positions, angles, indices) whole.
        inputs.push_back(op.inputs[slot] == k_no_tensor || slot < split_slots
                             ? k_no_tensor
                             : whole(replica, stage, op.inputs[slot]).ranks[to_size(i)]);
      }
      Attrs attrs = op.attrs;
      out.sizes = adapt(i, inputs, attrs);
      out.ranks.push_back(emit(op, replica, stage, i, inputs, attrs).front());
    }
    m_values[Key{replica, stage, op.outputs[0]}] = out;
    return true;
  }

  /// A reshape of a split tensor stays split when each rank's block maps onto a block of one
  /// output axis: [T, H x D] split by column to [B, S, H, D] split by head, and back.
  bool reshape_split(int replica, int stage, const Graph& g, const Op& op) {
    const Value x = value(replica, stage, op.inputs[0]);
    if (x.layout != Layout::split) return false;
    const Shape& in = g.tensor(op.inputs[0]).shape;
    const Shape& out = g.tensor(op.outputs[0]).shape;
    const auto product = [](const Shape& s, std::size_t from, std::size_t to) {
      return std::accumulate(s.begin() + static_cast<std::ptrdiff_t>(from), s.begin() + static_cast<std::ptrdiff_t>(to),
                             std::int64_t{1}, std::multiplies<>());
    };
    const std::int64_t outer = product(in, 0, x.axis), inner_in = product(in, x.axis + 1, in.size());
    std::optional<std::size_t> axis;
    for (std::size_t b = 0; b < out.size() && !axis; ++b) {
      if (product(out, 0, b) == outer && out[b] > 1) axis = b;
    }
    if (!axis) return false;
    const std::int64_t inner_out = product(out, *axis + 1, out.size());
    std::vector<std::int64_t> sizes;
    for (const std::int64_t size : x.sizes) {
      if (size * inner_in % inner_out != 0) return false;
      sizes.push_back(size * inner_in / inner_out);
    }
    Value result{Layout::split, {}, sizes, *axis};
    for (int i = 0; i < m_p.tp; ++i) {
      Shape part = out;
      part[*axis] = sizes[to_size(i)];
      m_editor.place_on(device(replica, stage, i));
      const TensorId shape = m_editor.ints(at_device(op.name + "_shape", device(replica, stage, i)), part);
      result.ranks.push_back(emit(op, replica, stage, i, {x.ranks[to_size(i)], shape}, op.attrs).front());
    }
    m_values[Key{replica, stage, op.outputs[0]}] = result;
    return true;
  }

  void mark_outputs() {
    for (const TensorId t : m_src.tensors_with(Role::output)) {
      auto& parts = m_result.outputs[m_src.tensor(t).name];
      for (int r = 0; r < m_p.dp; ++r) {
        const Tensor& tensor = m_replicas[to_size(r)].tensor(t);
        if (tensor.producer >= 0 && updated_in_place(m_src, t)) {
          // A cache written in place stays where its parts live: each rank's part an output.
          const int stage = m_stage[to_size(tensor.producer)];
          const Value v = value(r, stage, t);
          if (v.layout == Layout::split) {
            for (int i = 0; i < m_p.tp; ++i) {
              m_result.graph.mark_output(v.ranks[to_size(i)]);
              parts.push_back(part_record(v.ranks[to_size(i)], tensor, r, v.axis, v.sizes, i));
            }
            continue;
          }
        }
        const TensorId id =
            tensor.producer < 0 ? source(r, t) : whole(r, m_stage[to_size(tensor.producer)], t).ranks[0];
        m_result.graph.mark_output(id);
        parts.push_back(part_record(id, tensor, r));
      }
    }
  }

  const Graph& m_src;
  Parallelism m_p;
  const ShardOptions& m_options;
  ShardedGraph m_result;
  GraphEditor m_editor;
  std::vector<Graph> m_replicas;
  std::int64_t m_batch = 0;
  std::vector<std::int64_t> m_share, m_begin;
  std::vector<int> m_stage;
  std::map<std::pair<int, TensorId>, TensorId> m_sources;
  std::map<std::tuple<int, TensorId, std::size_t, std::vector<std::int64_t>, int>, TensorId> m_input_parts;
  std::map<std::tuple<TensorId, std::size_t, std::vector<std::int64_t>, int>, TensorId> m_parts;
  std::map<Key, Value> m_values, m_gathered;
  std::map<TensorId, std::vector<TensorId>> m_reduced;
};

}  // namespace

ShardedGraph shard(const Graph& graph, const Parallelism& parallelism, const ShardOptions& options) {
  return Sharder(graph, parallelism, options).run();
}

namespace {

/// Entries [begin, begin + size) of `whole` along `axis`.
Array<double> cut(const Array<double>& whole, std::size_t axis, std::int64_t begin, std::int64_t size) {
  Shape shape = whole.shape;
  shape[axis] = size;
  Array<double> out(shape);
  out.data = slice_values(whole.data, whole.shape, axis, begin, size);
  return out;
}

}  // namespace

Array<double> part_of(const Array<double>& whole, const BatchPart& part) {
  Array<double> rows = part.axis < 0 ? whole : cut(whole, static_cast<std::size_t>(part.axis), part.begin, part.rows);
  if (part.split_axis < 0) return rows;
  return cut(rows, static_cast<std::size_t>(part.split_axis), part.split_begin, part.split_size);
}

std::vector<int> link_devices(const Graph& graph, OpId id) {
  const Op& op = graph.op(id);
  const LinkKind link = op_traits(graph, id).link;
  if (link == LinkKind::send) return {static_cast<int>(op.attrs.get_int("from", 0))};
  if (link == LinkKind::recv) return {static_cast<int>(op.attrs.get_int("to", 0))};
  std::vector<int> devices;
  for (const auto d : op.attrs.get_ints("devices")) devices.push_back(static_cast<int>(d));
  return devices;
}

SystemSchedule schedule(const Graph& sharded, int devices) {
  SystemSchedule plan;
  plan.devices = devices;
  std::vector<int> open(static_cast<std::size_t>(devices), -1);  // per device: its open segment
  auto close = [&](int d) {
    const auto at = static_cast<std::size_t>(d);
    if (open[at] >= 0) plan.steps.push_back({open[at], -1});
    open[at] = -1;
  };
  for (const OpId id : topological_order(sharded)) {
    const Op& op = sharded.op(id);
    RDASIM_ASSERT(op.device >= 0 && op.device < devices,
                  fmt::format("op '{}' on device {} of a system of {}", op.name, op.device, devices));
    if (op_traits(sharded, id).engine == Engine::link) {
      for (const int d : link_devices(sharded, id)) close(d);
      plan.steps.push_back({-1, id});
      continue;
    }
    auto& segment = open[static_cast<std::size_t>(op.device)];
    if (segment < 0) {
      segment = static_cast<int>(plan.segments.size());
      plan.segments.push_back({op.device, {}});
    }
    plan.segments[static_cast<std::size_t>(segment)].ops.push_back(id);
  }
  for (int d = 0; d < devices; ++d) close(d);
  return plan;
}

Graph subgraph(const Graph& graph, const std::vector<OpId>& ops, const std::string& name) {
  Graph out(name);
  std::set<OpId> inside(ops.begin(), ops.end());
  std::map<TensorId, TensorId> copied;
  auto tensor = [&](TensorId t) {
    if (const auto found = copied.find(t); found != copied.end()) return found->second;
    Tensor copy = graph.tensor(t);
    const bool made_inside = copy.producer >= 0 && inside.contains(copy.producer);
    if (made_inside) {
      copy.role = Role::activation;
    } else if (!is_stored(copy.role)) {
      copy.role = Role::input;
    }
    if (!is_stored(copy.role)) copy.values.reset();
    copy.producer = -1;
    copy.consumers.clear();
    const TensorId id = out.add_tensor(std::move(copy));
    copied.emplace(t, id);
    return id;
  };
  for (const OpId id : ops) {
    Op op = graph.op(id);
    for (auto& t : op.inputs) {
      if (t != k_no_tensor) t = tensor(t);
    }
    for (auto& t : op.outputs) t = tensor(t);
    out.add_op(std::move(op));
  }
  for (const auto& [original, id] : copied) {
    const Tensor& t = graph.tensor(original);
    if (t.producer < 0 || !inside.contains(t.producer)) continue;
    const bool read_outside =
        std::any_of(t.consumers.begin(), t.consumers.end(), [&](OpId c) { return !inside.contains(c); });
    if (read_outside || t.role == Role::output) out.mark_output(id);
  }
  verify(out);
  return out;
}

}  // namespace rdasim::graphs
