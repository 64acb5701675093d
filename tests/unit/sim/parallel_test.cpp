// Sharded graphs (graphs/parallel.h) run by the functional reference reproduce the unsharded
// outputs: tensor parallel 2, 4, 8 and pipeline parallel 2, 4 on the golden models built from
// MatMul/Gemm chains and on the workloads' small cases, fp64 within 1e-12 and fp32 within 1e-5.
#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "../graphs/graph_test_util.h"
#include "core/error.h"
#include "graphs/builder.h"
#include "graphs/import/model.h"
#include "graphs/op_registry.h"
#include "graphs/parallel.h"
#include "graphs/training.h"
#include "sim/functional/executor.h"
#include "tests/test_paths.h"
#include "workloads/inputs.h"
#include "workloads/llm.h"
#include "workloads/workload.h"

namespace rdasim {
namespace {

using Catch::Matchers::Contains;
using graphs::Array;
using graphs::Graph;
using graphs::Parallelism;
using sim::functional::RunOptions;
using sim::functional::Values;

/// The graph with every param and constant given its values, so both runs read the same.
Graph with_values(Graph g) {
  for (std::size_t t = 0; t < g.tensors().size(); ++t) {
    auto& tensor = g.tensor(static_cast<graphs::TensorId>(t));
    if (graphs::is_stored(tensor.role) && !tensor.values) {
      tensor.values = sim::functional::initial_values(g, static_cast<graphs::TensorId>(t), 7).data;
    }
  }
  return g;
}

/// Uniform values in [-1, 1] for every input (the golden models take floats only).
Values random_inputs(const Graph& g) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  Values values;
  for (const auto id : g.tensors_with(graphs::Role::input)) {
    Array<double> a(g.tensor(id).shape);
    for (auto& v : a.data) v = u(rng);
    values.emplace(g.tensor(id).name, std::move(a));
  }
  return values;
}

/// Largest |sharded - unsharded| / (1 + |unsharded|) over every output part.
double largest_error(const Graph& g, const Values& inputs, const Parallelism& p, sim::functional::Precision precision,
                     const graphs::ShardOptions& shard_options = {}) {
  const graphs::ShardedGraph sharded = graphs::shard(g, p, shard_options);
  Values sharded_inputs;
  for (const auto& [name, parts] : sharded.inputs) {
    for (const auto& part : parts) {
      sharded_inputs[part.tensor] = graphs::part_of(inputs.at(name), part);
    }
  }
  sim::functional::RunOptions options;
  options.precision = precision;
  const Values expected = sim::functional::run(g, inputs, options);
  const Values got = sim::functional::run(sharded.graph, sharded_inputs, options);
  double worst = 0;
  for (const auto& [name, parts] : sharded.outputs) {
    for (const auto& part : parts) {
      const Array<double> want = graphs::part_of(expected.at(name), part);
      const Array<double>& have = got.at(part.tensor);
      REQUIRE(have.shape == want.shape);
      for (std::size_t i = 0; i < want.size(); ++i) {
        worst = std::max(worst, std::abs(have.data[i] - want.data[i]) / (1 + std::abs(want.data[i])));
      }
    }
  }
  return worst;
}

int count_kind(const Graph& g, std::string_view kind) {
  return static_cast<int>(
      std::count_if(g.ops().begin(), g.ops().end(), [&](const auto& op) { return op.kind == kind; }));
}

int layers(const Graph& g) {
  int n = 0;
  for (std::size_t i = 0; i < g.ops().size(); ++i) {
    const auto& op = g.ops()[i];
    const bool weighted = std::any_of(op.inputs.begin(), op.inputs.end(), [&](auto t) {
      return t != graphs::k_no_tensor && graphs::is_stored(g.tensor(t).role);
    });
    if (weighted && graphs::op_traits(g, static_cast<graphs::OpId>(i)).engine == graphs::Engine::matrix) ++n;
  }
  return n;
}

struct Case {
  std::string name;
  Graph graph;
  Values inputs;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* golden : {"mlp_gemm", "layernorm_attention", "gelu"}) {
    Graph g = with_values(graphs::load_model(test::source_dir() / "workloads/models/golden" / golden / "model.onnx"));
    Values inputs = random_inputs(g);
    out.push_back({golden, std::move(g), std::move(inputs)});
  }
  const std::vector<std::pair<std::string, std::map<std::string, std::string, std::less<>>>> workloads{
      {"inversion", {{"batch", "4"}}},
      {"dcrnn", {{"batch", "2"}, {"sensors", "12"}, {"nonzeros", "60"}, {"seq", "2"}, {"horizon", "2"}}},
  };
  for (const auto& [name, params] : workloads) {
    Graph g = with_values(workloads::build(name, params).apps.front());
    Values inputs = workloads::generate_inputs(g, 3);
    out.push_back({name, std::move(g), std::move(inputs)});
  }
  return out;
}

