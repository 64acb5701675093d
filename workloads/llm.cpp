#include "workloads/llm.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/json.h"
#include "core/paths.h"
#include "core/text.h"
#include "graphs/builder.h"
#include "workloads/workload.h"

namespace rdasim::workloads {

namespace {

using graphs::GraphBuilder;
using graphs::TensorId;

const std::vector<std::string> k_architectures{"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"};

/// Reads the fields of one config file, each failure naming the file and the field.
class ConfigReader {
 public:
  ConfigReader(std::filesystem::path path, core::Json doc) : m_path(std::move(path)), m_doc(std::move(doc)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    throw core::InputError(core::Location(m_path.string(), 0, 0, field), message);
  }
  [[nodiscard]] const core::Json& field(const std::string& name) const {
    if (!m_doc.contains(name)) fail(name, fmt::format("missing field '{}'", name));
    return m_doc.at(name);
  }
  [[nodiscard]] std::int64_t positive(const std::string& name) const {
    const auto& v = field(name);
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1) {
      fail(name, fmt::format("'{}' must be a positive integer, not {}", name, v.dump()));
    }
    return v.get<std::int64_t>();
  }
  [[nodiscard]] double number(const core::Json& v, const std::string& name) const {
    if (!v.is_number() || !(v.get<double>() > 0))
      fail(name, fmt::format("'{}' must be a positive number, not {}", name, v.dump()));
    return v.get<double>();
  }
  [[nodiscard]] double number(const std::string& name) const { return number(field(name), name); }
  [[nodiscard]] bool boolean(const std::string& name) const {
    const auto& v = field(name);
    if (!v.is_boolean()) fail(name, fmt::format("'{}' must be true or false, not {}", name, v.dump()));
    return v.get<bool>();
  }
  [[nodiscard]] const core::Json& doc() const { return m_doc; }

 private:
  std::filesystem::path m_path;
  core::Json m_doc;
};

/// HF's _compute_llama3_parameters: wavelengths shorter than original / high_freq_factor kept,
/// longer than original / low_freq_factor divided by the factor, a smooth blend between.
double llama3_scaled(double inv_freq, const LlmConfig& c) {
  const double original = static_cast<double>(c.rope_original_max_positions);
  const double low_wavelen = original / c.rope_low_freq_factor, high_wavelen = original / c.rope_high_freq_factor;
  const double wavelen = 2 * std::numbers::pi / inv_freq;
  if (wavelen < high_wavelen) return inv_freq;
  if (wavelen > low_wavelen) return inv_freq / c.rope_factor;
  const double smooth =
      (original / wavelen - c.rope_low_freq_factor) / (c.rope_high_freq_factor - c.rope_low_freq_factor);
  return (1 - smooth) * inv_freq / c.rope_factor + smooth * inv_freq;
}

void read_rope_scaling(const ConfigReader& r, LlmConfig& c) {
  if (!r.doc().contains("rope_scaling") || r.doc().at("rope_scaling").is_null()) return;
  const auto& s = r.doc().at("rope_scaling");
  const std::string key = "rope_scaling";
  if (!s.is_object()) r.fail(key, "'rope_scaling' must be an object or null");
  const std::string type = s.value("rope_type", s.value("type", std::string{}));
  if (type != "llama3" && type != "linear") {
    r.fail(key + ".rope_type",
           fmt::format("rope_scaling of type '{}' is not modelled; expected llama3 or linear", type));
  }
  c.rope_scaling = type;
  if (!s.contains("factor")) r.fail(key + ".factor", "missing field 'rope_scaling.factor'");
  c.rope_factor = r.number(s.at("factor"), key + ".factor");
  if (type == "llama3") {
    for (const char* f : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
      if (!s.contains(f)) r.fail(key + "." + f, fmt::format("missing field 'rope_scaling.{}'", f));
    }
    c.rope_low_freq_factor = r.number(s.at("low_freq_factor"), key + ".low_freq_factor");
    c.rope_high_freq_factor = r.number(s.at("high_freq_factor"), key + ".high_freq_factor");
    c.rope_original_max_positions = static_cast<std::int64_t>(
        r.number(s.at("original_max_position_embeddings"), key + ".original_max_position_embeddings"));
    if (c.rope_high_freq_factor <= c.rope_low_freq_factor) {
      r.fail(key + ".high_freq_factor", "high_freq_factor must exceed low_freq_factor");
    }
  }
}

/// y = x W^T (+ b) on [tokens, in]: nn.Linear as a Gemm, its weight [out, in] in PyTorch's layout.
TensorId linear(GraphBuilder& b, const std::string& op, const std::string& param, TensorId x, std::int64_t in,
                std::int64_t out, bool bias) {
  std::vector<TensorId> inputs{x, b.param(param + "/weight", {out, in})};
  if (bias) inputs.push_back(b.param(param + "/bias", {out}));
  return b.op("Gemm", op, inputs, graphs::make_attrs({{"transB", std::int64_t{1}}}));
}

TensorId reshape(GraphBuilder& b, const std::string& name, TensorId x, const std::vector<std::int64_t>& shape) {
  return b.op("Reshape", name, {x, b.ints(name + "_shape", shape)});
}

TensorId rms_norm(GraphBuilder& b, const std::string& op, const std::string& param, TensorId x, const LlmConfig& c) {
  return b.op("RMSNormalization", op, {x, b.param(param + "/weight", {c.hidden})},
              graphs::make_attrs({{"epsilon", c.rms_norm_eps}}));
}

}  // namespace

