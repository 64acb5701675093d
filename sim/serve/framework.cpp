#include "sim/serve/framework.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/paths.h"
#include "core/text.h"

namespace rdasim::serve {

using core::Bounds;
namespace decl = core::decl;

const char* to_string(Launch launch) {
  switch (launch) {
    case Launch::hardware: return "hardware";
    case Launch::graph: return "graph";
    case Launch::host: return "host";
  }
  return "?";
}

const char* to_string(Batching batching) { return batching == Batching::continuous ? "continuous" : "static"; }

namespace {

core::Schema make_schema() {
  const Bounds non_negative = Bounds::at_least(0);
  return core::Schema(
      "framework",
      {
          decl::text("name", "the framework's name, used in reports"),
          decl::text("description", "one line: what it is and where its figures come from", core::Presence::optional),
          decl::choice("hardware", "what it runs on: rda (a system of RDAs) or gpu (a system of GPUs)", {"rda", "gpu"}),
          decl::choice("launch",
                       "who starts each kernel: hardware (the RDA's own scheduler), graph (one CUDA graph per step, "
                       "no host wait per kernel) or host (kernel by kernel, as PyTorch eager; on an RDA each section "
                       "a kernel call the host issues)",
                       {"hardware", "graph", "host"}),
          decl::choice("kernels",
                       "fused (sections on an RDA; fused attention and GEMM epilogues on a GPU) or per_op (one kernel "
                       "per operator)",
                       {"fused", "per_op"}),
          decl::choice("looped_layers",
                       "RDA: the decoder layer's kernel loops over the layers with its configuration loaded once "
                       "(kernel looping), so a segment alike to one its socket ran earlier in the step is not "
                       "reconfigured",
                       {"true", "false"}, core::Presence::defaulted, "false"),
          decl::choice("batching",
                       "static (a batch forms, runs to its longest request, then the next forms) or continuous "
                       "(requests join and leave the running batch at every step)",
                       {"static", "continuous"}),
          decl::integer("kv_block_tokens", "tokens",
                        "paged KV cache: a request's cache is held in blocks of this many tokens (0: contiguous, as "
                        "long as the request)",
                        Bounds::between(0, 1 << 20), core::Presence::defaulted, "0"),
          decl::number("memory_utilization", "",
                       "share of each device's memory the framework gives the weights and the KV cache",
                       Bounds::between(0.01, 1), core::Presence::defaulted, "1"),
          decl::number("step_overhead_us", "us", "host work per step: scheduling, sampling, bookkeeping", non_negative,
                       core::Presence::defaulted, "0"),
          decl::number("graph_launch_us", "us", "launch: graph: the host's launch of one step's CUDA graph",
                       non_negative, core::Presence::defaulted, "0"),
          decl::number("kernel_launch_us", "us",
                       "RDA with launch: host: the host's call of one section, which the chip waits for (a GPU's "
                       "time per kernel is its spec's framework.op_us)",
                       non_negative, core::Presence::defaulted, "0"),
          decl::number("request_overhead_ms", "ms",
                       "per request, before its first token: the endpoint, the tokenizer, the network", non_negative,
                       core::Presence::defaulted, "0"),
          decl::number("token_overhead_us", "us",
                       "per sequence in each step: the host's handling of its new token (sampling, detokenizing, "
                       "streaming it to the client)",
                       non_negative, core::Presence::defaulted, "0"),
          decl::number("rank_sync_us", "us",
                       "tensor parallelism: one round of the ranks' host processes agreeing on each step; a step "
                       "over tp ranks pays ceil(log2 tp) rounds (a tree barrier or broadcast)",
                       non_negative, core::Presence::defaulted, "0"),
      });
}

}  // namespace

const core::Schema& Framework::schema() {
  static const core::Schema schema = make_schema();
  return schema;
}

Framework Framework::load(const core::ConfigNode& root_node) {
  const core::SectionReader root = schema().root(root_node);
  Framework f;
  f.source = root_node.location().file;
  f.name = root.text("name");
  if (const auto d = root.node("description")) f.description = d->as_string();
  f.hardware = root.choice("hardware");
  const std::string launch = root.choice("launch");
  f.launch = launch == "hardware" ? Launch::hardware : launch == "graph" ? Launch::graph : Launch::host;
  if (f.hardware == "rda" ? f.launch == Launch::graph : f.launch == Launch::hardware) {
    root.node("launch")->fail(f.hardware == "rda"
                                  ? "an RDA's sections are started by its own scheduler or called by the host; "
                                    "expected `launch: hardware` or `launch: host`"
                                  : "a GPU's kernels are launched by its host; expected `launch: graph` or `launch: "
                                    "host`");
  }
  f.fused = root.choice("kernels") == "fused";
  f.looped_layers = root.choice("looped_layers") == "true";
  if (f.looped_layers && f.hardware != "rda") root.node("looped_layers")->fail("kernel looping is an RDA feature");
  if (f.looped_layers && f.launch != Launch::hardware) {
    root.node("looped_layers")
        ->fail(
            "a looped kernel's iterations are started by the RDA's scheduler; expected "
            "`launch: hardware` with it");
  }
  f.batching = root.choice("batching") == "continuous" ? Batching::continuous : Batching::static_batch;
  f.kv_block_tokens = static_cast<int>(root.integer("kv_block_tokens"));
  f.memory_utilization = root.number("memory_utilization");
  f.step_overhead_s = root.number("step_overhead_us") * 1e-6;
  f.graph_launch_s = root.number("graph_launch_us") * 1e-6;
  f.kernel_launch_s = root.number("kernel_launch_us") * 1e-6;
  f.request_overhead_s = root.number("request_overhead_ms") * 1e-3;
  f.token_overhead_s = root.number("token_overhead_us") * 1e-6;
  f.rank_sync_s = root.number("rank_sync_us") * 1e-6;
  return f;
}

Framework Framework::load_file(const std::filesystem::path& path, std::span<const core::Override> overrides) {
  return load(core::ConfigNode::load_file(path, overrides));
}

core::Json Framework::to_json() const {
  return {{"name", name},
          {"description", description},
          {"source", source},
          {"hardware", hardware},
          {"launch", to_string(launch)},
          {"kernels", fused ? "fused" : "per_op"},
          {"looped_layers", looped_layers},
          {"batching", to_string(batching)},
          {"kv_block_tokens", kv_block_tokens},
          {"memory_utilization", memory_utilization},
          {"step_overhead_s", step_overhead_s},
          {"graph_launch_s", graph_launch_s},
          {"kernel_launch_s", kernel_launch_s},
          {"request_overhead_s", request_overhead_s},
          {"token_overhead_s", token_overhead_s},
          {"rank_sync_s", rank_sync_s}};
}

const std::vector<std::string>& Framework::host_time_keys() {
  static const std::vector<std::string> keys{"step_overhead_us", "graph_launch_us", "request_overhead_ms",
                                             "token_overhead_us", "rank_sync_us"};
  return keys;
}

std::filesystem::path framework_path(const std::string& name) {
  return core::shipped_path(name, "frameworks", ".yaml");
}

std::vector<std::string> framework_names() { return core::shipped_names("frameworks", ".yaml"); }

Framework load_framework(const std::string& name_or_path, std::span<const core::Override> overrides) {
  const auto path = framework_path(name_or_path);
  if (!std::filesystem::exists(path) && path.parent_path() == core::data_dir() / "frameworks") {
    const auto known = framework_names();
    throw core::InputError(
        core::Location("--framework"),
        fmt::format("no framework named '{}'{}; the shipped ones are {} (or give a path to a "
                    "framework file, configs/frameworks/README.md)",
                    name_or_path, core::did_you_mean(name_or_path, known), core::quoted_list(known)));
  }
  return Framework::load_file(path, overrides);
}

}  // namespace rdasim::serve
