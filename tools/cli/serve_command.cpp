// `rdasim serve MODEL --system FILE`: an LLM served on a system of RDAs or GPUs. A static batch
// (--batch, --input-len, --output-len: what Argonne measured), requests from a CSV file or a
// Poisson process, continuous or static batching as the framework says, several models switched
// in and out of device memory. Prints latency, time to first token, inter-token latency,
// throughput, energy per token and where the time went; --out writes report.json and a Perfetto
// trace with a track per request and per device.
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/text.h"
#include "sim/serve/server.h"
#include "tools/cli/commands.h"
#include "tools/pipeline/serving.h"

namespace rdasim::tools {

namespace {

struct ServeCliOptions {
  ServeInputs inputs;
  std::vector<std::string> sets, framework_sets;  ///< KEY=VALUE texts
  std::string input_range = "128:1024", output_range = "128:1024";
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

int run_serve(const ServeCliOptions& opt) {
  ServeInputs in = opt.inputs;
  for (const auto& text : opt.sets) in.system_sets.push_back(core::Override::parse(text));
  for (const auto& text : opt.framework_sets) in.framework_sets.push_back(core::Override::parse(text));
  if (in.rate) {
    in.input_range = parse_range("--input-range", opt.input_range);
    in.output_range = parse_range("--output-range", opt.output_range);
  }
  in.log_steps = true;
  ServeOutcome outcome;
  try {
    outcome = run_serving(in);
  } catch (const serve::DoesNotFit& e) {
    fmt::print(stderr, "rdasim: cannot serve: {}\n", e.what());
    return 1;
  }
  if (!opt.out.empty()) {
    const auto dir = prepare_out_dir(opt.out);
    core::write_json_file(dir / "report.json", outcome.report);
    core::write_text_file(dir / "trace.json", serve::serve_trace(outcome.result, outcome.devices).dump());
    core::log::info("wrote report.json and trace.json (open it in https://ui.perfetto.dev) in {}", dir.string());
  }
  if (opt.json) {
    outcome.report.erase("request_records");
    fmt::print("{}", core::to_json_text(outcome.report));
  } else {
    fmt::print("{}", outcome.summary);
  }
  return 0;
}
}  // namespace

void add_serve_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<ServeCliOptions>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve an LLM on a system of RDAs or GPUs: a static batch (--batch, --input-len, --output-len), requests from a "
      "CSV file (--requests) or a Poisson process (--rate), batched as the framework says, several models switched "
      "in and out of device memory (--models). Prints latency, time to first token, inter-token latency, throughput, "
      "energy per token and where the time went. Only the steps on a grid are simulated (powers of two in length and "
      "batch, decode batches halfway between too), each once; the rest are interpolated");
  auto* model = cmd->add_option("MODEL", opt->inputs.models,
                                "An LLM as `-p model=` of the llm workload takes it: a shipped name (rdasim workloads) "
                                "or a Hugging Face config.json")
                    ->expected(1);
  cmd->add_option("--models", opt->inputs.models,
                  "Instead of MODEL: several models, resident in the slower memory (DDR; host memory on GPUs), the "
                  "active ones cached in device memory; requests name theirs (a CSV's model column, or drawn "
                  "uniformly with --rate)")
      ->delimiter(',')
      ->excludes(model);
  auto* system =
      cmd->add_option("--system", opt->inputs.system,
                      "The system: a file (configs/systems/*.yaml) or a preset's name (sn40l-8, dgx-h100, ...)")
          ->type_name("FILE")
          ->required();
  cmd->add_option("--devices", opt->inputs.devices, "Replace the system's device count")
      ->check(CLI::Range(1, 4096))
      ->needs(system);
  cmd->add_option("--tp", opt->inputs.tp, "Tensor-parallel degree (default: every device over --pp)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--pp", opt->inputs.pp, "Pipeline stages")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--set", opt->sets, "Override a system key, e.g. --set interconnect.latency_us=1 (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--framework", opt->inputs.framework,
                  "sambaflow, trtllm, vllm, eager or a framework file (configs/frameworks/); default: the system's")
      ->type_name("NAME");
  cmd->add_option("--framework-set", opt->framework_sets,
                  "Override a framework key, e.g. --framework-set step_overhead_us=0 (repeatable)")
      ->type_name("KEY=VALUE");
  auto* batch = cmd->add_option("--batch", opt->inputs.batch, "A static batch of this many requests at time 0")
                    ->check(CLI::Range(1, 1 << 20));
  auto* input = cmd->add_option("--input-len", opt->inputs.input_len, "With --batch: prompt tokens per request")
                    ->check(CLI::Range(1, 1 << 24));
  auto* output = cmd->add_option("--output-len", opt->inputs.output_len,
                                 "With --batch: generated tokens per request (the first comes from the prefill)")
                     ->check(CLI::Range(1, 1 << 24));
  input->needs(batch);
  output->needs(batch);
  batch->needs(input)->needs(output);
  auto* requests = cmd->add_option("--requests", opt->inputs.requests,
                                   "Requests from a CSV file: arrival_s,input_len,output_len[,model]")
                       ->type_name("FILE.csv")
                       ->excludes(batch);
  auto* rate = cmd->add_option("--rate", opt->inputs.rate, "Poisson arrivals at this many requests per second")
                   ->check(CLI::PositiveNumber)
                   ->excludes(batch)
                   ->excludes(requests);
  cmd->add_option("--num-requests", opt->inputs.num_requests, "With --rate: how many requests")
      ->check(CLI::Range(1, 10000000))
      ->needs(rate)
      ->capture_default_str();
  cmd->add_option("--seed", opt->inputs.seed, "With --rate: the arrivals' and lengths' seed")
      ->needs(rate)
      ->capture_default_str();
  cmd->add_option("--input-range", opt->input_range, "With --rate: prompt lengths, uniform in LO:HI")
      ->needs(rate)
      ->capture_default_str();
  cmd->add_option("--output-range", opt->output_range, "With --rate: output lengths, uniform in LO:HI")
      ->needs(rate)
      ->capture_default_str();
  cmd->add_option("--max-batch", opt->inputs.max_batch,
                  "Requests in a batch at most (default: --batch, else 64); the KV cache's room may hold fewer")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--chunked-prefill", opt->inputs.chunked_prefill,
                  "Prefill prompts in pieces of this many tokens alongside the running batch's decode (0: whole)")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--slo-ttft", opt->inputs.slo_ttft,
                  "Goodput: a request meets its SLO with time to first token at most this")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--slo-tpot", opt->inputs.slo_tpot, "Goodput: ... and time per output token at most this")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", opt->inputs.precision,
                  "Weights and activations: bf16, fp16 (as bf16) or fp32 (GPUs only)")
      ->check(CLI::IsMember({"bf16", "fp16", "fp32"}))
      ->capture_default_str();
  cmd->add_flag("--analytic", opt->inputs.analytic,
                "RDA steps take the mapper's analytic time instead of the SystemC simulation (faster, rougher)");
  opt->inputs.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cmd->add_option("-j,--jobs", opt->inputs.jobs,
                  "Simulations at once: a step's distinct segments each in a worker process (results do not depend "
                  "on it)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--max-tokens", opt->inputs.max_tokens,
                  "The simulator's tokens per section at most (as `rdasim sim`): a longer section's chunk doubles")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_flag("--every-step", opt->inputs.every_step,
                "Time every distinct step on the system instead of interpolating between grid points");
  cmd->add_option("--vs", opt->inputs.vs,
                  "A system of GPUs to compare model switching with: one host link (the SN40L paper's figure) and "
                  "every GPU's in parallel (repeatable)")
      ->type_name("FILE");
  cmd->add_option("--out", opt->out, "Write report.json (with every request) and trace.json (Perfetto) here")
      ->type_name("DIR");
  cmd->add_flag("--json", opt->json, "Print report.json (without the per-request records) instead of the summary");
  cmd->callback([&run, opt] {
    if (opt->inputs.models.empty()) throw CLI::RequiredError("MODEL or --models");
    if (!opt->inputs.batch && opt->inputs.requests.empty() && !opt->inputs.rate) {
      throw CLI::RequiredError("--batch (with --input-len and --output-len), --requests or --rate");
    }
    run = [opt] { return run_serve(*opt); };
  });
}

}  // namespace rdasim::tools