std::int64_t LlmConfig::parameters() const {
  const std::int64_t kv = kv_heads * head_dim();
  const std::int64_t attention = 2 * hidden * hidden + 2 * hidden * kv + (qkv_bias ? hidden + 2 * kv : 0);
  const std::int64_t mlp = 3 * hidden * intermediate;
  const std::int64_t layer = attention + mlp + 2 * hidden;  // two RMSNorm scales
  return layers * layer + hidden + vocab * hidden * (tied_embeddings ? 1 : 2);
}

double LlmConfig::kv_bytes_per_token(double bytes_per_element) const {
  return 2.0 * static_cast<double>(layers * kv_heads * head_dim()) * bytes_per_element;
}

std::filesystem::path llm_config_path(const std::string& model) { return core::shipped_path(model, "llm", ".json"); }

std::vector<std::string> llm_model_names() { return core::shipped_names("llm", ".json"); }

LlmConfig load_llm_config(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path) && path.parent_path() == core::data_dir() / "llm") {
    const auto known = llm_model_names();
    const std::string name = path.stem().string();
    if (known.empty()) {
      throw core::InputError(core::Location(path.string()),
                             fmt::format("no LLM config named '{}': no configs are installed in {} (give a path to a "
                                         "Hugging Face config.json)",
                                         name, path.parent_path().string()));
    }
    throw core::InputError(core::Location(path.string()),
                           fmt::format("no LLM config named '{}'{}; the shipped ones are {} (or give a path to a "
                                       "Hugging Face config.json)",
                                       name, core::did_you_mean(name, known), core::quoted_list(known)));
  }
  const ConfigReader r(path, core::read_json_file(path, 16u << 20));
  if (!r.doc().is_object()) r.fail("", "expected a JSON object (a Hugging Face config.json)");
  LlmConfig c;
  c.name = path.stem().string();
  if (c.name == "config") c.name = path.parent_path().filename().string();
  c.hf_id = r.doc().value("_name_or_path", std::string{});
  const auto& archs = r.field("architectures");
  if (!archs.is_array() || archs.empty() || !archs[0].is_string()) {
    r.fail("architectures", "'architectures' must be a list naming the model class");
  }
  c.architecture = archs[0].get<std::string>();
  if (std::find(k_architectures.begin(), k_architectures.end(), c.architecture) == k_architectures.end()) {
    r.fail("architectures", fmt::format("architecture '{}' is not supported; expected {}", c.architecture,
                                        core::quoted_list(k_architectures)));
  }
  c.hidden = r.positive("hidden_size");
  c.intermediate = r.positive("intermediate_size");
  c.layers = r.positive("num_hidden_layers");
  c.heads = r.positive("num_attention_heads");
  c.kv_heads = r.positive("num_key_value_heads");
  c.vocab = r.positive("vocab_size");
  c.rms_norm_eps = r.number("rms_norm_eps");
  c.rope_theta = r.number("rope_theta");
  c.tied_embeddings = r.boolean("tie_word_embeddings");
  c.qkv_bias = c.architecture == "Qwen2ForCausalLM";
  if (c.hidden % c.heads != 0) {
    r.fail("num_attention_heads",
           fmt::format("num_attention_heads {} does not divide hidden_size {}", c.heads, c.hidden));
  }
  if (c.head_dim() % 2 != 0)
    r.fail("num_attention_heads", fmt::format("head size {} must be even for RoPE", c.head_dim()));
  if (c.heads % c.kv_heads != 0) {
    r.fail("num_key_value_heads",
           fmt::format("num_key_value_heads {} does not divide num_attention_heads {}", c.kv_heads, c.heads));
  }
  read_rope_scaling(r, c);
  // Mistral slides a window over the keys; Qwen2 only when use_sliding_window says so.
  const bool sliding = c.architecture == "MistralForCausalLM" || r.doc().value("use_sliding_window", false);
  if (sliding && r.doc().contains("sliding_window") && r.doc().at("sliding_window").is_number_integer()) {
    c.sliding_window = r.doc().at("sliding_window").get<std::int64_t>();
  }
  return c;
}

