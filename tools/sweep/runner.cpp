#include "tools/sweep/runner.h"

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "tools/sweep/pool.h"
#include "tools/sweep/results.h"

namespace rdasim::tools::sweep {

RunSummary run(const Spec& spec, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto points = expand(spec, options.fast);
  ResultsFile results(options.out / "results.csv", header(spec));
  RunSummary summary;
  std::vector<const Point*> todo;
  for (const auto& p : points) {
    if (static_cast<int>(p.index % static_cast<std::size_t>(options.shards)) != options.shard) continue;
    ++summary.points;
    if (results.contains(p.key)) ++summary.skipped;
    else todo.push_back(&p);
  }
  Progress progress(spec, todo.size(), options.progress);
  run_points(spec, options.fast, in_order(todo), options.jobs, [&](const Finished& f) {
    if (!f.lost) results.append(f.record);
    progress.point(f);
  });
  progress.end();
  std::vector<std::string> keys;
  for (const auto& p : points) keys.push_back(p.key);
  results.sort(keys);
  summary.ran = todo.size();
  summary.failed = progress.failed();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

bool launched_by_mpi() {
  // Open MPI's mpirun, and PMIx/PMI launchers (srun) for other MPIs.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}

int launched_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* value = std::getenv(name)) return static_cast<int>(core::parse_integer(value).value_or(0));
  }
  return 0;
}

#ifndef RDASIM_HAVE_MPI
RunSummary run_mpi(const Spec&, const RunOptions&) {
  throw core::InputError(
      "this rdasim was built without MPI (Debian: libopenmpi-dev; tools/setup.sh installs it): run the sweep without "
      "mpirun, or split it with --shard");
}
#endif

void parse_shard(const std::string& text, int& shard, int& shards) {
  const core::Location where(fmt::format("--shard {}", core::printable(text)));
  const auto slash = text.find('/');
  const auto i = slash == std::string::npos ? std::nullopt : core::parse_integer(text.substr(0, slash));
  const auto n = slash == std::string::npos ? std::nullopt : core::parse_integer(text.substr(slash + 1));
  if (!i || !n)
    throw core::InputError(where, "expected i/N, the shard's index (from 0) over the number of shards, e.g. 0/8");
  if (*n < 1 || *i < 0 || *i >= *n)
    throw core::InputError(where, fmt::format("expected 0 <= i < N, found i = {}, N = {}", *i, *n));
  shard = static_cast<int>(*i);
  shards = static_cast<int>(*n);
}

}  // namespace rdasim::tools::sweep