TEST_CASE("tensor and pipeline parallel reproduce the unsharded outputs", "[graphs][parallel]") {
  for (const auto& c : cases()) {
    // Pipelines need a layer per stage; the golden gelu and layernorm_attention have none
    // (their products read no weight) and run whole on every tensor-parallel rank.
    std::vector<Parallelism> plans{{2, 1, 1}, {4, 1, 1}, {8, 1, 1}};
    for (const int pp : {2, 4}) {
      if (layers(c.graph) >= pp) plans.push_back({1, pp, 1});
    }
    if (layers(c.graph) >= 2) plans.push_back({2, 2, 1});
    for (const auto& p : plans) {
      INFO(fmt::format("{}: tp {} pp {}", c.name, p.tp, p.pp));
      CHECK(largest_error(c.graph, c.inputs, p, sim::functional::Precision::fp64) <= 1e-12);
      CHECK(largest_error(c.graph, c.inputs, p, sim::functional::Precision::fp32) <= 1e-5);
    }
  }
}

/// Options for data parallel `dp` on the inversion workload built at `batch`: one graph per share.
graphs::ShardOptions inversion_replicas(std::int64_t batch, int dp) {
  graphs::ShardOptions options;
  options.batch = batch;
  for (const auto share : graphs::even_split(batch, dp)) {
    options.replicas.push_back(
        with_values(workloads::build("inversion", {{"batch", std::to_string(share)}}).apps.front()));
  }
  return options;
}

TEST_CASE("data parallel replicas each run their share of the batch", "[graphs][parallel]") {
  Graph g = with_values(workloads::build("inversion", {{"batch", "5"}}).apps.front());
  const Values inputs = workloads::generate_inputs(g, 3);
  for (const int dp : {2, 3}) {  // 5 samples over 3 replicas: 2, 2, 1
    INFO("dp " << dp);
    CHECK(largest_error(g, inputs, {1, 1, dp}, sim::functional::Precision::fp64, inversion_replicas(5, dp)) <= 1e-12);
  }
  CHECK(largest_error(g, inputs, {2, 1, 2}, sim::functional::Precision::fp64, inversion_replicas(5, 2)) <= 1e-12);
}

TEST_CASE("tensor parallel splits products Megatron-style", "[graphs][parallel]") {
  // inversion: RBF -> Gemm 2000 -> exp -> Gemm 2000 (...): column split, element-wise kept
  // split, row split with one all-reduce per pair of products.
  const Graph g = workloads::build("inversion", {{"batch", "2"}}).apps.front();
  for (const int tp : {2, 4, 8}) {
    const auto sharded = graphs::shard(g, {tp, 1, 1});
    for (const auto& op : sharded.graph.ops()) CHECK(op.device < tp);
    CHECK(count_kind(sharded.graph, "AllReduce") >= 1);
    // Every rank holds 1/tp of each split weight (unevenly where it does not divide).
    std::int64_t params = 0, sharded_params = 0;
    for (const auto id : g.tensors_with(graphs::Role::param)) params += g.tensor(id).elements();
    for (const auto id : sharded.graph.tensors_with(graphs::Role::param)) {
      sharded_params += sharded.graph.tensor(id).elements();
    }
    CHECK(sharded_params < params * 2);  // split weights are not copied to every rank
  }
}