std::vector<double> rope_inverse_frequencies(const LlmConfig& c) {
  const std::int64_t d = c.head_dim();
  std::vector<double> inv(static_cast<std::size_t>(d / 2));
  for (std::int64_t i = 0; i < d / 2; ++i) {
    // As HF computes it: theta ** (arange(0, d, 2) / d) in float32.
    const double f =
        1.0 / std::pow(c.rope_theta, static_cast<double>(static_cast<float>(2 * i) / static_cast<float>(d)));
    inv[static_cast<std::size_t>(i)] = c.rope_scaling == "llama3"   ? llama3_scaled(f, c)
                                       : c.rope_scaling == "linear" ? f / c.rope_factor
                                                                    : f;
  }
  return inv;
}

graphs::Graph build_llm(const LlmConfig& c, const LlmStep& step) {
  const std::int64_t batch = step.batch, seq = step.new_tokens(), tokens = batch * seq;
  const std::int64_t cache = step.cache_length(), past = cache - seq;
  const std::int64_t d = c.head_dim(), q_width = c.heads * d, kv_width = c.kv_heads * d;
  if (c.sliding_window && cache > *c.sliding_window) {
    throw core::InputError(core::Location(c.name, 0, 0, "sliding_window"),
                           fmt::format("{} attends over a sliding window of {} tokens, which rdasim does not model; "
                                       "this step's cache holds {}",
                                       c.name, *c.sliding_window, cache));
  }
  GraphBuilder b(fmt::format("{}_{}", c.name, step.phase == LlmPhase::prefill ? "prefill" : "decode"));

  // Positions past .. cache - 1 for every sequence, and the angle caches over all of them.
  std::vector<double> positions;
  for (std::int64_t s = 0; s < batch * seq; ++s) positions.push_back(static_cast<double>(past + s % seq));
  const TensorId position_ids = b.constant("position_ids", {batch, seq}, positions, graphs::DType::i64);
  const auto inv = rope_inverse_frequencies(c);
  std::vector<double> cos, sin;
  for (std::int64_t p = 0; p < cache; ++p) {
    for (double f : inv) {
      // float32 angles, as HF's rotary module multiplies positions by inv_freq in float32
      const float angle = static_cast<float>(p) * static_cast<float>(f);
      cos.push_back(std::cos(static_cast<double>(angle)));
      sin.push_back(std::sin(static_cast<double>(angle)));
    }
  }
  const TensorId cos_cache = b.constant("rope_cos", {cache, d / 2}, std::move(cos));
  const TensorId sin_cache = b.constant("rope_sin", {cache, d / 2}, std::move(sin));
  const TensorId write_at =
      b.constant("cache_write_index", {batch}, std::vector<double>(static_cast<std::size_t>(batch), double(past)),
                 graphs::DType::i64);

  const TensorId ids = b.input("input_ids", {tokens}, graphs::DType::i64);
  const TensorId embed = b.param("model/embed_tokens/weight", {c.vocab, c.hidden});
  TensorId x = b.op("Gather", "embed", {embed, ids});
  std::vector<TensorId> presents;
  for (std::int64_t i = 0; i < c.layers; ++i) {
    const std::string l = fmt::format("layer{}/", i), p = fmt::format("model/layers/{}/", i);
    const TensorId h = rms_norm(b, l + "input_norm", p + "input_layernorm", x, c);
    const TensorId q = linear(b, l + "q_proj", p + "self_attn/q_proj", h, c.hidden, q_width, c.qkv_bias);
    const TensorId k = linear(b, l + "k_proj", p + "self_attn/k_proj", h, c.hidden, kv_width, c.qkv_bias);
    const TensorId v = linear(b, l + "v_proj", p + "self_attn/v_proj", h, c.hidden, kv_width, c.qkv_bias);
    const auto rotary = [&](const std::string& name, TensorId t, std::int64_t width, std::int64_t heads) {
      return b.op("RotaryEmbedding", l + name,
                  {reshape(b, l + name + "_in", t, {batch, seq, width}), cos_cache, sin_cache, position_ids},
                  graphs::make_attrs({{"num_heads", heads}}));
    };
    const TensorId q_rot = rotary("q_rope", q, q_width, c.heads);
    const TensorId k_rot = rotary("k_rope", k, kv_width, c.kv_heads);
    // The KV-cache write: the step's keys and values at position `past` of each sequence.
    const auto write = [&](const std::string& name, TensorId t) {
      const TensorId cache_in = b.input(l + "past_" + name, {batch, cache, c.kv_heads, d});
      const TensorId present =
          b.op("TensorScatter", l + "present_" + name,
               {cache_in, reshape(b, l + name + "_heads", t, {batch, seq, c.kv_heads, d}), write_at},
               graphs::make_attrs({{"axis", std::int64_t{1}}}));
      presents.push_back(present);
      return reshape(b, l + name + "_cache", present, {batch, cache, kv_width});
    };
    const TensorId keys = write("key", k_rot);
    const TensorId values = write("value", reshape(b, l + "v_seq", v, {batch, seq, kv_width}));
    const TensorId attn = b.op(
        "GroupedQueryAttention", l + "attention", {q_rot, keys, values},
        graphs::make_attrs({{"q_num_heads", c.heads}, {"kv_num_heads", c.kv_heads}, {"is_causal", std::int64_t{1}}}));
    const TensorId o = linear(b, l + "o_proj", p + "self_attn/o_proj",
                              reshape(b, l + "attn_rows", attn, {tokens, q_width}), q_width, c.hidden, false);
    x = b.op("Add", l + "residual1", {x, o});
    const TensorId h2 = rms_norm(b, l + "post_norm", p + "post_attention_layernorm", x, c);
    const TensorId gate = linear(b, l + "gate_proj", p + "mlp/gate_proj", h2, c.hidden, c.intermediate, false);
    const TensorId up = linear(b, l + "up_proj", p + "mlp/up_proj", h2, c.hidden, c.intermediate, false);
    const TensorId silu = b.op("Mul", l + "silu", {gate, b.op("Sigmoid", l + "gate_sigmoid", {gate})});
    const TensorId down = linear(b, l + "down_proj", p + "mlp/down_proj", b.op("Mul", l + "swiglu", {silu, up}),
                                 c.intermediate, c.hidden, false);
    x = b.op("Add", l + "residual2", {x, down});
  }
  TensorId last = x;
  std::int64_t out_seq = seq;
  if (seq > 1 && !step.all_logits) {  // serving needs each sequence's last token only
    const TensorId slice = b.op("Slice", "last_token",
                                {reshape(b, "by_sequence", x, {batch, seq, c.hidden}), b.ints("last_start", {seq - 1}),
                                 b.ints("last_end", {seq}), b.ints("last_axis", {1})});
    last = reshape(b, "last_rows", slice, {batch, c.hidden});
    out_seq = 1;
  }
  const TensorId normed = rms_norm(b, "final_norm", "model/norm", last, c);
  const TensorId head = c.tied_embeddings ? embed : b.param("lm_head/weight", {c.vocab, c.hidden});
  const TensorId logits = b.op("Gemm", "lm_head", {normed, head}, graphs::make_attrs({{"transB", std::int64_t{1}}}));
  b.output(reshape(b, "logits", logits, {batch, out_seq, c.vocab}));
  for (TensorId t : presents) b.output(t);
  return b.finish();
}

