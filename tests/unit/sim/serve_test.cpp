// Serving runs (sim/serve): the schedule of prefill and decode steps under static and continuous
// batching, the KV cache's room, memoized and interpolated steps, model switching, the request
// readers and the framework specs, on a step timer whose times are known in closed form.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "core/error.h"
#include "sim/serve/framework.h"
#include "sim/serve/requests.h"
#include "sim/serve/server.h"
#include "sim/serve/steps.h"
#include "tests/test_paths.h"

namespace rdasim::serve {
namespace {

Framework framework(const std::string& name) {
  return Framework::load_file(test::source_dir() / "configs/frameworks" / (name + ".yaml"));
}

/// A step of a made-up model: a prefill takes 1 ms + 1 us per token, a decode 1 ms + 10 us per
/// sequence + 1 ns per token of context; both bilinear in batch and length.
StepTime linear_step(const workloads::LlmStep& s) {
  StepTime t;
  if (s.phase == workloads::LlmPhase::prefill) {
    t.seconds = 1e-3 + 1e-6 * static_cast<double>(s.batch * s.prompt);
  } else {
    t.seconds = 1e-3 + 1e-5 * static_cast<double>(s.batch) + 1e-9 * static_cast<double>(s.batch * s.context);
  }
  t.collective_s = 0.1 * t.seconds;
  t.energy_j = t.seconds * 100;
  return t;
}

StepTimer counting_timer(int& calls) {
  return [&calls](const std::string&, const workloads::LlmStep& s) {
    ++calls;
    return linear_step(s);
  };
}

ServeOptions options_for(const std::string& fw, int max_batch) {
  ServeOptions o;
  o.framework = framework(fw);
  o.framework.step_overhead_s = 0;  // the framework's host time off: the device's schedule alone
  o.framework.graph_launch_s = 0;
  o.framework.request_overhead_s = 0;
  o.framework.token_overhead_s = 0;
  o.framework.rank_sync_s = 0;
  o.max_batch = max_batch;
  o.memory_bytes = 100e9;
  o.load_bytes_per_s = 1e9;
  o.load_path = "test";
  return o;
}

const ServedModel k_model{"m", 10e9, 1e5};  // 10 GB of weights, 100 kB of cache per token

}  // namespace

TEST_CASE("a static batch is one prefill then a decode step per further token, the context growing", "[serve]") {
  int calls = 0;
  StepTable table(counting_timer(calls), false);
  const auto o = options_for("sambaflow", 4);
  const auto r = serve(static_batch(4, 100, 10), {k_model}, o, table);
  REQUIRE(r.steps.size() == 10);  // the prefill gives the first token, 9 decode steps the rest
  CHECK(r.steps.front().kind == StepKind::prefill);
  double expected = 1e-3 + 1e-6 * 400;
  for (int k = 0; k < 9; ++k) expected += 1e-3 + 4e-5 + 1e-9 * 4 * (100 + k);
  CHECK(r.seconds == Approx(expected).epsilon(1e-12));
  CHECK(r.requests[0].ttft_s() == Approx(1e-3 + 4e-4));
  CHECK(r.token_gaps.size() == 4 * 9);
  CHECK(r.output_tokens == 40);
  CHECK(r.input_tokens == 400);
  // The measured files' throughput: batch x (input + output) over the latency.
  const auto j = to_json(r, o, false);
  CHECK(j["throughput_tok_s"].get<double>() == Approx(4 * 110 / expected));
  CHECK(j["time"]["collective_s"].get<double>() == Approx(0.1 * expected));
  CHECK(calls == 10);  // every distinct step once
}

TEST_CASE("the framework's host time: per step, per sequence in a step, per round of the ranks, per request",
          "[serve]") {
  StepTable table([](const std::string&, const workloads::LlmStep& s) { return linear_step(s); }, false);
  auto o = options_for("trtllm", 4);
  const double device = serve(static_batch(4, 100, 10), {k_model}, o, table).seconds;
  o.framework.step_overhead_s = 1e-4;
  o.framework.token_overhead_s = 1e-5;
  o.framework.rank_sync_s = 1e-3;
  o.framework.request_overhead_s = 0.5;
  o.ranks = 8;  // ceil(log2 8) = 3 rounds
  const auto r = serve(static_batch(4, 100, 10), {k_model}, o, table);
  // 10 steps of 4 sequences each; the requests wait for the endpoint once, side by side.
  CHECK(r.seconds == Approx(device + 10 * (1e-4 + 4 * 1e-5 + 3 * 1e-3) + 0.5).epsilon(1e-12));
  CHECK(r.overhead_s == Approx(10 * (1e-4 + 4 * 1e-5 + 3 * 1e-3)));
  o.ranks = 5;  // a round more than 4 ranks need
  CHECK(serve(static_batch(4, 100, 10), {k_model}, o, table).overhead_s == Approx(10 * (1e-4 + 4e-5 + 3e-3)));
  o.ranks = 1;  // one rank agrees with itself
  CHECK(serve(static_batch(4, 100, 10), {k_model}, o, table).overhead_s == Approx(10 * (1e-4 + 4e-5)));
}

TEST_CASE("static batching runs a batch to its longest request; continuous batching admits at every step", "[serve]") {
  const std::vector<Request> requests{{0, 100, 5, {}}, {0, 100, 50, {}}, {0.001, 100, 5, {}}};
  int calls = 0;
  StepTable table(counting_timer(calls), false);
  const auto fixed = serve(requests, {k_model}, options_for("sambaflow", 2), table);
  const auto rolling = serve(requests, {k_model}, options_for("trtllm", 2), table);
  // Static: the third request waits for the 50-token one to finish.
  CHECK(fixed.requests[2].admitted_s >= fixed.requests[1].end_s);
  // Continuous: it takes the first request's place as soon as that one leaves.
  CHECK(rolling.requests[2].admitted_s == Approx(rolling.requests[0].end_s));
  CHECK(rolling.requests[2].end_s < fixed.requests[2].end_s);
  // A static batch decodes at the size it formed with, finished sequences as padding.
  for (const auto& s : fixed.steps) {
    if (s.kind == StepKind::decode && s.start_s < fixed.requests[1].end_s) CHECK(s.batch == 2);
  }
}

TEST_CASE("requests wait for room in the KV cache, and a request that cannot fit alone is refused", "[serve]") {
  int calls = 0;
  StepTable table(counting_timer(calls), false);
  auto o = options_for("trtllm", 64);
  // 10 GB of weights and 1000 tokens x 100 kB = 100 MB per request (in 64-token blocks: 1024
  // tokens, 102.4 MB): 10.5 GB hold five requests at once.
  o.memory_bytes = 10e9 + 5.5 * 102.4e6;
  const auto r = serve(static_batch(8, 500, 500), {k_model}, o, table);
  int concurrent_at_start = 0;
  for (const auto& q : r.requests) concurrent_at_start += q.admitted_s == 0 ? 1 : 0;
  CHECK(concurrent_at_start == 5);
  CHECK(r.requests[5].admitted_s == Approx(r.requests[0].end_s));

  o.memory_bytes = 10e9 + 50e6;
  CHECK_THROWS_WITH(
      serve(static_batch(1, 500, 500), {k_model}, o, table),
      Catch::Contains("'m' needs 9.31 GiB of hbm per device for its weights") && Catch::Contains("short"));
  CHECK_THROWS_WITH(check_batch_fits(k_model, 8, 1000, o), Catch::Contains("at batch 8 of 1000 tokens") &&
                                                               Catch::Contains("hbm holds 9.36 GiB") &&
                                                               Catch::Contains("GiB short"));
  CHECK_NOTHROW(check_batch_fits(k_model, 1, 400, o));
}

TEST_CASE("interpolated steps reproduce a step time bilinear in batch and length and time only the grid", "[serve]") {
  int exact_calls = 0, grid_calls = 0;
  StepTable exact(counting_timer(exact_calls), false);
  StepTable grid(counting_timer(grid_calls), true);
  // Twelve steps inside one cell of each grid: decode batch 32 to 48 and context 1024 to 2048,
  // prefill batch 32 to 64 and prompt 1024 to 1536.
  for (const std::int64_t batch : {33, 36, 40, 47}) {
    for (const std::int64_t length : {1100, 1300, 1500}) {
      CHECK(grid.decode("m", batch, length).seconds == Approx(exact.decode("m", batch, length).seconds));
      CHECK(grid.prefill("m", batch, length).seconds == Approx(exact.prefill("m", batch, length).seconds));
    }
  }
  CHECK(exact.timed() == 24);
  CHECK(grid.timed() == 8);  // each cell's four corners
  (void)grid.decode("m", 32, 1024);
  (void)grid.decode("m", 48, 2048);
  (void)grid.prefill("m", 64, 1536);
  CHECK(grid.timed() == 8);
}

TEST_CASE("a model not in device memory is loaded over the load path, evicting the least recently used", "[serve]") {
  int calls = 0;
  StepTable table(counting_timer(calls), false);
  auto o = options_for("trtllm", 8);
  o.memory_bytes = 25e9;  // two 10 GB models fit, not three
  const std::vector<ServedModel> models{{"a", 10e9, 1e5}, {"b", 10e9, 1e5}, {"c", 10e9, 1e5}};
  const std::vector<Request> requests{
      {0, 10, 2, "a"}, {1, 10, 2, "b"}, {2, 10, 2, "a"}, {3, 10, 2, "c"}, {4, 10, 2, "b"}};
  const auto r = serve(requests, models, o, table);
  // a is in memory at the start; b loads; a is still there; c evicts b (a was used last); b loads again.
  CHECK(r.switches == 3);
  CHECK(r.switching_s == Approx(30.0));
  int loads = 0;
  for (const auto& s : r.steps) {
    if (s.kind != StepKind::load) continue;
    ++loads;
    CHECK(s.end_s - s.start_s == Approx(10.0));  // 10 GB at 1 GB/s
  }
  CHECK(loads == 3);
  CHECK(r.requests[1].ttft_s() > 10.0);
}

TEST_CASE("chunked prefill rides along with the running batch's decode", "[serve]") {
  int calls = 0;
  StepTable table(counting_timer(calls), false);
  auto o = options_for("vllm", 8);
  o.chunked_prefill_tokens = 256;
  const std::vector<Request> requests{{0, 100, 40, {}}, {0.005, 1000, 2, {}}};
  const auto r = serve(requests, {k_model}, o, table);
  int mixed = 0;
  for (const auto& s : r.steps) mixed += s.kind == StepKind::mixed ? 1 : 0;
  CHECK(mixed == 4);  // 1000 prompt tokens in pieces of 256 while the first request decodes
  CHECK(r.requests[1].first_token_s > r.requests[1].admitted_s);
  CHECK(r.prefill_s + r.decode_s == Approx(r.seconds - r.overhead_s - r.idle_s));
}

TEST_CASE("Poisson arrivals are reproducible and arrive at the rate asked", "[serve]") {
  const auto a = poisson_requests(4, 4000, {128, 1024}, {128, 1024}, {}, 7);
  const auto b = poisson_requests(4, 4000, {128, 1024}, {128, 1024}, {}, 7);
  REQUIRE(a.size() == 4000);
  CHECK(a.back().arrival_s == b.back().arrival_s);
  CHECK(a.back().arrival_s == Approx(1000).epsilon(0.05));
  std::int64_t lo = 1 << 20, hi = 0;
  for (const auto& r : a) {
    lo = std::min(lo, r.input_len);
    hi = std::max(hi, r.input_len);
  }
  CHECK(lo == 128);
  CHECK(hi == 1024);
}

TEST_CASE("a requests file is read with its columns in any order and refused at the line it is wrong", "[serve]") {
  const auto dir = std::filesystem::temp_directory_path() / "rdasim_serve_test";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return dir / name;
  };
  const auto ok =
      read_requests_csv(write("ok.csv", "input_len,arrival_s,output_len,model\n10,0,5,a\n20,0.5,6,b\n"), {"a", "b"});
  REQUIRE(ok.size() == 2);
  CHECK(ok[1].arrival_s == 0.5);
  CHECK(ok[1].input_len == 20);
  CHECK(ok[1].model == "b");
  CHECK_THROWS_WITH(read_requests_csv(write("bad.csv", "arrival_s,input_len,output_len\n0,10,5\n0.1,ten,5\n")),
                    Catch::Contains("bad.csv:3") && Catch::Contains("input_len is 'ten'; expected a number"));
  CHECK_THROWS_WITH(read_requests_csv(write("order.csv", "arrival_s,input_len,output_len\n1,10,5\n0.5,10,5\n")),
                    Catch::Contains("order.csv:3") && Catch::Contains("arrival order"));
  CHECK_THROWS_WITH(read_requests_csv(write("col.csv", "arrival,input_len,output_len\n")),
                    Catch::Contains("col.csv:1") && Catch::Contains("did you mean 'arrival_s'"));
  CHECK_THROWS_WITH(read_requests_csv(write("model.csv", "arrival_s,input_len,output_len,model\n0,1,1,c\n"), {"a"}),
                    Catch::Contains("model.csv:2") && Catch::Contains("model 'c' is not one of --models"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the shipped frameworks load, and a framework that contradicts its hardware is refused", "[serve]") {
  for (const std::string name : {"sambaflow", "trtllm", "vllm", "eager"}) CHECK_NOTHROW(framework(name));
  CHECK(framework("sambaflow").looped_layers);
  CHECK(framework("trtllm").launch == Launch::graph);
  CHECK(framework("eager").launch == Launch::host);
  const auto bad =
      core::ConfigNode::parse("name: x\nhardware: gpu\nlaunch: hardware\nkernels: fused\nbatching: static\n", "x.yaml");
  CHECK_THROWS_WITH(Framework::load(bad), Catch::Contains("x.yaml:3") && Catch::Contains("launch: graph"));
}

}  // namespace rdasim::serve