TEST_CASE("pipeline stages are contiguous, balanced and joined by send and receive", "[graphs][parallel]") {
  const Graph g = workloads::build("inversion", {{"batch", "2"}}).apps.front();
  const auto sharded = graphs::shard(g, {1, 2, 1});
  CHECK(count_kind(sharded.graph, "Send") == count_kind(sharded.graph, "Recv"));
  CHECK(count_kind(sharded.graph, "Send") >= 1);
  const auto stages = std::set<int>(sharded.stage_of_op.begin(), sharded.stage_of_op.end());
  CHECK(stages == std::set<int>{0, 1});
  for (const auto& op : sharded.graph.ops()) {
    for (const auto t : op.inputs) {
      if (t == graphs::k_no_tensor) continue;
      const auto producer = sharded.graph.tensor(t).producer;
      if (producer < 0 || op.kind == "Recv") continue;
      CHECK(sharded.graph.op(producer).device == op.device);  // only Send/Recv cross devices
    }
  }
}

/// tiny-llama (4 query heads, 2 KV heads) at one step, with its weights given values.
Graph tiny_llama(workloads::LlmPhase phase, std::int64_t batch, std::int64_t tokens) {
  workloads::LlmStep step;
  step.phase = phase;
  step.batch = batch;
  step.prompt = tokens;
  step.context = tokens;
  step.all_logits = true;
  return with_values(workloads::build_llm(workloads::load_llm_config(workloads::llm_config_path("tiny-llama")), step));
}

TEST_CASE("tensor parallel divides attention by head, each rank's KV cache its own", "[graphs][parallel][llm]") {
  for (const auto phase : {workloads::LlmPhase::prefill, workloads::LlmPhase::decode}) {
    const Graph g = tiny_llama(phase, 2, 5);
    const Values inputs = workloads::generate_inputs(g, 3);
    INFO((phase == workloads::LlmPhase::prefill ? "prefill" : "decode"));
    CHECK(largest_error(g, inputs, {2, 1, 1}, sim::functional::Precision::fp64) <= 1e-12);
    CHECK(largest_error(g, inputs, {2, 2, 1}, sim::functional::Precision::fp64) <= 1e-12);
    const auto sharded = graphs::shard(g, {2, 1, 1});
    // Megatron's two all-reduces per layer (after o_proj and down_proj) and the logits' gather;
    // nothing gathered on attention's path.
    CHECK(count_kind(sharded.graph, "AllReduce") == 2 * 2);
    CHECK(count_kind(sharded.graph, "AllGather") == 1);
    // Each rank's cache holds its KV head: inputs of its own, half the heads each.
    const auto& parts = sharded.inputs.at("layer0/past_key");
    REQUIRE(parts.size() == 2);
    CHECK(parts[1].split_axis == 2);
    CHECK(parts[1].split_begin == 1);
    CHECK(sharded.graph.tensor(*sharded.graph.find_tensor(parts[1].tensor)).shape[2] == 1);
    CHECK(sharded.outputs.at("layer1/present_value").size() == 2);
  }
  // Data parallel beside tensor parallel: two replicas of batch 1, each split over 2 ranks.
  const Graph g = tiny_llama(workloads::LlmPhase::decode, 2, 5);
  graphs::ShardOptions replicas;
  replicas.batch = 2;
  for (int r = 0; r < 2; ++r) replicas.replicas.push_back(tiny_llama(workloads::LlmPhase::decode, 1, 5));
  CHECK(largest_error(g, workloads::generate_inputs(g, 3), {2, 1, 2}, sim::functional::Precision::fp64, replicas) <=
        1e-12);
}

TEST_CASE("sharding refuses what it cannot split, naming the op or the graph", "[graphs][parallel]") {
  // Attention heads are not split: 4 query heads and 2 KV heads over 3 or 4 ranks.
  const Graph llm = tiny_llama(workloads::LlmPhase::decode, 1, 4);
  CHECK_THROWS_WITH(graphs::shard(llm, {3, 1, 1}),
                    Catch::Contains("tensor parallel 3 does not divide the 4 attention heads of 'layer0/attention'"));
  CHECK_THROWS_WITH(graphs::shard(llm, {4, 1, 1}),
                    Catch::Contains("tensor parallel 4 does not divide the 2 KV heads of 'layer0/attention'"));
  const Graph g = workloads::build("inversion", {{"batch", "2"}}).apps.front();
  CHECK_THROWS_WITH(graphs::shard(g, {1, 64, 1}), Catch::Contains("needs a layer (an op with a weight) per stage"));
  CHECK_THROWS_WITH(graphs::shard(g, {0, 1, 1}), Catch::Contains("tensor parallel degree 0"));
  CHECK_THROWS_WITH(graphs::shard(g, {1, 1, 3}, inversion_replicas(2, 2)),
                    Catch::Contains("data parallel 3 was given 2 replica graphs"));
  CHECK_THROWS_WITH(graphs::shard(g, {1, 1, 2}), Catch::Contains("declares no `batch` dimension"));
}

}  // namespace
}  // namespace rdasim

