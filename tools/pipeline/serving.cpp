#include "tools/pipeline/serving.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arch/fabric.h"
#include "arch/summary.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "core/units.h"
#include "graphs/op_registry.h"
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
  options.jobs = setup.jobs;
  options.tokens.max_tokens = setup.max_tokens;
  options.looped_layers = setup.framework.looped_layers;
  options.element_bytes = setup.element_bytes;
  const SystemRun run = run_on_system(work, system, options);
  serve::StepTime t;
  t.seconds = run.timeline.seconds;
  t.collective_s = run.timeline.link_s();
  for (const auto& d : run.timeline.devices) t.overlapped_s = std::max(t.overlapped_s, d.early_s);
  std::map<int, double> reconfig, calls;
  for (const auto& s : run.segments) {
    if (!s.looped) reconfig[s.device] += s.reconfig_s;
    for (const auto& tenant : s.mapping->tenants) calls[s.device] += static_cast<double>(tenant.sections.size());
  }
  for (const auto& [device, seconds] : reconfig) t.launch_s = std::max(t.launch_s, seconds);
  // Sections the host calls one by one: the chip waits for each call (the busiest socket's).
  if (setup.framework.launch == serve::Launch::host) {
    double most = 0;
    for (const auto& [device, n] : calls) most = std::max(most, n);
    t.seconds += most * setup.framework.kernel_launch_s;
    t.launch_s += most * setup.framework.kernel_launch_s;
  }
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

namespace {

std::string seconds_text(double s) { return core::format_si(s, "s"); }

/// The bounds a step cannot beat on one device: weights and cache over its peak memory
/// bandwidth (decode), FLOPs over the system's peak (prefill).
struct Bounds {
  double memory_bytes_per_s = 0;  ///< one device's peak
  double peak_flops = 0;          ///< one device's
};

Bounds device_bounds(const arch::SystemSpec& system) {
  if (system.gpu) return {system.gpu->memory_bytes_per_s(), system.gpu->peak.bf16_tflops * 1e12};
  const arch::Summary s = arch::summarize(arch::Fabric(*system.fabric));
  return {system.fabric->memory_tiers().front().bandwidth_gbps * 1e9, s.peak_flops};
}

}  // namespace

ServedSystem served_system(const ServeInputs& opt) {
  ServedSystem served{arch::SystemSpec::load_file(opt.system, opt.system_sets, opt.devices), {}};
  const auto& system = served.system;
  std::string framework_name = opt.framework;
  if (framework_name.empty()) {
    if (system.framework.empty()) {
      throw core::InputError(core::Location(system.source),
                             "names no serving framework (`framework:`); give --framework NAME");
    }
    framework_name = system.framework;
  }
  ServeSetup& setup = served.setup;
  setup.framework = serve::load_framework(framework_name, opt.framework_sets);
  setup.parallelism.tp = opt.tp.value_or(system.devices / opt.pp);
  setup.parallelism.pp = opt.pp;
  setup.element_bytes = opt.precision == "fp32" ? 4.0 : 2.0;
  if (!system.is_gpu() && opt.precision != "bf16") {
    throw core::InputError(core::Location("--precision"),
                           fmt::format("is {}; an RDA computes in its PCUs' precision (bf16)", opt.precision));
  }
  setup.simulate = !opt.analytic;
  setup.jobs = opt.jobs;
  setup.max_tokens = opt.max_tokens;
  check_serve_setup(system, setup);
  return served;
}

