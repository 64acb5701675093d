// The decoder LLM builder: parameter counts of the shipped Hugging Face configs exactly those
// of shared/validation/README.md, FLOPs per decode token, and a KV cache that carries a
// prefill into the decode steps after it.
#include <cmath>
#include <string>

#include <catch2/catch.hpp>

#include "core/error.h"
#include "graphs/op_registry.h"
#include "sim/functional/executor.h"
#include "workloads/inputs.h"
#include "workloads/llm.h"

using namespace rdasim;
using workloads::LlmPhase;
using workloads::LlmStep;

namespace {

workloads::LlmConfig config(const std::string& name) {
  return workloads::load_llm_config(workloads::llm_config_path(name));
}

std::int64_t graph_params(const graphs::Graph& g) {
  std::int64_t n = 0;
  for (const auto& t : g.tensors()) {
    if (t.role == graphs::Role::param) n += t.elements();
  }
  return n;
}

double graph_flops(const graphs::Graph& g) {
  double flops = 0;
  for (std::size_t i = 0; i < g.ops().size(); ++i) flops += graphs::op_cost(g, static_cast<graphs::OpId>(i)).flops;
  return flops;
}

LlmStep decode(std::int64_t batch, std::int64_t context) {
  LlmStep s;
  s.phase = LlmPhase::decode;
  s.batch = batch;
  s.context = context;
  return s;
}

}  // namespace

