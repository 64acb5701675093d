// `rdasim sweep SPEC`: a design-space sweep (configs/sweeps/README.md) run point by point in
// worker processes, locally, in --shard pieces or under mpirun, into DIR/results.csv; and
// `rdasim sweep-merge OUT DIR...`, which joins the pieces.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/text.h"
#include "tools/cli/commands.h"
#include "tools/sweep/results.h"
#include "tools/sweep/runner.h"
#include "tools/sweep/spec.h"

namespace rdasim::tools {

namespace {

struct SweepOptions {
  std::string spec;
  std::string out;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string shard = "0/1";
  bool fast = false;
  std::string progress = "auto";
  bool dry_run = false;
  bool jobs_given = false;
};

/// The command line that reproduces this run (without --jobs and --progress, which change
/// nothing in the results).
std::string command_line(const SweepOptions& opt, const sweep::RunOptions& run) {
  std::string text = fmt::format("rdasim sweep {} --out {}", opt.spec, run.out.string());
  if (run.shards > 1) text += fmt::format(" --shard {}/{}", run.shard, run.shards);
  if (run.fast) text += " --fast";
  return text;
}

std::string duration_text(double s) {
  return s < 90 ? fmt::format("{:.1f} s", s)
                : fmt::format("{:.0f} min {:02.0f} s", std::floor(s / 60), std::fmod(s, 60));
}

int run_sweep(const SweepOptions& opt) {
  const auto spec = sweep::Spec::load(opt.spec);
  sweep::RunOptions run;
  run.out = opt.out.empty() ? std::filesystem::path("results/sweeps") / spec.name : std::filesystem::path(opt.out);
  run.jobs = opt.jobs;
  run.fast = opt.fast;
  sweep::parse_shard(opt.shard, run.shard, run.shards);
  const bool mpi = sweep::launched_by_mpi();
  if (opt.progress == "auto")
    run.progress = ::isatty(STDERR_FILENO) && !mpi ? sweep::ProgressStyle::bar : sweep::ProgressStyle::lines;
  else
    run.progress = opt.progress == "bar"    ? sweep::ProgressStyle::bar
                   : opt.progress == "none" ? sweep::ProgressStyle::none
                                            : sweep::ProgressStyle::lines;

  if (opt.dry_run) {
    const auto points = sweep::expand(spec, run.fast);
    std::size_t mine = 0;
    for (const auto& p : points) mine += static_cast<int>(p.index % static_cast<std::size_t>(run.shards)) == run.shard;
    fmt::print("sweep {}: {} points, {} in shard {}/{}\n", spec.name, points.size(), mine, run.shard, run.shards);
    return 0;
  }

  if (mpi && !opt.jobs_given) {
    // The cores of a node are shared by its ranks.
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const auto ranks_here = local ? core::parse_integer(local) : std::nullopt;
    if (ranks_here && *ranks_here > 0) run.jobs = std::max(1, run.jobs / static_cast<int>(*ranks_here));
  }
  const auto dir = prepare_out_dir(run.out.string());
  if (sweep::launched_rank() == 0) {
    // Another sweep's folder keeps its record: refused before anything is written.
    sweep::check_header(dir / "results.csv", sweep::header(spec));
    // First, so that a killed sweep's folder says what it was.
    core::write_text_file(dir / "spec.yaml", core::read_text_file(spec.file));
    core::write_text_file(dir / "command.txt", command_line(opt, run) + "\n");
  }
  const auto summary = mpi ? sweep::run_mpi(spec, run) : sweep::run(spec, run);
  if (summary.rank != 0) return 0;  // rank 0 speaks for the job
  const double per_min = summary.seconds > 0 ? static_cast<double>(summary.ran) * 60 / summary.seconds : 0;
  fmt::print("sweep {}: {} points{}, {} already done; ran {} ({} failed) in {}{}{}{}\n", spec.name, summary.points,
             run.shards > 1 ? fmt::format(" in shard {}/{}", run.shard, run.shards) : "", summary.skipped, summary.ran,
             summary.failed, duration_text(summary.seconds),
             summary.ran > 0 ? fmt::format(", {:.1f} points/min", per_min) : "",
             summary.ranks > 1 ? fmt::format(" on {} MPI ranks", summary.ranks) : "",
             run.fast ? " (analytic, --fast)" : "");
  fmt::print("results: {}\n", (dir / "results.csv").string());
  return 0;
}

int run_merge(const std::string& out, const std::vector<std::string>& inputs) {
  std::vector<std::filesystem::path> paths(inputs.begin(), inputs.end());
  const auto dir = prepare_out_dir(out);
  const auto rows = sweep::merge_results(dir, paths);
  fmt::print("merged {} folder(s): {} points in {}\n", inputs.size(), rows, (dir / "results.csv").string());
  return 0;
}

}  // namespace

void add_sweep_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<SweepOptions>();
  auto* cmd = app.add_subcommand(
      "sweep",
      "Run a design-space sweep (configs/sweeps/*.yaml): every fabric point x workload x batch mapped and simulated "
      "(or estimated, --fast) in its own worker process, one row per point appended to DIR/results.csv. Rerunning "
      "skips points already there, so a killed sweep resumes; a failing point is recorded and the sweep goes on. "
      "Under mpirun the ranks share the points; --shard splits them for Slurm job arrays (join with sweep-merge)");
  cmd->add_option("SPEC", opt->spec, "The sweep spec (configs/sweeps/README.md)")->required()->type_name("FILE");
  cmd->add_option("--out", opt->out, "Folder of results.csv (default: results/sweeps/<name>)")->type_name("DIR");
  cmd->add_option("-j,--jobs", opt->jobs, "Worker processes at once (per MPI rank)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--shard", opt->shard, "Run only the points whose index % N == i (0-based), for job arrays")
      ->type_name("i/N")
      ->capture_default_str();
  cmd->add_flag("--fast", opt->fast,
                "The mapper's analytic estimate instead of the simulator: a first pass over large spaces (no energy)");
  cmd->add_option("--progress", opt->progress,
                  "A bar redrawn in place, a line per point, or nothing (auto: a bar on a terminal)")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
      ->capture_default_str();
  cmd->add_flag("--dry-run", opt->dry_run, "Print how many points the spec makes, and run none");
  cmd->callback([&run, opt, cmd] {
    opt->jobs_given = cmd->count("--jobs") > 0;
    run = [opt] { return run_sweep(*opt); };
  });

  auto out = std::make_shared<std::string>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto* merge = app.add_subcommand(
      "sweep-merge", "Join the results.csv of sweep shards (--shard i/N runs) into OUT/results.csv: every point once");
  merge->add_option("OUT", *out, "The folder to write results.csv in (its rows, if any, are kept)")
      ->required()
      ->type_name("DIR");
  merge->add_option("DIR", *inputs, "Shard folders (or their results.csv)")->required()->type_name("DIR...");
  merge->callback([&run, out, inputs] { run = [out, inputs] { return run_merge(*out, *inputs); }; });
}

}  // namespace rdasim::tools
