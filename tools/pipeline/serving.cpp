#include "tools/pipeline/serving.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/units.h"
#include "sim/gpu/model.h"
#include "sim/gpu/system.h"
#include "tools/pipeline/system_run.h"

namespace rdasim::tools {

void check_serve_setup(const arch::SystemSpec& system, const ServeSetup& setup) {
  const std::string kind = system.is_gpu() ? "gpu" : "rda";
  if (setup.framework.hardware != kind) {
    throw core::InputError(
        core::Location("--framework"),
        fmt::format("'{}' runs on {}s; the system '{}' holds {}s (configs/frameworks/README.md)", setup.framework.name,
                    setup.framework.hardware == "rda" ? "RDA" : "GPU", system.name, system.is_gpu() ? "GPU" : "RDA"));
  }
  const auto& p = setup.parallelism;
  if (p.devices() > system.devices) {
    throw core::InputError(core::Location(system.source),
                           fmt::format("tp {} x pp {} needs {} devices; the system '{}' has {} (--devices N)", p.tp,
                                       p.pp, p.devices(), system.name, system.devices));
  }
}

serve::ServedModel served_model(const workloads::LlmConfig& config, const ServeSetup& setup) {
  const double shards = setup.parallelism.tp * setup.parallelism.pp;
  return {config.name, static_cast<double>(config.parameters()) * setup.element_bytes / shards,
          config.kv_bytes_per_token(setup.element_bytes) / shards};
}

void set_memory(serve::ServeOptions& options, const arch::SystemSpec& system) {
  const double utilization = options.framework.memory_utilization;
  if (system.gpu) {
    options.tier = "hbm";
    options.memory_bytes = system.gpu->memory_gib * core::k_gib * utilization;
    options.load_bytes_per_s = system.host_bytes_per_s();
    options.load_path = fmt::format("host link (PCIe {}.0)", system.host.pcie_generation);
    return;
  }
  const auto& tiers = system.fabric->memory_tiers();
  if (tiers.empty()) {
    throw core::InputError(core::Location(system.device_file),
                           "the fabric has no off-chip memory tier to hold a model's weights and KV cache");
  }
  options.tier = tiers.front().name;
  options.memory_bytes = tiers.front().capacity_gib * core::k_gib * utilization;
  if (tiers.size() > 1) {
    options.load_bytes_per_s = tiers[1].bandwidth_gbps * 1e9 * tiers[1].efficiency;
    options.load_path = fmt::format("{} -> {}", tiers[1].name, tiers.front().name);
  } else {
    options.load_bytes_per_s = system.host_bytes_per_s();
    options.load_path = fmt::format("host link -> {}", tiers.front().name);
  }
}

namespace {

workloads::Workload step_workload(const workloads::LlmConfig& config, const workloads::LlmStep& step) {
  workloads::Workload w;
  w.apps.push_back(workloads::build_llm(config, step));
  return w;
}

serve::StepTime rda_step(const arch::SystemSpec& system, const ServeSetup& setup, const workloads::Workload& work) {
  SystemRunOptions options;
  options.parallelism = setup.parallelism;
  options.mode = setup.framework.fused ? "o1" : "o0";
  options.seed = setup.seed;
  options.simulate = setup.simulate;
  options.looped_layers = setup.framework.looped_layers;
  options.element_bytes = setup.element_bytes;
  const SystemRun run = run_on_system(work, system, options);
  serve::StepTime t;
  t.seconds = run.timeline.seconds;
  t.collective_s = run.timeline.link_s();
  for (const auto& d : run.timeline.devices) t.overlapped_s = std::max(t.overlapped_s, d.early_s);
  std::map<int, double> reconfig;
  for (const auto& s : run.segments) {
    if (!s.looped) reconfig[s.device] += s.reconfig_s;
  }
  for (const auto& [device, seconds] : reconfig) t.launch_s = std::max(t.launch_s, seconds);
  t.energy_j = run.energy_j;
  return t;
}

serve::StepTime gpu_step(const arch::SystemSpec& system, const ServeSetup& setup, const workloads::Workload& work) {
  SystemRunOptions options;
  options.parallelism = setup.parallelism;
  const SystemWork laid = prepare_system_work(work, system, options, {});
  gpu::Options g;
  g.precision = setup.element_bytes >= 4 ? gpu::Precision::fp32 : gpu::Precision::bf16;
  g.fuse = setup.framework.fused;
  g.cuda_graph = setup.framework.launch == serve::Launch::graph;
  const gpu::SystemEstimate e = gpu::estimate_system(laid.sharded->graph, system, g);
  serve::StepTime t;
  t.seconds = e.seconds;
  t.collective_s = e.timeline.link_s();
  std::map<int, double> waiting;
  for (std::size_t s = 0; s < e.segments.size(); ++s) waiting[laid.plan.segments[s].device] += e.segments[s].wait_s;
  for (const auto& [device, seconds] : waiting) t.launch_s = std::max(t.launch_s, seconds);
  t.energy_j = e.energy_j;
  return t;
}

}  // namespace

serve::StepTimer step_timer(const arch::SystemSpec& system, const ServeSetup& setup,
                            std::map<std::string, workloads::LlmConfig> models) {
  return [&system, setup, models = std::move(models)](const std::string& model, const workloads::LlmStep& step) {
    const auto work = step_workload(models.at(model), step);
    const serve::StepTime t = system.is_gpu() ? gpu_step(system, setup, work) : rda_step(system, setup, work);
    if (setup.progress) setup.progress(step, t);
    return t;
  };
}

SwitchComparison compare_switching(const workloads::LlmConfig& config, double element_bytes,
                                   const arch::SystemSpec& rda, int rda_devices, const arch::SystemSpec& gpus) {
  SwitchComparison c;
  c.model = config.name;
  c.bytes = static_cast<double>(config.parameters()) * element_bytes;
  serve::ServeOptions rda_memory;
  set_memory(rda_memory, rda);
  c.rda_s = c.bytes / rda_devices / rda_memory.load_bytes_per_s;
  c.gpu_system = gpus.name;
  c.gpu_one_link_s = c.bytes / gpus.host_bytes_per_s();
  c.gpu_all_links_s = c.bytes / (gpus.devices * gpus.host_bytes_per_s());
  return c;
}

}  // namespace rdasim::tools
