// `rdasim compare --arch FILE --gpu FILE... --out DIR`: the comparison harness. Maps and
// simulates each science workload on the fabric, models it on each GPU (eager and fused; an
// ensemble's members one after another, as concurrent processes and batched), uses measured GPU
// times where results/gpu/<gpu>.csv has them, and writes compare.csv, compare.md, the command
// that made them (command.txt) and, through tools/plot/compare.py, the plots.
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "arch/system.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/text.h"
#include "mapper/infeasible.h"
#include "tools/cli/commands.h"
#include "tools/pipeline/compare.h"
#include "tools/pipeline/system_compare.h"

namespace rdasim::tools {

namespace {

struct CompareCliOptions {
  std::string arch;
  std::vector<std::string> sets;
  std::vector<std::string> gpus;
  std::string system;                    ///< instead of arch: a system of RDAs
  std::vector<std::string> gpu_systems;  ///< with system: systems of GPUs
  SystemSplit split;
  bool simulate = true;
  std::vector<std::string> cases;
  std::vector<int> batches;
  std::string precision = "bf16";
  std::string measured = "results/gpu";
  std::uint64_t seed = 1;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string out;
  bool plots = true;
};

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

extern "C" char** environ;

/// Runs a program with arguments (no shell, so any path is safe); true when it exits with 0.
bool run_program(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

void draw_plots(const std::string& script_name, const std::filesystem::path& dir) {
  // Installed as <prefix>/share/rdasim/plot/<script>; the build copies it to <build>/share.
  const std::filesystem::path script = core::data_dir() / "plot" / script_name;
  if (!std::filesystem::is_regular_file(script)) {
    core::log::warn(
        "plots not drawn: {} is missing (copied there from tools/plot/{} when the build is configured); the CSV "
        "and tables are written",
        script.string(), script_name);
  } else if (!run_program({"/usr/bin/python3", script.string(), dir.string()})) {
    core::log::warn(
        "plots not drawn: /usr/bin/python3 {} {} failed (it needs Debian's python3-matplotlib); the CSV and tables "
        "are written",
        script.string(), dir.string());
  }
}

namespace {

/// The command line that reproduces this run, options in a fixed order.
std::string command_line(const CompareCliOptions& opt) {
  std::string cmd = "rdasim compare --arch " + opt.arch;
  for (const auto& s : opt.sets) cmd += " --set " + s;
  for (const auto& g : opt.gpus) cmd += " --gpu " + g;
  if (!opt.cases.empty()) cmd += " --workloads " + join(opt.cases, " ");
  if (!opt.batches.empty()) {
    std::vector<std::string> b;
    for (int v : opt.batches) b.push_back(std::to_string(v));
    cmd += " --batch " + join(b, " ");
  }
  cmd +=
      fmt::format(" --precision {} --measured {} --seed {} --out {}", opt.precision, opt.measured, opt.seed, opt.out);
  if (!opt.plots) cmd += " --no-plots";
  return cmd;
}

/// The command line of a system comparison, options in a fixed order.
std::string system_command_line(const CompareCliOptions& opt) {
  std::string cmd = "rdasim compare --system " + opt.system;
  for (const auto& g : opt.gpu_systems) cmd += " --gpu-system " + g;
  const auto& p = opt.split.parallelism;
  if (opt.split.devices) cmd += fmt::format(" --devices {}", *opt.split.devices);
  if (p.devices() > 1) cmd += fmt::format(" --tp {} --pp {} --dp {}", p.tp, p.pp, p.dp);
  if (opt.split.micro_batches > 1) cmd += fmt::format(" --micro-batches {}", opt.split.micro_batches);
  if (!opt.cases.empty()) cmd += " --workloads " + join(opt.cases, ",");
  if (!opt.batches.empty()) {
    std::vector<std::string> b;
    for (int v : opt.batches) b.push_back(std::to_string(v));
    cmd += " --batch " + join(b, ",");
  }
  cmd += fmt::format(" --precision {} --seed {}{} --out {}", opt.precision, opt.seed, opt.simulate ? "" : " --analytic",
                     opt.out);
  return cmd;
}

int run_system_compare(const CompareCliOptions& opt) {
  if (opt.gpu_systems.empty()) throw core::InputError("--system needs at least one --gpu-system FILE to compare with");
  const auto rda = arch::SystemSpec::load_file(opt.system, {}, opt.split.devices);
  std::vector<arch::SystemSpec> gpus;
  for (const auto& file : opt.gpu_systems) {
    gpus.push_back(arch::SystemSpec::load_file(file, {}, opt.split.devices));
    if (!gpus.back().is_gpu()) {
      throw core::InputError(core::Location(file), fmt::format("--gpu-system: '{}' holds RDAs", gpus.back().name));
    }
  }
  const auto dir = prepare_out_dir(opt.out);
  CompareOptions options;
  options.cases = opt.cases;
  options.batches = opt.batches;
  options.precision = opt.precision == "fp32" ? gpu::Precision::fp32 : gpu::Precision::bf16;
  options.seed = opt.seed;
  SystemRunOptions run;
  run.parallelism = opt.split.parallelism;
  run.micro_batches = opt.split.micro_batches;
  run.seed = opt.seed;
  run.simulate = opt.simulate;
  std::vector<SystemCompareRow> rows;
  try {
    rows = run_system_comparison(rda, gpus, options, run);
  } catch (const mapper::Infeasible& e) {
    return report_infeasible(e, arch::Fabric(*rda.fabric));
  }
  const std::string command = system_command_line(opt);
  core::write_text_file(dir / "system-compare.csv", system_compare_csv(rows));
  core::write_text_file(dir / "system-compare.md", system_compare_markdown(rows, command, opt.simulate));
  core::write_text_file(dir / "command.txt", command + "\n");
  core::log::info("wrote system-compare.csv, system-compare.md and command.txt in {}", dir.string());
  fmt::print("{:<14} {:>5} {:<26} {:<22} {:>12} {:>12} {:>8}\n", "case", "batch", "split", "GPU system", "RDA/sample",
             "GPU/sample", "speedup");
  for (const auto& r : rows) {
    fmt::print("{:<14} {:>5} {:<26} {:<22} {:>12} {:>12} {:>7.2f}x\n", r.case_name, r.batch, r.split,
               core::printable(r.gpu_system, 22), core::format_si(r.rda_s / r.batch, "s"),
               core::format_si(r.gpu_s / r.batch, "s"), r.speedup());
  }
  return 0;
}

int run_compare(const CompareCliOptions& opt) {
  std::vector<std::string> known;
  for (const auto& c : compare_cases()) known.push_back(c.name);
  for (const auto& c : opt.cases) {
    if (std::find(known.begin(), known.end(), c) == known.end()) {
      throw core::InputError(core::Location(fmt::format("--workloads {}", c)),
                             fmt::format("unknown case; expected one of {}", join(known, ", ")));
    }
  }
  if (!opt.system.empty()) return run_system_compare(opt);
  if (opt.arch.empty() || opt.gpus.empty()) {
    throw core::InputError("give --arch FILE and --gpu FILE (or --system FILE and --gpu-system FILE)");
  }
  MapInputs inputs;
  inputs.arch = opt.arch;
  inputs.sets = opt.sets;
  const arch::Fabric fabric = load_fabric(inputs);
  std::vector<arch::GpuSpec> gpus;
  for (const auto& file : opt.gpus) gpus.push_back(arch::GpuSpec::load_file(file));
  const auto dir = prepare_out_dir(opt.out);

  CompareOptions options;
  options.cases = opt.cases;
  options.batches = opt.batches;
  options.precision = opt.precision == "fp32" ? gpu::Precision::fp32 : gpu::Precision::bf16;
  options.measured_dir = opt.measured;
  options.seed = opt.seed;
  options.jobs = opt.jobs;
  std::vector<CompareRow> rows;
  try {
    rows = run_comparison(fabric, gpus, options);
  } catch (const mapper::Infeasible& e) {
    return report_infeasible(e, fabric);
  }
  const std::string command = command_line(opt);
  core::write_text_file(dir / "compare.csv", compare_csv(rows, opt.precision));
  core::write_text_file(dir / "compare.md", compare_markdown(rows, fabric, gpus, opt.precision, command));
  core::write_text_file(dir / "command.txt", command + "\n");
  core::log::info("wrote compare.csv, compare.md and command.txt in {}", dir.string());
  if (opt.plots) draw_plots("compare.py", dir);
  // The table on the terminal: one line per row.
  fmt::print("{:<16} {:>5} {:<5} {:<10} {:>11} {:>11} {:>8}  {}\n", "case", "batch", "gpu", "gpu run", "RDA/sample",
             "GPU/sample", "speedup", "limits (RDA | GPU)");
  for (const auto& r : rows) {
    fmt::print("{:<16} {:>5} {:<5} {:<10} {:>9.4g}ms {:>9.4g}ms{} {:>7.2f}x  {} | {}\n", r.case_name, r.batch, r.gpu,
               r.gpu_run, r.rda_s / r.batch * 1e3, r.gpu_s() / r.batch * 1e3, r.gpu_measured_s ? "*" : " ", r.speedup(),
               r.rda_bound, r.gpu_bound);
  }
  fmt::print("(* measured GPU time; details and reasons in {}/compare.md)\n", dir.string());
  return 0;
}

}  // namespace

void add_compare_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<CompareCliOptions>();
  auto* cmd = app.add_subcommand(
      "compare",
      "Compare a fabric with GPUs on the science workloads: map and simulate each workload, model it on each GPU (or "
      "use measured times), and write compare.csv, compare.md (time, throughput and energy per sample, speedup, and "
      "what limits each side) and plots");
  auto* arch =
      cmd->add_option("--arch", opt->arch, "Fabric spec: a file (configs/arch/*.yaml) or a preset's name (sn10, ...)")
          ->type_name("FILE|NAME");
  auto* sets = cmd->add_option("--set", opt->sets, "Override a fabric key (repeatable)")->type_name("KEY=VALUE");
  auto* gpu =
      cmd->add_option("--gpu", opt->gpus,
                      "GPU spec: a file (configs/gpu/*.yaml) or a preset's name (h100, ...); repeat for several GPUs")
          ->type_name("FILE|NAME");
  auto* system = cmd->add_option("--system", opt->system,
                                 "Instead of --arch and --gpu: a system of RDAs (configs/systems/*.yaml), compared "
                                 "with --gpu-system: each case laid out alike on both (the same shards, or the same "
                                 "applications per device), links on the same timeline")
                     ->type_name("FILE")
                     ->excludes(arch)
                     ->excludes(gpu)
                     ->excludes(sets);
  cmd->add_option("--gpu-system", opt->gpu_systems,
                  "With --system: a system of GPUs (configs/systems/dgx-*.yaml); "
                  "repeat for several")
      ->type_name("FILE")
      ->needs(system);
  add_split_options(cmd, system, opt->split, true, "With --system: devices of every system");
  cmd->add_flag("!--analytic", opt->simulate,
                "With --system: time the RDA segments by the mapper's analytic model instead of simulating them")
      ->needs(system);
  std::vector<std::string> names;
  for (const auto& c : compare_cases()) names.push_back(c.name);
  cmd->add_option(
         "--workloads", opt->cases,
         "Cases to run (default: all; with --system: " + join(system_compare_cases(), ", ") + "): " + join(names, ", "))
      ->type_name("CASE")
      ->delimiter(',');
  cmd->add_option("--batch", opt->batches, "Batches to run every case at (default: each case's own)")
      ->check(CLI::Range(1, 1 << 16))
      ->delimiter(',');
  cmd->add_option("--precision", opt->precision, "Data type on the GPU (the RDA computes as its spec says)")
      ->check(CLI::IsMember({"bf16", "fp32"}))
      ->capture_default_str();
  cmd->add_option("--measured", opt->measured, "Folder of measured GPU times, <gpu id>.csv from tools/gpu/measure.py")
      ->capture_default_str()
      ->type_name("DIR");
  cmd->add_option("--seed", opt->seed, "Mapper seed")->capture_default_str();
  cmd->add_option("-j,--jobs", opt->jobs,
                  "Worker processes: cases (and batches) mapped and simulated side by side, the longest first; a "
                  "single case uses them for its placement and alone runs. Results do not depend on it (default: "
                  "the cores)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--out", opt->out, "Folder for compare.csv, compare.md, command.txt and the plots")
      ->required()
      ->type_name("DIR");
  cmd->add_flag("!--no-plots", opt->plots, "Skip drawing the plots (tools/plot/compare.py)");
  cmd->callback([&run, opt] { run = [opt] { return run_compare(*opt); }; });
}

}  // namespace rdasim::tools
