#include "tools/pipeline/paper_checks.h"

#include <map>

#include <fmt/format.h>

#include "arch/system.h"
#include "core/config.h"
#include "core/error.h"
#include "core/text.h"
#include "tools/pipeline/serving.h"
#include "workloads/llm.h"

namespace rdasim::tools {

std::vector<PaperCheck> load_paper_checks(const std::filesystem::path& path) {
  const auto root = core::ConfigNode::load_file(path);
  root.check_keys({"checks"});
  std::vector<PaperCheck> checks;
  static const std::vector<std::string> kinds{"fusion", "launch", "hbm_share", "switch_s", "switch_ratio"};
  static const std::vector<std::string> phases{"prefill", "decode"};
  for (const auto& node : root.at("checks").elements()) {
    node.check_keys({"name", "kind", "phase", "model", "system", "vs", "batch", "length", "published", "source"});
    PaperCheck c;
    c.name = node.at("name").as_string();
    c.kind = node.at("kind").as_choice(kinds);
    if (const auto n = node.find("phase")) c.phase = n->as_choice(phases);
    c.model = node.at("model").as_string();
    // Systems are named relative to the checks' file, as a system names its device file.
    c.system = (path.parent_path() / node.at("system").as_string()).lexically_normal().string();
    if (const auto n = node.find("vs")) c.vs = (path.parent_path() / n->as_string()).lexically_normal().string();
    if (c.kind == "switch_ratio" && c.vs.empty()) node.fail("a switch_ratio check needs `vs:`, a system of GPUs");
    if (const auto n = node.find("batch")) c.batch = static_cast<int>(n->as_int(core::Bounds::between(1, 1 << 20)));
    if (const auto n = node.find("length")) c.length = n->as_int(core::Bounds::between(1, 1 << 24));
    const auto published = node.at("published").elements();
    if (published.size() != 2) node.at("published").fail("expected [low, high]");
    c.published_lo = published[0].as_double(core::Bounds::at_least(0));
    c.published_hi = published[1].as_double(core::Bounds::at_least(c.published_lo));
    c.source = node.at("source").as_string();
    checks.push_back(std::move(c));
  }
  return checks;
}

namespace {

/// The check's step on its system, served as `rdasim serve` would with `framework_sets`.
serve::StepTime time_step(const workloads::LlmConfig& config, const PaperCheck& c,
                          const std::vector<core::Override>& framework_sets, int jobs, int max_tokens) {
  ServeInputs in;
  in.system = c.system;
  in.framework_sets = framework_sets;
  in.jobs = jobs;
  in.max_tokens = max_tokens;
  const ServedSystem served = served_system(in);
  workloads::LlmStep step;
  step.phase = c.phase == "prefill" ? workloads::LlmPhase::prefill : workloads::LlmPhase::decode;
  step.batch = c.batch;
  step.prompt = c.length;
  step.context = c.length;
  return step_timer(served.system, served.setup, {{config.name, config}})(config.name, step);
}

}  // namespace

void run_paper_checks(std::vector<PaperCheck>& checks, int jobs, int max_tokens) {
  // The fusion and launch checks of a shape share their baseline (fused, started by the RDA,
  // not looped): each distinct step is simulated once.
  std::map<std::string, serve::StepTime> timed;
  auto step_time = [&](const workloads::LlmConfig& config, const PaperCheck& c,
                       const std::vector<core::Override>& framework_sets) {
    std::string key = fmt::format("{}|{}|{}|{}|{}", c.system, config.name, c.phase, c.batch, c.length);
    for (const auto& o : framework_sets) key += fmt::format("|{}={}", o.path, o.value);
    auto found = timed.find(key);
    if (found == timed.end()) found = timed.emplace(key, time_step(config, c, framework_sets, jobs, max_tokens)).first;
    return found->second;
  };
  for (auto& c : checks) {
    const auto system = arch::SystemSpec::load_file(c.system);
    const auto config = workloads::load_llm_config(workloads::llm_config_path(c.model));
    const std::string shape = fmt::format("{} {} batch {} {} {}", config.name, c.phase, c.batch,
                                          c.phase == "prefill" ? "prompt" : "context", c.length);
    if (c.kind == "fusion") {
      const auto fused = step_time(config, c, {{"looped_layers", "false"}});
      const auto per_op = step_time(config, c, {{"looped_layers", "false"}, {"kernels", "per_op"}});
      c.rdasim = per_op.seconds / fused.seconds;
      c.detail = fmt::format("{}: {} one kernel per operator, {} fused", shape, core::format_si(per_op.seconds, "s"),
                             core::format_si(fused.seconds, "s"));
    } else if (c.kind == "launch") {
      const auto hardware = step_time(config, c, {{"looped_layers", "false"}});
      const auto host = step_time(config, c, {{"looped_layers", "false"}, {"launch", "host"}});
      c.rdasim = host.seconds / hardware.seconds;
      c.detail = fmt::format("{}: {} called by the host, {} started by the RDA", shape,
                             core::format_si(host.seconds, "s"), core::format_si(hardware.seconds, "s"));
    } else if (c.kind == "hbm_share") {
      const auto t = step_time(config, c, {});
      ServeSetup setup;
      setup.parallelism.tp = system.devices;
      const serve::ServedModel shard = served_model(config, setup);
      const double bytes = shard.weight_bytes + static_cast<double>(c.batch * c.length) * shard.kv_bytes_per_token;
      const double bandwidth = system.fabric->memory_tiers().front().bandwidth_gbps * 1e9;
      c.rdasim = bytes / (t.seconds * bandwidth);
      c.detail = fmt::format("{}: {} per socket in {} at {} peak", shape, core::format_bytes(bytes),
                             core::format_si(t.seconds, "s"), core::format_si(bandwidth, "B/s"));
    } else {
      const auto gpus = c.vs.empty() ? system : arch::SystemSpec::load_file(c.vs);
      const SwitchComparison s = compare_switching(config, 2.0, system, system.devices, gpus);
      c.rdasim = c.kind == "switch_s" ? s.rda_s : s.gpu_one_link_s / s.rda_s;
      c.detail = fmt::format("{} ({}) into HBM on {}: {}", config.name, core::format_bytes(s.bytes), system.name,
                             core::format_si(s.rda_s, "s"));
      if (c.kind == "switch_ratio") {
        c.detail += fmt::format("; {} over one host link of {}", core::format_si(s.gpu_one_link_s, "s"), s.gpu_system);
      }
    }
  }
}

core::Json to_json(const PaperCheck& c) {
  return {{"name", c.name},
          {"kind", c.kind},
          {"model", c.model},
          {"system", c.system},
          {"published", {c.published_lo, c.published_hi}},
          {"source", c.source},
          {"rdasim", c.rdasim},
          {"inside", c.inside()},
          {"detail", c.detail}};
}

}  // namespace rdasim::tools
