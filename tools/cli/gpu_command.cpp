// `rdasim gpu MODEL --gpu FILE`: the GPU baseline model of one model (or workload) on one GPU:
// end-to-end time, where it goes (kernels limited by arithmetic, by memory, the GPU waiting on
// the host), energy, and the costliest kernels. The comparison harness (`rdasim compare`)
// runs the same model.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "arch/system.h"
#include "core/config.h"
#include "core/error.h"
#include "sim/gpu/model.h"
#include "tools/cli/commands.h"
#include "tools/pipeline/models.h"
#include "tools/pipeline/system_run.h"

namespace rdasim::tools {

namespace {

struct GpuCliOptions {
  std::string model;
  std::vector<std::string> params;
  std::string gpu;
  std::string system;
  SystemSplit split;
  std::vector<std::string> sets;
  std::string precision = "bf16";
  bool fuse = false;
  bool concurrent = false;
  int members = 1;
  int top = 10;
  bool json = false;
};

std::string seconds_text(double s) {
  if (s >= 1) return fmt::format("{:.3f} s", s);
  if (s >= 1e-3) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.2f} us", s * 1e6);
}

int run_gpu_system(const GpuCliOptions& opt, const std::vector<core::Override>& overrides) {
  const auto system = arch::SystemSpec::load_file(opt.system, overrides, opt.split.devices);
  SystemRunOptions options;
  options.parallelism = opt.split.parallelism;
  options.micro_batches = opt.split.micro_batches;
  gpu::Options gpu_options;
  gpu_options.precision = opt.precision == "fp32" ? gpu::Precision::fp32 : gpu::Precision::bf16;
  gpu_options.fuse = opt.fuse;
  const auto run = estimate_on_gpu_system(load_model_argument(opt.model, opt.params), system, options, gpu_options,
                                          batch_rebuilder(opt.model, opt.params));
  if (opt.json) fmt::print("{}", core::to_json_text(run.to_json()));
  else fmt::print("{}", system_report_text(run));
  return 0;
}

int run_gpu(const GpuCliOptions& opt) {
  std::vector<core::Override> overrides;
  for (const auto& text : opt.sets) overrides.push_back(core::Override::parse(text));
  if (!opt.system.empty()) return run_gpu_system(opt, overrides);
  if (opt.gpu.empty()) throw core::InputError("give the GPU with --gpu FILE (or a system of GPUs with --system FILE)");
  const arch::GpuSpec spec = arch::GpuSpec::load_file(opt.gpu, overrides);
  const workloads::Workload workload = load_model_argument(opt.model, opt.params);
  gpu::Options options;
  options.precision = opt.precision == "fp32" ? gpu::Precision::fp32 : gpu::Precision::bf16;
  options.fuse = opt.fuse;
  options.members = opt.members;
  std::vector<gpu::Estimate> apps;
  for (const auto& graph : workload.apps) apps.push_back(gpu::estimate(graph, spec, options));
  gpu::Estimate total;
  if (opt.concurrent) {
    total = gpu::concurrent(apps, spec);
  } else {
    for (const auto& e : apps) total.append(e);
  }
  if (opt.json) {
    core::Json j{{"gpu", spec.to_json()},
                 {"model", opt.model},
                 {"precision", opt.precision},
                 {"fuse", opt.fuse},
                 {"applications", workload.apps.size()},
                 {"concurrent", opt.concurrent},
                 {"members", opt.members},
                 {"estimate", total.to_json(true)}};
    fmt::print("{}", core::to_json_text(j));
    return 0;
  }
  fmt::print("{} on {} ({}{}{}), {} application(s){}\n", opt.model, spec.name, opt.precision,
             opt.fuse ? ", fused" : ", eager", opt.members > 1 ? fmt::format(", {} members batched", opt.members) : "",
             workload.apps.size(),
             workload.apps.size() > 1 ? (opt.concurrent ? " as concurrent processes" : " one after another") : "");
  fmt::print("  time          {}\n", seconds_text(total.seconds));
  fmt::print("  kernels       {} ({} launches)\n", total.kernels.size(), total.launches);
  fmt::print("  on the GPU    {}: compute-limited {}, memory-limited {}\n", seconds_text(total.device_s),
             seconds_text(total.compute_s), seconds_text(total.memory_s));
  fmt::print("  host waits    {} of the GPU waiting for launches\n", seconds_text(total.wait_s));
  fmt::print("  work          {:.4g} GFLOP, {:.4g} GB of device memory traffic\n", total.flops / 1e9,
             total.bytes / 1e9);
  fmt::print("  energy        {:.4g} J\n", total.energy_j);
  fmt::print("  {}\n", total.verdict());
  if (opt.top > 0 && !total.kernels.empty()) {
    std::vector<const gpu::Kernel*> order;
    for (const auto& k : total.kernels) order.push_back(&k);
    std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->device_s > b->device_s; });
    order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(opt.top)));
    fmt::print("\n  {:<44} {:<7} {:>10} {:>10} {:>11} {:>9}\n", "kernel (longest first)", "class", "GFLOP", "MB",
               "device", "limit");
    for (const auto* k : order) {
      std::string name = k->name.size() > 44 ? k->name.substr(0, 41) + "..." : k->name;
      fmt::print("  {:<44} {:<7} {:>10.4g} {:>10.4g} {:>11} {:>9}\n", name, graphs::to_string(k->cls), k->flops / 1e9,
                 k->bytes / 1e6, seconds_text(k->device_s), gpu::to_string(k->limit));
    }
  }
  return 0;
}

}  // namespace