namespace rdasim {
namespace {

/// Runs one collective op over rank inputs given as flat values of `shape`.
Values run_collective(const std::string& kind, const std::vector<graphs::Shape>& shapes,
                      const std::vector<std::vector<double>>& values, graphs::Attrs attrs) {
  std::vector<test::In> ins;
  Values inputs;
  for (std::size_t r = 0; r < shapes.size(); ++r) {
    ins.push_back({"x" + std::to_string(r), shapes[r]});
    Array<double> a(shapes[r]);
    a.data = values[r];
    inputs.emplace("x" + std::to_string(r), std::move(a));
  }
  const Graph g = test::one_op(kind, ins, shapes.size(), std::move(attrs));
  sim::functional::RunOptions options;
  options.precision = sim::functional::Precision::fp64;
  return sim::functional::run(g, inputs, options);
}

TEST_CASE("collective kernels: every rank gets what the collective promises", "[graphs][parallel][collective]") {
  const std::vector<std::int64_t> devices{0, 1, 2};
  const auto sum = run_collective("AllReduce", {{2, 2}, {2, 2}, {2, 2}}, {{1, 2, 3, 4}, {10, 20, 30, 40}, {0, 0, 0, 1}},
                                  test::attrs({{"devices", devices}}));
  for (const char* out : {"out0", "out1", "out2"}) CHECK(sum.at(out).data == std::vector<double>{11, 22, 33, 45});
  // Uneven parts along axis 1: [2, 1], [2, 2], [2, 1] -> [2, 4].
  const auto gathered = run_collective("AllGather", {{2, 1}, {2, 2}, {2, 1}}, {{1, 2}, {3, 4, 5, 6}, {7, 8}},
                                       test::attrs({{"devices", devices}, {"axis", std::int64_t{1}}}));
  CHECK(gathered.at("out2").shape == graphs::Shape{2, 4});
  CHECK(gathered.at("out2").data == std::vector<double>{1, 3, 4, 7, 2, 5, 6, 8});
  // The sum of [3, 2] buffers, rows split 2, 0, 1.
  const auto scattered = run_collective(
      "ReduceScatter", {{3, 2}, {3, 2}, {3, 2}}, {{1, 1, 1, 1, 1, 1}, {1, 2, 3, 4, 5, 6}, {0, 0, 0, 0, 0, 1}},
      test::attrs({{"devices", devices}, {"splits", std::vector<std::int64_t>{2, 0, 1}}}));
  CHECK(scattered.at("out0").data == std::vector<double>{2, 3, 4, 5});
  CHECK(scattered.at("out1").data.empty());
  CHECK(scattered.at("out2").data == std::vector<double>{6, 8});
  const auto sent =
      run_collective("Send", {{3}}, {{1, 2, 3}}, test::attrs({{"from", std::int64_t{0}}, {"to", std::int64_t{5}}}));
  CHECK(sent.at("out0").data == std::vector<double>{1, 2, 3});
}

TEST_CASE("collective shape rules name what does not fit", "[graphs][parallel][collective]") {
  using test::attrs;
  using test::In;
  const std::vector<std::int64_t> two{0, 1};
  CHECK_THROWS_WITH(
      test::one_op("AllReduce", {In{"a", {2}}, In{"b", {2}}}, 2, attrs({{"devices", std::vector<std::int64_t>{0}}})),
      Contains("has 2 inputs but devices lists 1; expected one device per rank"));
  CHECK_THROWS_WITH(test::one_op("AllReduce", {In{"a", {2}}, In{"b", {3}}}, 2, attrs({{"devices", two}})),
                    Contains("rank 1 gives 'b' [3] but rank 0 gives [2]"));
  CHECK_THROWS_WITH(
      test::one_op("AllReduce", {In{"a", {2}}, In{"b", {2}}}, 2, attrs({{"devices", std::vector<std::int64_t>{1, 1}}})),
      Contains("devices must be distinct"));
  CHECK_THROWS_WITH(test::one_op("AllReduce", {In{"a", {2}}, In{"b", {2}}}, 1, attrs({{"devices", two}})),
                    Contains("expected one output per rank"));
  CHECK_THROWS_WITH(test::one_op("AllGather", {In{"a", {2, 2}}, In{"b", {3, 3}}}, 2, attrs({{"devices", two}})),
                    Contains("does not match rank 0's [2, 2] outside axis 0"));
  CHECK_THROWS_WITH(test::one_op("ReduceScatter", {In{"a", {4}}, In{"b", {4}}}, 2,
                                 attrs({{"devices", two}, {"splits", std::vector<std::int64_t>{1, 2}}})),
                    Contains("add up to 4 along axis 0"));
  CHECK_THROWS_WITH(
      test::one_op("Send", {In{"a", {4}}}, 1, attrs({{"from", std::int64_t{2}}, {"to", std::int64_t{2}}})),
      Contains("expected two distinct devices"));
}

}  // namespace
}  // namespace rdasim