ServeOutcome run_serving(const ServeInputs& opt) {
  ServedSystem served = served_system(opt);
  const arch::SystemSpec& system = served.system;
  ServeSetup& setup = served.setup;

  std::vector<arch::SystemSpec> baselines;  // --vs
  for (const auto& gpu_file : opt.vs) {
    baselines.push_back(arch::SystemSpec::load_file(gpu_file));
    if (!baselines.back().is_gpu()) throw core::InputError(core::Location(gpu_file), "--vs takes a system of GPUs");
  }

  std::map<std::string, workloads::LlmConfig> configs;
  std::vector<serve::ServedModel> models;
  std::vector<std::string> names;
  for (const auto& m : opt.models) {
    auto config = workloads::load_llm_config(workloads::llm_config_path(m));
    names.push_back(config.name);
    models.push_back(served_model(config, setup));
    configs.emplace(config.name, std::move(config));
  }

  serve::ServeOptions options;
  options.framework = setup.framework;
  options.chunked_prefill_tokens = opt.chunked_prefill;
  options.slo = {opt.slo_ttft, opt.slo_tpot};
  options.ranks = setup.parallelism.tp;
  set_memory(options, system);

  std::vector<serve::Request> requests;
  std::string shape;
  if (opt.batch) {
    requests = serve::static_batch(*opt.batch, opt.input_len, opt.output_len);
    options.max_batch = opt.max_batch.value_or(*opt.batch);
    shape = fmt::format("a static batch of {} ({} + {} tokens)", *opt.batch, opt.input_len, opt.output_len);
    serve::check_batch_fits(models.front(), std::min(*opt.batch, options.max_batch), opt.input_len + opt.output_len,
                            options);
  } else if (!opt.requests.empty()) {
    requests = serve::read_requests_csv(opt.requests, names);
    options.max_batch = opt.max_batch.value_or(64);
    shape = fmt::format("{} requests from {}", requests.size(), opt.requests);
  } else {
    if (!opt.rate) throw core::InputError("serve: give a static batch, a requests file or a rate");
    requests = serve::poisson_requests(*opt.rate, opt.num_requests, opt.input_range, opt.output_range,
                                       names.size() > 1 ? names : std::vector<std::string>{}, opt.seed);
    options.max_batch = opt.max_batch.value_or(64);
    shape = fmt::format("{} Poisson requests at {}/s (seed {})", opt.num_requests, *opt.rate, opt.seed);
  }

  const auto start = std::chrono::steady_clock::now();
  int timed = 0;
  setup.progress = [&timed, start, log = opt.log_steps](const workloads::LlmStep& step, const serve::StepTime& t) {
    ++timed;
    if (!log) return;
    core::log::info("step {}: {} batch {} {} {} -> {} ({:.1f} s)", timed,
                    step.phase == workloads::LlmPhase::prefill ? "prefill" : "decode", step.batch,
                    step.phase == workloads::LlmPhase::prefill ? "prompt" : "context",
                    step.phase == workloads::LlmPhase::prefill ? step.prompt : step.context, seconds_text(t.seconds),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  serve::StepTimer timer = step_timer(system, setup, configs);
  if (opt.list_steps != nullptr) {  // listed, not timed: a placeholder millisecond each
    timer = [list = opt.list_steps](const std::string& model, const workloads::LlmStep& step) {
      list->emplace_back(model, step);
      return serve::StepTime{1e-3, 0, 0, 0, 0};
    };
  }
  serve::StepTable table(std::move(timer), !opt.every_step, opt.list_steps != nullptr ? nullptr : opt.step_memo);
  const serve::ServeResult result = serve::serve(requests, models, options, table);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Bounds of the run's first model: a decode step over its weights (and the cache at the mean
  // context of its decode steps) at one device's peak memory bandwidth; a prefill at peak FLOPs.
  const Bounds bounds = device_bounds(system);
  const serve::ServedModel& first = models.front();
  double decode_steps = 0, decode_s = 0, context = 0;
  for (const auto& s : result.steps) {
    if (s.kind == serve::StepKind::decode && s.model == first.name) {
      ++decode_steps;
      decode_s += s.device.seconds;
      context += static_cast<double>(s.length * s.batch);
    }
  }
  const double mean_context = decode_steps > 0 ? context / decode_steps : 0;
  const double decode_bound =
      (first.weight_bytes + mean_context * first.kv_bytes_per_token) / bounds.memory_bytes_per_s;
  // A decode step runs the pipeline's stages one after another: each reads its shard.
  const double weights_bound = first.weight_bytes * setup.parallelism.pp / bounds.memory_bytes_per_s;
  // The first prefill steps (a static batch has one) against their FLOPs at the devices' peak.
  core::Json prefill_rows = core::Json::array();
  for (const auto& s : result.steps) {
    if (!opt.bounds) break;
    if (s.kind != serve::StepKind::prefill) continue;
    workloads::LlmStep step;
    step.phase = workloads::LlmPhase::prefill;
    step.batch = s.batch;
    step.prompt = s.length;
    const double flops = graph_flops(workloads::build_llm(configs.at(s.model), step));
    prefill_rows.push_back(
        {{"batch", s.batch},
         {"prompt", s.length},
         {"flops", flops},
         {"device_s", s.device.seconds},
         {"compute_bound_s", flops / (setup.parallelism.tp * setup.parallelism.pp * bounds.peak_flops)},
         {"collective_s", s.device.collective_s},
         {"overlapped_s", s.device.overlapped_s}});
    if (prefill_rows.size() == 8) break;
  }

  core::Json report = serve::to_json(result, options, true);
  report["model"] = names.size() == 1 ? core::Json(names.front()) : core::Json(names);
  report["system"] = system.name;
  report["devices"] = setup.parallelism.tp * setup.parallelism.pp;
  report["parallelism"] = {{"tp", setup.parallelism.tp}, {"pp", setup.parallelism.pp}};
  report["framework"] = setup.framework.to_json();
  report["timing"] = system.is_gpu() ? "gpu model" : (setup.simulate ? "systemc" : "analytic");
  report["memory"] = {{"tier", options.tier},
                      {"bytes_per_device", options.memory_bytes},
                      {"weights_per_device", first.weight_bytes},
                      {"kv_bytes_per_token_per_device", first.kv_bytes_per_token},
                      {"load_path", options.load_path},
                      {"load_bytes_per_s", options.load_bytes_per_s}};
  report["bounds"] = {{"decode_steps", decode_steps},
                      {"decode_step_s", decode_steps > 0 ? decode_s / decode_steps : 0},
                      {"decode_weights_bound_s", weights_bound},
                      {"decode_memory_bound_s", decode_bound},
                      {"prefill", prefill_rows}};
  core::Json switching = core::Json::array();
  for (const auto& gpus : baselines) {
    for (const auto& name : names) {
      if (system.is_gpu()) break;
      const auto c = compare_switching(configs.at(name), setup.element_bytes, system,
                                       setup.parallelism.tp * setup.parallelism.pp, gpus);
      switching.push_back({{"model", c.model},
                           {"bytes", c.bytes},
                           {"rda_s", c.rda_s},
                           {"gpu_system", c.gpu_system},
                           {"gpu_one_link_s", c.gpu_one_link_s},
                           {"gpu_all_links_s", c.gpu_all_links_s},
                           {"ratio_one_link", c.gpu_one_link_s / c.rda_s},
                           {"ratio_all_links", c.gpu_all_links_s / c.rda_s}});
    }
  }
  if (!switching.empty()) report["switching_comparison"] = switching;
  report["wall_s"] = wall;

  std::string out;
  const auto& time = report["time"];
  out += fmt::format("{} on {} ({} x {}, tp {} x pp {}), {}: {}\n", fmt::join(names, ", "), system.name,
                     setup.parallelism.tp * setup.parallelism.pp, system.device_name(), setup.parallelism.tp,
                     setup.parallelism.pp, setup.framework.name, shape);
  auto row = [&out](const char* label, const std::string& value) { out += fmt::format("  {:<24} {}\n", label, value); };
  row("latency", fmt::format("{} end to end ({} of it before the first token)", seconds_text(result.seconds),
                             seconds_text(report["ttft_s"].get<double>())));
  const auto& itl = report["itl_s"];
  row("inter-token latency",
      fmt::format("mean {}, p50 {}, p99 {}", seconds_text(itl["mean"].get<double>()),
                  seconds_text(itl["p50"].get<double>()), seconds_text(itl["p99"].get<double>())));
  if (requests.size() > 1 && !opt.batch.has_value()) {
    const auto& e2e = report["e2e_s"];
    row("request latency", fmt::format("p50 {}, p90 {}, p99 {}", seconds_text(e2e["p50"].get<double>()),
                                       seconds_text(e2e["p90"].get<double>()), seconds_text(e2e["p99"].get<double>())));
    const auto& ttft = report["ttft"];
    row("time to first token", fmt::format("p50 {}, p99 {}", seconds_text(ttft["p50"].get<double>()),
                                           seconds_text(ttft["p99"].get<double>())));
  }
  row("output tokens/s", fmt::format("{:.1f}", report["output_tok_s"].get<double>()));
  row("throughput tokens/s",
      fmt::format("{:.1f} (input and output tokens over the latency)", report["throughput_tok_s"].get<double>()));
  if (result.energy_j > 0) {
    row("energy per output token", core::format_si(report["energy_per_token_j"].get<double>(), "J"));
  }
  if (report.contains("slo")) {
    const auto& slo = report["slo"];
    row("SLO met", fmt::format("{} of {} requests ({:.1f}%), goodput {:.2f} requests/s", slo["met"].get<int>(),
                               requests.size(), 100 * slo["share"].get<double>(), slo["goodput_req_s"].get<double>()));
  }
  out += fmt::format("\n  where the time went\n");
  row("prefill", seconds_text(time["prefill_s"].get<double>()));
  row("decode", seconds_text(time["decode_s"].get<double>()));
  row("  of which link ops",
      fmt::format("{} ({} of it overlapped by work needing none of their results)",
                  seconds_text(time["collective_s"].get<double>()), seconds_text(time["overlapped_s"].get<double>())));
  row(system.is_gpu() ? "  of which host-bound" : "  of which reconfiguring",
      seconds_text(time["launch_s"].get<double>()));
  row("model switching",
      fmt::format("{} ({} loads over {})", seconds_text(result.switching_s), result.switches, options.load_path));
  row("framework per step", seconds_text(result.overhead_s));
  row("framework per request", seconds_text(setup.framework.request_overhead_s));
  row("idle (no request)", seconds_text(result.idle_s));
  if (decode_steps > 0) {
    out += fmt::format("\n  decode step {} on average = {:.2f}x its weights over one device's peak {} bandwidth ({})\n",
                       seconds_text(decode_s / decode_steps), decode_s / decode_steps / weights_bound, options.tier,
                       seconds_text(weights_bound));
  }
  if (!prefill_rows.empty()) {
    const auto& p = prefill_rows.front();
    const double device = p["device_s"].get<double>(), bound = p["compute_bound_s"].get<double>();
    out += fmt::format(
        "  first prefill step {} on the devices = {:.2f}x its FLOPs over the devices' peak ({}); its link ops "
        "{}, {} of them under its compute\n",
        seconds_text(device), device / bound, seconds_text(bound), seconds_text(p["collective_s"].get<double>()),
        seconds_text(p["overlapped_s"].get<double>()));
  }
  for (const auto& c : switching) {
    out += fmt::format("  switching {} ({}): {} here; {} {} over one host link ({:.1f}x), {} over all ({:.1f}x)\n",
                       c["model"].get<std::string>(), core::format_bytes(c["bytes"].get<double>()),
                       seconds_text(c["rda_s"].get<double>()), c["gpu_system"].get<std::string>(),
                       seconds_text(c["gpu_one_link_s"].get<double>()), c["ratio_one_link"].get<double>(),
                       seconds_text(c["gpu_all_links_s"].get<double>()), c["ratio_all_links"].get<double>());
  }
  out += fmt::format("\n  {} steps, {} timed on the system{}; {:.1f} s wall\n", result.steps.size(), result.steps_timed,
                     table.interpolates() ? " (the rest interpolated)" : "", wall);
  ServeOutcome outcome;
  outcome.summary = std::move(out);
  outcome.report = std::move(report);
  outcome.result = result;
  outcome.devices = setup.parallelism.tp * setup.parallelism.pp;
  return outcome;
}

}  // namespace rdasim::tools
