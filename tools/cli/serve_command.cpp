// `rdasim serve MODEL --system FILE`: an LLM served on a system of RDAs or GPUs. A static batch
// (--batch, --input-len, --output-len: what Argonne measured), requests from a CSV file or a
// Poisson process, continuous or static batching as the framework says, several models switched
// in and out of device memory. Prints latency, time to first token, inter-token latency,
// throughput, energy per token and where the time went; --out writes report.json and a Perfetto
// trace with a track per request and per device.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "arch/fabric.h"
#include "arch/summary.h"
#include "arch/system.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/text.h"
#include "core/units.h"
#include "graphs/op_registry.h"
#include "sim/serve/server.h"
#include "tools/cli/commands.h"
#include "tools/pipeline/serving.h"

namespace rdasim::tools {

namespace {

struct ServeCliOptions {
  std::vector<std::string> models;  ///< MODEL or --models
  std::string system;
  std::optional<int> devices;
  std::optional<int> tp;
  int pp = 1;
  std::vector<std::string> sets;
  std::string framework;
  std::vector<std::string> framework_sets;
  // A static batch ...
  std::optional<int> batch;
  std::int64_t input_len = 0, output_len = 0;
  // ... or arrivals.
  std::string requests;
  std::optional<double> rate;
  int num_requests = 100;
  std::uint64_t seed = 1;
  std::string input_range = "128:1024", output_range = "128:1024";
  std::optional<int> max_batch;
  int chunked_prefill = 0;
  double slo_ttft = 0, slo_tpot = 0;
  std::string precision = "bf16";
  bool analytic = false;
  bool every_step = false;
  std::vector<std::string> vs;
  bool json = false;
  std::string out;
};

serve::LengthRange parse_range(const std::string& option, const std::string& text) {
  const auto colon = text.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    serve::LengthRange r{std::stoll(text.substr(0, colon)), std::stoll(text.substr(colon + 1))};
    if (r.lo >= 1 && r.hi >= r.lo) return r;
  } catch (const std::exception&) {
  }
  throw core::InputError(
      core::Location(option),
      fmt::format("is '{}'; expected LO:HI, whole numbers of tokens with 1 <= LO <= HI", core::printable(text)));
}

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

double graph_flops(const graphs::Graph& g) {
  double flops = 0;
  for (graphs::OpId id = 0; id < static_cast<graphs::OpId>(g.ops().size()); ++id) flops += graphs::op_cost(g, id).flops;
  return flops;
}

int serve_on_system(const ServeCliOptions& opt) {
  std::vector<core::Override> overrides;
  for (const auto& text : opt.sets) overrides.push_back(core::Override::parse(text));
  const auto system = arch::SystemSpec::load_file(opt.system, overrides, opt.devices);
  std::string framework_name = opt.framework;
  if (framework_name.empty()) {
    if (system.framework.empty()) {
      throw core::InputError(core::Location(system.source),
                             "names no serving framework (`framework:`); give --framework NAME");
    }
    framework_name = system.framework;
  }
  std::vector<core::Override> framework_overrides;
  for (const auto& text : opt.framework_sets) framework_overrides.push_back(core::Override::parse(text));

  ServeSetup setup;
  setup.framework = serve::load_framework(framework_name, framework_overrides);
  setup.parallelism.tp = opt.tp.value_or(system.devices / opt.pp);
  setup.parallelism.pp = opt.pp;
  setup.element_bytes = opt.precision == "fp32" ? 4.0 : 2.0;
  if (!system.is_gpu() && opt.precision != "bf16") {
    throw core::InputError(core::Location("--precision"),
                           fmt::format("is {}; an RDA computes in its PCUs' precision (bf16)", opt.precision));
  }
  setup.simulate = !opt.analytic;
  check_serve_setup(system, setup);

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
    requests = serve::poisson_requests(*opt.rate, opt.num_requests, parse_range("--input-range", opt.input_range),
                                       parse_range("--output-range", opt.output_range),
                                       names.size() > 1 ? names : std::vector<std::string>{}, opt.seed);
    options.max_batch = opt.max_batch.value_or(64);
    shape = fmt::format("{} Poisson requests at {}/s (seed {})", opt.num_requests, *opt.rate, opt.seed);
  }