namespace rdasim {
namespace {

/// A two-layer MLP's training step (MSE, Adam) at `batch`, params with values.
Graph mlp_training_step(int batch) {
  graphs::GraphBuilder b("mlp");
  const auto x = b.input("x", {batch, 8});
  const auto h = b.op("Relu", "relu", {b.op("Gemm", "fc1", {x, b.param("w1", {8, 16}), b.param("b1", {16})})});
  b.output(b.op("Gemm", "fc2", {h, b.param("w2", {16, 4}), b.param("b2", {4})}));
  return with_values(graphs::training_step(b.finish(), {graphs::loss_on(graphs::LossKind::mse, "fc2")}, {}).graph);
}

TEST_CASE("data-parallel training all-reduces the gradients before every replica's update", "[graphs][parallel]") {
  // 6 samples over 2 and 3 replicas (MSE: a mean over the batch): every replica's new params
  // equal the unsharded step's.
  const Graph g = mlp_training_step(6);
  Values inputs = random_inputs(g);
  RunOptions exact;
  exact.precision = sim::functional::Precision::fp64;
  const Values expected = sim::functional::run(g, inputs, exact);
  const auto gradients = graphs::gradient_inputs(g);
  REQUIRE(gradients.size() == 4);
  for (const int dp : {2, 3}) {
    INFO("dp " << dp);
    graphs::ShardOptions options;
    options.gradients = gradients;
    options.batch = 6;
    for (const auto share : graphs::even_split(6, dp))
      options.replicas.push_back(mlp_training_step(static_cast<int>(share)));
    const auto sharded = graphs::shard(g, {1, 1, dp}, options);
    CHECK(count_kind(sharded.graph, "AllReduce") == 4);
    Values sharded_inputs;
    for (const auto& [name, parts] : sharded.inputs) {
      for (const auto& part : parts) sharded_inputs[part.tensor] = graphs::part_of(inputs.at(name), part);
    }
    const Values got = sim::functional::run(sharded.graph, sharded_inputs, exact);
    double worst = 0;
    int compared = 0;
    for (const auto& [name, parts] : sharded.outputs) {
      if (name.rfind("new/", 0) != 0) continue;  // the loss is each replica's own mean
      for (const auto& part : parts) {
        const auto& want = expected.at(name).data;
        const auto& have = got.at(part.tensor).data;
        REQUIRE(have.size() == want.size());
        for (std::size_t i = 0; i < want.size(); ++i) {
          worst = std::max(worst, std::abs(have[i] - want[i]) / (1 + std::abs(want[i])));
        }
        ++compared;
      }
    }
    CHECK(compared == 12 * dp);  // 4 params and Adam's two moments of each
    CHECK(worst <= 1e-12);
  }
}

TEST_CASE("a training step shards only data parallel", "[graphs][parallel]") {
  const Graph g = workloads::build("inversion", {{"batch", "4"}, {"mode", "train"}}).apps.front();
  graphs::ShardOptions options;
  options.gradients = graphs::gradient_inputs(g);
  CHECK_THROWS_WITH(graphs::shard(g, {2, 1, 1}, options), Contains("a training step runs data parallel"));
}

}  // namespace
}  // namespace rdasim
