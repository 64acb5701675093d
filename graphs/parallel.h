// Parallelism as a graph transform: one graph becomes the graph of a whole system, every op
// placed on a device (Op::device) and collectives (graphs/ops/collective.cpp) where data crosses
// devices, so the functional reference runs the sharded graph as it runs any other and proves it
// equal to the unsharded one (DESIGN.md, "Systems, LLMs and serving").
//
// - Tensor parallel (Megatron-style): a product with a weight whose input is whole splits the
//   weight's columns (its output is split along the last axis); element-wise ops keep the split
//   (their params sliced alike); a product whose input is split along its reduction axis splits
//   the weight's rows and an AllReduce sums the partial products. Attention is divided by head:
//   the Q, K and V projections' column blocks are whole heads, reshapes keep them, and the
//   rotary embedding, the KV-cache write (each rank's cache holds its KV heads: an input of its
//   own) and attention run on a rank's heads. Anything else gathers its inputs (AllGather) and
//   runs whole on every rank. A dimension that does not divide by the degree is split unevenly;
//   attention heads (query and KV) must divide.
// - Pipeline parallel: contiguous stages of the topological order, balanced by FLOPs, each with
//   at least one layer (an op with a weight); a tensor crossing stages goes by Send and Recv.
//   Micro-batches are the schedule's business (the simulators run a stage once per
//   micro-batch); the graph is the same.
// - Data parallel: replicas, each with its share of the batch (the symbolic dimension `batch`);
//   in a training step every gradient is weighted by the replica's share and all-reduced before
//   the update, so every replica updates its params alike.
//
// Devices are numbered replica-major: device = (replica x pp + stage) x tp + tp_rank.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "graphs/graph.h"
#include "graphs/kernel.h"

namespace rdasim::graphs {

struct Parallelism {
  int tp = 1;  ///< tensor-parallel degree (ranks per stage)
  int pp = 1;  ///< pipeline stages
  int dp = 1;  ///< data-parallel replicas
  [[nodiscard]] int devices() const { return tp * pp * dp; }
  [[nodiscard]] int device(int replica, int stage, int tp_rank) const { return (replica * pp + stage) * tp + tp_rank; }
};

/// One replica's part of a graph input or output: a tensor of the sharded graph holding rows
/// [begin, begin + rows) of the batch axis of the unsharded one (the whole tensor when dp = 1),
/// and for a state that tensor parallelism splits (a KV cache), one rank's heads of those.
struct BatchPart {
  std::string tensor;
  int axis = 0;  ///< the batch axis (-1: not split, every replica reads the whole)
  std::int64_t begin = 0, rows = 0;
  int split_axis = -1;  ///< tensor parallel's axis (-1: every rank holds all of it)
  std::int64_t split_begin = 0, split_size = 0;
};

struct ShardedGraph {
  Graph graph;  ///< every device's ops; verified
  Parallelism parallelism;
  /// Unsharded input or output name -> its parts, one per replica.
  std::map<std::string, std::vector<BatchPart>, std::less<>> inputs, outputs;
  std::vector<int> stage_of_op;  ///< per op of the unsharded graph: its pipeline stage
};

struct ShardOptions {
  /// Data parallel on a graph whose batch is baked into its shapes (a workload builder's): the
  /// same graph built at each replica's share of `batch` (`even_split(batch, dp)`), one per
  /// replica. A tensor splits along the first axis where its replicas' shapes differ from its
  /// own. Empty: the graph's `batch` dimension is set to each share.
  std::vector<Graph> replicas;
  std::int64_t batch = 0;  ///< the graph's batch, with `replicas`
  /// Gradient tensors of a training step (graphs/training.h): data parallel all-reduces each,
  /// weighted by the replica's share of the batch, before the ops that read it.
  std::set<std::string, std::less<>> gradients;
};

/// The sharded graph. Params split by tensor parallelism carry their slice of the original's
/// values (params without values stay without); a product with fewer output columns than
/// ranks runs whole on every rank. Throws core::InputError naming the graph for a degree below
/// 1, more stages than layers, and data parallelism without a batch dimension (or replicas) or
/// with fewer samples than replicas.
[[nodiscard]] ShardedGraph shard(const Graph& graph, const Parallelism& parallelism, const ShardOptions& options = {});

/// A run of one device's ops between two of its transfers, in topological order: what that
/// device runs as one program (a GPU's kernels, an RDA's mapping).
struct Segment {
  int device = 0;
  std::vector<OpId> ops;
};

/// A sharded graph as the devices run it: segments and link ops (collectives, sends,
/// receives) in an order that respects every dependency. A simulator times each segment on its
/// device and each link op on the system's links; a device waits at a link op for the others.
struct SystemSchedule {
  struct Step {
    int segment = -1;  ///< index into segments, or -1 for a link op
    OpId link_op = -1;
  };
  int devices = 1;
  std::vector<Segment> segments;
  std::vector<Step> steps;
};

[[nodiscard]] SystemSchedule schedule(const Graph& sharded, int devices);

/// The devices a link op involves: a collective's ranks, a send's sender, a receive's receiver.
[[nodiscard]] std::vector<int> link_devices(const Graph& graph, OpId op);

/// `ops` of `graph` as a graph of their own, named `name`: tensors they read that are made
/// elsewhere become inputs (sources keep their role), tensors they make that are read elsewhere
/// or are outputs of `graph` become outputs. Verified.
[[nodiscard]] Graph subgraph(const Graph& graph, const std::vector<OpId>& ops, const std::string& name);

/// The rows of `whole` a BatchPart holds (all of it when the part has no batch axis).
[[nodiscard]] Array<double> part_of(const Array<double>& whole, const BatchPart& part);

/// Sizes of `extent` cut into `parts` as evenly as it goes (the first extent % parts one larger).
[[nodiscard]] std::vector<std::int64_t> even_split(std::int64_t extent, int parts);

}  // namespace rdasim::graphs