TEST_CASE("shipped LLM configs have the published parameter counts", "[workloads][llm]") {
  // shared/validation/README.md, "Model shapes"; Qwen2-7B from its model card (7.6 B), exactly
  // as nn.Module.parameters() counts it with q/k/v biases.
  const std::vector<std::pair<std::string, std::int64_t>> published{
      {"llama-2-7b", 6'738'415'616},   {"llama-3-8b", 8'030'261'248},       {"mistral-7b-v0.1", 7'241'732'096},
      {"llama-3-70b", 70'553'706'496}, {"llama-3.1-405b", 405'853'388'800}, {"qwen2-7b", 7'615'616'512}};
  for (const auto& [name, params] : published) {
    INFO(name);
    const auto c = config(name);
    CHECK(c.parameters() == params);
  }
  // The graph holds the same parameters (a tied embedding once), checked where building is cheap.
  for (const std::string name : {"llama-3-8b", "qwen2-7b", "tiny-llama"}) {
    INFO(name);
    const auto c = config(name);
    CHECK(graph_params(workloads::build_llm(c, decode(1, 16))) == c.parameters());
  }
  CHECK(config("tiny-llama").parameters() == 125'248);
  CHECK(config("llama-3-8b").hf_id == "meta-llama/Meta-Llama-3-8B");
}

TEST_CASE("a decode token costs 2 x parameters plus attention over the cache, within 1%", "[workloads][llm]") {
  // Every weight is read once per token: 2 FLOPs per parameter, less the input embedding (a
  // table lookup) unless the LM head reuses it. Attention: Q K^T and P V, 2 x 2 x D FLOPs per
  // query head and key, over the context plus the new token, in every layer.
  for (const std::string name : {"llama-2-7b", "llama-3-8b", "mistral-7b-v0.1", "qwen2-7b"}) {
    INFO(name);
    const auto c = config(name);
    const std::int64_t context = 1024, batch = 4;
    const auto g = workloads::build_llm(c, decode(batch, context));
    const double embedding = c.tied_embeddings ? 0.0 : double(c.vocab * c.hidden);
    const double dense = 2.0 * (double(c.parameters()) - embedding);
    const double attention = 4.0 * double(c.heads * c.head_dim() * (context + 1) * c.layers);
    CHECK(graph_flops(g) / double(batch) == Approx(dense + attention).epsilon(0.01));
  }
}

TEST_CASE("the KV cache carries a prefill into the decode step after it", "[workloads][llm]") {
  // Prefill 6 tokens (every token's logits), then decode the 6th again from a cache holding the
  // first 5: the decode's logits equal the prefill's last row, and its present cache is the past
  // one with position 5 written.
  const auto c = config("tiny-llama");
  const std::int64_t batch = 2, prompt = 6;
  LlmStep pre;
  pre.phase = LlmPhase::prefill;
  pre.batch = batch;
  pre.prompt = prompt;
  pre.all_logits = true;
  const auto prefill = workloads::build_llm(c, pre);
  const sim::functional::RunOptions fp64{sim::functional::Precision::fp64, 5, {}};
  const auto pre_in = workloads::generate_inputs(prefill, 3);
  const auto pre_out = sim::functional::run(prefill, {pre_in.begin(), pre_in.end()}, fp64);
  const auto& logits = pre_out.at("logits");
  REQUIRE(logits.shape == graphs::Shape{batch, prompt, c.vocab});
  for (double v : logits.data) REQUIRE(std::isfinite(v));

  const auto step = workloads::build_llm(c, decode(batch, prompt - 1));
  sim::functional::Values in;
  graphs::Array<double> ids({batch});
  for (std::int64_t b = 0; b < batch; ++b)
    ids.data[std::size_t(b)] = pre_in.at("input_ids").data[std::size_t(b * prompt + prompt - 1)];
  in.emplace("input_ids", ids);
  const std::int64_t d = c.head_dim(), row = c.kv_heads * d;
  for (std::int64_t l = 0; l < c.layers; ++l) {
    for (const std::string kv : {"key", "value"}) {
      // The prefill's cache, its last position overwritten with garbage the step must replace.
      auto past = pre_out.at(fmt::format("layer{}/present_{}", l, kv));
      for (std::int64_t b = 0; b < batch; ++b) {
        for (std::int64_t j = 0; j < row; ++j) past.data[std::size_t((b * prompt + prompt - 1) * row + j)] = 1e3;
      }
      in.emplace(fmt::format("layer{}/past_{}", l, kv), past);
    }
  }
  const auto out = sim::functional::run(step, in, fp64);
  const auto& next = out.at("logits");
  REQUIRE(next.shape == graphs::Shape{batch, 1, c.vocab});
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t v = 0; v < c.vocab; ++v) {
      INFO("sequence " << b << ", token " << v);
      CHECK(next.data[std::size_t(b * c.vocab + v)] ==
            Approx(logits.data[std::size_t((b * prompt + prompt - 1) * c.vocab + v)]).margin(1e-9));
    }
  }
  for (std::int64_t l = 0; l < c.layers; ++l) {
    const auto& present = out.at(fmt::format("layer{}/present_key", l));
    CHECK(present.data == pre_out.at(fmt::format("layer{}/present_key", l)).data);
  }
}

TEST_CASE("llm steps have the shapes serving needs", "[workloads][llm]") {
  const auto c = config("tiny-llama");
  LlmStep pre;
  pre.phase = LlmPhase::prefill;
  pre.batch = 3;
  pre.prompt = 5;
  const auto g = workloads::build_llm(c, pre);
  CHECK(g.tensor(*g.find_tensor("logits")).shape == graphs::Shape{3, 1, c.vocab});  // the last token only
  CHECK(g.tensor(*g.find_tensor("layer1/past_key")).shape == graphs::Shape{3, 5, c.kv_heads, c.head_dim()});
  const auto d = workloads::build_llm(c, decode(3, 9));
  CHECK(d.tensor(*d.find_tensor("input_ids")).shape == graphs::Shape{3});
  CHECK(d.tensor(*d.find_tensor("layer0/present_value")).shape == graphs::Shape{3, 10, c.kv_heads, c.head_dim()});
}

TEST_CASE("Llama 3.1's rope scaling rescales the long wavelengths only", "[workloads][llm]") {
  const auto plain = workloads::rope_inverse_frequencies(config("llama-3-8b"));
  const auto scaled = workloads::rope_inverse_frequencies(config("llama-3.1-8b"));
  REQUIRE(plain.size() == 64);
  REQUIRE(scaled.size() == 64);
  CHECK(scaled.front() == plain.front());              // short wavelengths kept
  CHECK(scaled.back() == Approx(plain.back() / 8.0));  // long ones divided by the factor
}