  const auto start = std::chrono::steady_clock::now();
  int timed = 0;
  setup.progress = [&timed, start](const workloads::LlmStep& step, const serve::StepTime& t) {
    ++timed;
    core::log::info("step {}: {} batch {} {} {} -> {} ({:.1f} s)", timed,
                    step.phase == workloads::LlmPhase::prefill ? "prefill" : "decode", step.batch,
                    step.phase == workloads::LlmPhase::prefill ? "prompt" : "context",
                    step.phase == workloads::LlmPhase::prefill ? step.prompt : step.context, seconds_text(t.seconds),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  serve::StepTable table(step_timer(system, setup, configs), !opt.every_step);
  const serve::ServeResult result = serve::serve(requests, models, options, table);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Bounds of the run's first model: a decode step over its weights (and the cache at the mean
  // context of its decode steps) at one device's peak memory bandwidth; a prefill at peak FLOPs.
  const Bounds bounds = device_bounds(system);
  const serve::ServedModel& first = models.front();
  double decode_steps = 0, decode_s = 0, context = 0, prefill_bound = 0, prefill_device = 0, prefill_links = 0;
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
  core::Json prefill_rows = core::Json::array();
  for (const auto& s : result.steps) {
    if (s.kind != serve::StepKind::prefill) continue;
    workloads::LlmStep step;
    step.phase = workloads::LlmPhase::prefill;
    step.batch = s.batch;
    step.prompt = s.length;
    const double flops = graph_flops(workloads::build_llm(configs.at(s.model), step));
    prefill_bound = flops / (setup.parallelism.tp * setup.parallelism.pp * bounds.peak_flops);
    prefill_device = s.device.seconds;
    prefill_links = s.device.collective_s;
    if (prefill_rows.size() < 8) {
      prefill_rows.push_back({{"batch", s.batch},
                              {"prompt", s.length},
                              {"flops", flops},
                              {"device_s", s.device.seconds},
                              {"compute_bound_s", prefill_bound},
                              {"collective_s", s.device.collective_s}});
    }
    if (prefill_rows.size() >= 8) break;
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

  if (!opt.out.empty()) {
    const auto dir = prepare_out_dir(opt.out);
    core::write_json_file(dir / "report.json", report);
    core::write_text_file(dir / "trace.json",
                          serve::serve_trace(result, setup.parallelism.tp * setup.parallelism.pp).dump());
    core::log::info("wrote report.json and trace.json (open it in https://ui.perfetto.dev) in {}", dir.string());
  }
  if (opt.json) {
    report.erase("request_records");
    fmt::print("{}", core::to_json_text(report));
    return 0;
  }
  const auto& time = report["time"];
  fmt::print("{} on {} ({} x {}, tp {} x pp {}), {}: {}\n", fmt::join(names, ", "), system.name,
             setup.parallelism.tp * setup.parallelism.pp, system.device_name(), setup.parallelism.tp,
             setup.parallelism.pp, setup.framework.name, shape);
  auto row = [](const char* label, const std::string& value) { fmt::print("  {:<24} {}\n", label, value); };
  row("latency", fmt::format("{} end to end ({} of it before the first token)", seconds_text(result.seconds),
                             seconds_text(report["ttft_s"].get<double>())));
  const auto& itl = report["itl_s"];
  row("inter-token latency",
      fmt::format("mean {}, p50 {}, p99 {}", seconds_text(itl["mean"].get<double>()),
                  seconds_text(itl["p50"].get<double>()), seconds_text(itl["p99"].get<double>())));
  if (requests.size() > 1 && !opt.batch) {
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
  fmt::print("\n  where the time went\n");
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
    fmt::print("\n  decode step {} on average = {:.2f}x its weights over one device's peak {} bandwidth ({})\n",
               seconds_text(decode_s / decode_steps), decode_s / decode_steps / weights_bound, options.tier,
               seconds_text(weights_bound));
  }
  if (prefill_bound > 0) {
    fmt::print(
        "  last prefill step {} on the devices = {:.2f}x its FLOPs over the devices' peak ({}); without its "
        "link ops ({}) {:.2f}x\n",
        seconds_text(prefill_device), prefill_device / prefill_bound, seconds_text(prefill_bound),
        seconds_text(prefill_links), (prefill_device - prefill_links) / prefill_bound);
  }
  for (const auto& c : switching) {
    fmt::print("  switching {} ({}): {} here; {} {} over one host link ({:.1f}x), {} over all ({:.1f}x)\n",
               c["model"].get<std::string>(), core::format_bytes(c["bytes"].get<double>()),
               seconds_text(c["rda_s"].get<double>()), c["gpu_system"].get<std::string>(),
               seconds_text(c["gpu_one_link_s"].get<double>()), c["ratio_one_link"].get<double>(),
               seconds_text(c["gpu_all_links_s"].get<double>()), c["ratio_all_links"].get<double>());
  }
  fmt::print("\n  {} steps, {} timed on the system{}; {:.1f} s wall\n", result.steps.size(), result.steps_timed,
             table.interpolates() ? " (the rest interpolated)" : "", wall);
  return 0;
}

int run_serve(const ServeCliOptions& opt) {
  try {
    return serve_on_system(opt);
  } catch (const serve::DoesNotFit& e) {
    fmt::print(stderr, "rdasim: cannot serve: {}\n", e.what());
    return 1;
  }
}

}  // namespace

void add_serve_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<ServeCliOptions>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve an LLM on a system of RDAs or GPUs: a static batch (--batch, --input-len, --output-len), requests from a "
      "CSV file (--requests) or a Poisson process (--rate), batched as the framework says, several models switched "
      "in and out of device memory (--models). Prints latency, time to first token, inter-token latency, throughput, "
      "energy per token and where the time went. Each distinct step is simulated once; steps between powers of two "
      "in batch and length are interpolated");
  auto* model = cmd->add_option("MODEL", opt->models,
                                "An LLM as `-p model=` of the llm workload takes it: a shipped name (rdasim workloads) "
                                "or a Hugging Face config.json")
                    ->expected(1);
  cmd->add_option("--models", opt->models,
                  "Instead of MODEL: several models, resident in the slower memory (DDR; host memory on GPUs), the "
                  "active ones cached in device memory; requests name theirs (a CSV's model column, or drawn "
                  "uniformly with --rate)")
      ->delimiter(',')
      ->excludes(model);
  auto* system =
      cmd->add_option("--system", opt->system, "The system (configs/systems/*.yaml)")->type_name("FILE")->required();
  cmd->add_option("--devices", opt->devices, "Replace the system's device count")
      ->check(CLI::Range(1, 4096))
      ->needs(system);
  cmd->add_option("--tp", opt->tp, "Tensor-parallel degree (default: every device over --pp)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--pp", opt->pp, "Pipeline stages")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--set", opt->sets, "Override a system key, e.g. --set interconnect.latency_us=1 (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--framework", opt->framework,
                  "sambaflow, trtllm, vllm, eager or a framework file (configs/frameworks/); default: the system's")
      ->type_name("NAME");
  cmd->add_option("--framework-set", opt->framework_sets,
                  "Override a framework key, e.g. --framework-set step_overhead_us=0 (repeatable)")
      ->type_name("KEY=VALUE");
  auto* batch = cmd->add_option("--batch", opt->batch, "A static batch of this many requests at time 0")
                    ->check(CLI::Range(1, 1 << 20));
  auto* input = cmd->add_option("--input-len", opt->input_len, "With --batch: prompt tokens per request")
                    ->check(CLI::Range(1, 1 << 24));
  auto* output = cmd->add_option("--output-len", opt->output_len,
                                 "With --batch: generated tokens per request (the first comes from the prefill)")
                     ->check(CLI::Range(1, 1 << 24));
  input->needs(batch);
  output->needs(batch);
  batch->needs(input)->needs(output);
  auto* requests =
      cmd->add_option("--requests", opt->requests, "Requests from a CSV file: arrival_s,input_len,output_len[,model]")
          ->type_name("FILE.csv")
          ->excludes(batch);
  auto* rate = cmd->add_option("--rate", opt->rate, "Poisson arrivals at this many requests per second")
                   ->check(CLI::PositiveNumber)
                   ->excludes(batch)
                   ->excludes(requests);
  cmd->add_option("--num-requests", opt->num_requests, "With --rate: how many requests")
      ->check(CLI::Range(1, 10000000))
      ->needs(rate)
      ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "With --rate: the arrivals' and lengths' seed")
      ->needs(rate)
      ->capture_default_str();
  cmd->add_option("--input-range", opt->input_range, "With --rate: prompt lengths, uniform in LO:HI")
      ->needs(rate)
      ->capture_default_str();
  cmd->add_option("--output-range", opt->output_range, "With --rate: output lengths, uniform in LO:HI")
      ->needs(rate)
      ->capture_default_str();
  cmd->add_option("--max-batch", opt->max_batch,
                  "Requests in a batch at most (default: --batch, else 64); the KV cache's room may hold fewer")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--chunked-prefill", opt->chunked_prefill,
                  "Prefill prompts in pieces of this many tokens alongside the running batch's decode (0: whole)")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--slo-ttft", opt->slo_ttft, "Goodput: a request meets its SLO with time to first token at most this")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--slo-tpot", opt->slo_tpot, "Goodput: ... and time per output token at most this")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", opt->precision, "Weights and activations: bf16, fp16 (as bf16) or fp32 (GPUs only)")
      ->check(CLI::IsMember({"bf16", "fp16", "fp32"}))
      ->capture_default_str();
  cmd->add_flag("--analytic", opt->analytic,
                "RDA steps take the mapper's analytic time instead of the SystemC simulation (faster, rougher)");
  cmd->add_flag("--every-step", opt->every_step,
                "Time every distinct step on the system instead of interpolating between powers of two");
  cmd->add_option("--vs", opt->vs,
                  "A system of GPUs to compare model switching with: one host link (the SN40L paper's figure) and "
                  "every GPU's in parallel (repeatable)")
      ->type_name("FILE");
  cmd->add_option("--out", opt->out, "Write report.json (with every request) and trace.json (Perfetto) here")
      ->type_name("DIR");
  cmd->add_flag("--json", opt->json, "Print report.json (without the per-request records) instead of the summary");
  cmd->callback([&run, opt] {
    if (opt->models.empty()) throw CLI::RequiredError("MODEL or --models");
    if (!opt->batch && opt->requests.empty() && !opt->rate) {
      throw CLI::RequiredError("--batch (with --input-len and --output-len), --requests or --rate");
    }
    run = [opt] { return run_serve(*opt); };
  });
}

}  // namespace rdasim::tools
