// Running a sweep: every point of this shard that DIR/results.csv does not hold yet, each in a
// forked worker process (SystemC elaborates once per process), at most `jobs` at a time, each
// finished point appended as one record at once. Under mpirun the ranks share the points and
// rank 0 writes every record.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tools/sweep/spec.h"

namespace rdasim::tools::sweep {

enum class ProgressStyle { bar, lines, none };

struct RunOptions {
  std::filesystem::path out;  ///< the folder of results.csv
  int jobs = 1;
  bool fast = false;  ///< the mapper's analytic estimate instead of the simulator
  int shard = 0;      ///< run the points whose index % shards == shard
  int shards = 1;
  ProgressStyle progress = ProgressStyle::lines;
};

struct RunSummary {
  std::size_t points = 0;   ///< in this shard
  std::size_t skipped = 0;  ///< already in results.csv
  std::size_t ran = 0;
  std::size_t failed = 0;  ///< of those run
  double seconds = 0;
  int ranks = 1;  ///< MPI processes that shared the work
  int rank = 0;   ///< this process's
};

/// Runs the sweep in this process's workers. Throws core::InputError when results.csv belongs
/// to another sweep; a point's own failure is recorded in its row.
RunSummary run(const Spec& spec, const RunOptions& options);

/// Whether this process was started by mpirun/srun as one rank of several.
[[nodiscard]] bool launched_by_mpi();
/// This process's rank as its launcher set it (before MPI_Init); 0 when not launched by one.
[[nodiscard]] int launched_rank();

/// Runs the sweep as one rank of an MPI job: the points not yet done are dealt out over the
/// ranks, each runs its share in `jobs` workers, and rank 0 appends every record. Every rank
/// returns the same totals. Throws core::InputError when rdasim was built without MPI.
RunSummary run_mpi(const Spec& spec, const RunOptions& options);

/// "i/N" of --shard; throws core::InputError unless 0 <= i < N.
void parse_shard(const std::string& text, int& shard, int& shards);

}  // namespace rdasim::tools::sweep