namespace {

Workload build_llm_workload(const Params& p) {
  LlmConfig config = load_llm_config(llm_config_path(p.text("model")));
  LlmStep step;
  step.phase = p.text("phase") == "prefill" ? LlmPhase::prefill : LlmPhase::decode;
  step.batch = p.integer("batch");
  step.prompt = p.integer("prompt");
  step.context = p.integer("context");
  step.all_logits = p.text("logits") == "all";
  Workload w;
  w.apps.push_back(build_llm(config, step));
  return w;
}

}  // namespace

WorkloadDef llm_workload() {
  WorkloadDef def;
  def.name = "llm";
  def.summary = "decoder LLM (Llama, Mistral, Qwen2) from a Hugging Face config: one prefill or decode step";
  def.params = {{"model",
                 "llama-3-8b",
                 fmt::format("a config of configs/llm ({}) or a path to a Hugging Face config.json",
                             fmt::join(llm_model_names(), ", ")),
                 {}},
                {"phase",
                 "decode",
                 "prefill: the prompt into an empty cache; decode: one token per sequence",
                 {"prefill", "decode"}},
                {"batch", "1", "sequences served together", {}},
                {"prompt", "1024", "prefill: tokens per sequence", {}},
                {"context", "1024", "decode: tokens already in each sequence's KV cache", {}},
                {"logits", "last", "prefill: the last token's logits (serving) or every token's", {"last", "all"}}};
  def.params[0].any_text = true;
  def.build = build_llm_workload;
  return def;
}

}  // namespace rdasim::workloads