void add_gpu_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<GpuCliOptions>();
  auto* cmd = app.add_subcommand(
      "gpu",
      "Estimate a model on a GPU, kernel by kernel as PyTorch runs it (eager, or fused as a graph compiler would): "
      "time, kernels, compute- vs memory-limited time, host launch overhead, energy, the longest kernels");
  cmd->add_option("MODEL", opt->model,
                  "An ONNX model, a YAML graph or a built-in workload (several applications run one after another)")
      ->required();
  cmd->add_option("-p,--param", opt->params, "A workload parameter or symbolic dimension, e.g. -p batch=64")
      ->type_name("NAME=VALUE");
  auto* gpu = cmd->add_option("--gpu", opt->gpu, "GPU spec: a file (configs/gpu/*.yaml) or a preset's name (h100, ...)")
                  ->type_name("FILE|NAME");
  auto* system = cmd->add_option("--system", opt->system,
                                 "Instead of --gpu: a system of GPUs (configs/systems/dgx-*.yaml), the model sharded "
                                 "(--tp, --pp, --dp) or its applications spread over the GPUs, with NCCL-style "
                                 "collectives over NVLink/NVSwitch or PCIe")
                     ->type_name("FILE")
                     ->excludes(gpu);
  add_split_options(cmd, system, opt->split, true, "With --system: replace its GPU count");
  cmd->add_option("--set", opt->sets,
                  "Override a GPU spec key, e.g. --set framework.op_us=8, or with --system a system key (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--precision", opt->precision, "Data type of the run")
      ->check(CLI::IsMember({"bf16", "fp32"}))
      ->capture_default_str();
  cmd->add_flag("--fuse", opt->fuse, "Fuse element-wise chains into single kernels, as torch.compile does");
  cmd->add_flag("--concurrent", opt->concurrent,
                "Run a workload's applications as concurrent processes sharing the GPU instead of one after another");
  cmd->add_option("--members", opt->members, "Batch this many copies of the model into one (a batched ensemble)")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--top", opt->top, "How many of the longest kernels to list")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "Print the estimate with every kernel as JSON");
  cmd->callback([&run, opt] { run = [opt] { return run_gpu(*opt); }; });
}

}  // namespace rdasim::tools
