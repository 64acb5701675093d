// Decoder LLMs from Hugging Face configs (Llama, Mistral, Qwen2): the config, its parameter
// count, and the graph of one serving step, prefill (a prompt of S tokens into an empty KV
// cache) or decode (one token per sequence onto a cache of `context` tokens). The graph follows
// the Hugging Face modelling code op for op: embedding, per layer RMSNorm, Q/K/V projections,
// rotary embedding, the KV-cache write, grouped-query attention, output projection, residual,
// RMSNorm, SwiGLU MLP, residual; final RMSNorm and the LM head.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "graphs/graph.h"

namespace rdasim::workloads {

/// The fields of a Hugging Face config.json that set a decoder's shapes and numerics.
struct LlmConfig {
  std::string name;          ///< the file's stem ("llama-3-8b")
  std::string hf_id;         ///< "_name_or_path": the Hugging Face id ("meta-llama/Meta-Llama-3-8B")
  std::string architecture;  ///< LlamaForCausalLM, MistralForCausalLM or Qwen2ForCausalLM
  std::int64_t hidden = 0, intermediate = 0, layers = 0, heads = 0, kv_heads = 0, vocab = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000;
  bool tied_embeddings = false;
  bool qkv_bias = false;  ///< Qwen2's q, k and v projections carry biases
  /// rope_scaling of type "llama3" (Llama 3.1) or "linear"; factor 1: none.
  std::string rope_scaling = "none";
  double rope_factor = 1, rope_low_freq_factor = 1, rope_high_freq_factor = 4;
  std::int64_t rope_original_max_positions = 8192;
  /// Mistral's sliding window: attention over more keys than this is not modelled.
  std::optional<std::int64_t> sliding_window;

  [[nodiscard]] std::int64_t head_dim() const { return hidden / heads; }
  /// Parameters, as nn.Module.parameters() counts them (a tied embedding once).
  [[nodiscard]] std::int64_t parameters() const;
  /// Bytes of the KV cache per token of context, all layers, at `bytes_per_element`.
  [[nodiscard]] double kv_bytes_per_token(double bytes_per_element) const;
};

/// The file `model` names: a path (has a '/' or ends in .json) as it is, else
/// <data dir>/llm/<model>.json (configs/llm/ in the source tree).
[[nodiscard]] std::filesystem::path llm_config_path(const std::string& model);
/// The shipped configs' names, sorted.
[[nodiscard]] std::vector<std::string> llm_model_names();

/// Reads a Hugging Face config.json. Throws core::InputError naming the file and the field for
/// a missing or mistyped field, an architecture other than the three, heads that do not divide
/// the hidden size or KV heads that do not divide the heads, or a rope_scaling it does not model.
[[nodiscard]] LlmConfig load_llm_config(const std::filesystem::path& path);

enum class LlmPhase { prefill, decode };

/// One serving step of a batch of sequences.
struct LlmStep {
  LlmPhase phase = LlmPhase::decode;
  std::int64_t batch = 1;
  std::int64_t prompt = 1024;   ///< prefill: tokens per sequence
  std::int64_t context = 1024;  ///< decode: tokens already in the KV cache
  bool all_logits = false;      ///< prefill: logits of every token (else each sequence's last)

  [[nodiscard]] std::int64_t new_tokens() const { return phase == LlmPhase::prefill ? prompt : 1; }
  /// The cache's length once the step has written its tokens.
  [[nodiscard]] std::int64_t cache_length() const { return (phase == LlmPhase::prefill ? 0 : context) + new_tokens(); }
};

/// The inverse frequencies of the rotary embedding, theta^(-2i/D) for i < D/2, rescaled as
/// the config's rope_scaling says.
[[nodiscard]] std::vector<double> rope_inverse_frequencies(const LlmConfig& config);

/// The graph of one step. Inputs: `input_ids` [batch x new tokens] (i64) and per layer
/// `layer<i>/past_key` and `layer<i>/past_value` [batch, cache length, KV heads, head dim],
/// whose first `context` positions hold the cache; outputs: `logits` [batch, tokens, vocab]
/// and per layer `layer<i>/present_key` and `layer<i>/present_value` (the cache with the
/// step's tokens written in place). Params carry Hugging Face's state-dict names with '/' for '.'
/// (model/layers/0/self_attn/q_proj/weight), so a twin's weights load by name (--weights).
[[nodiscard]] graphs::Graph build_llm(const LlmConfig& config, const LlmStep& step);

}  // namespace rdasim::workloads
