// The sweep as an MPI job (compiled when CMake finds MPI). Rank 0 reads results.csv and hands
// out the points not yet done one at a time, to its own workers and to the other ranks as they
// ask (points differ in cost by orders of magnitude, so a fixed deal would leave ranks idle);
// every rank sends its finished records to rank 0, which alone appends them to the file.
// Workers are forked children that never call MPI.
#include <mpi.h>

#include <chrono>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "tools/sweep/pool.h"
#include "tools/sweep/results.h"
#include "tools/sweep/runner.h"

namespace rdasim::tools::sweep {

namespace {

constexpr int k_tag_request = 1;  ///< a rank has a free worker: send it a point
constexpr int k_tag_assign = 2;   ///< rank 0's answer: a point's index, or -1 when none are left
constexpr int k_tag_record = 3;   ///< one finished point: its CSV line and whether it failed
constexpr int k_tag_done = 4;     ///< the sending rank has finished all its points

/// MPI_Init and MPI_Finalize for the scope of one sweep.
class MpiSession {
 public:
  MpiSession() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) MPI_Init(nullptr, nullptr);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession() { MPI_Finalize(); }
  int rank = 0;
  int size = 1;
};

void send_text(const std::string& text, int tag) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, 0, tag, MPI_COMM_WORLD);
}

}  // namespace

RunSummary run_mpi(const Spec& spec, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  MpiSession mpi;
  const auto points = expand(spec, options.fast);
  const auto in_shard = [&](const Point& p) {
    return static_cast<int>(p.index % static_cast<std::size_t>(options.shards)) == options.shard;
  };

  // Rank 0 knows what is done; every rank learns which points are left.
  std::unique_ptr<ResultsFile> results;
  std::vector<std::uint64_t> todo;
  std::uint64_t counts[2] = {0, 0};  // points in the shard, skipped
  std::string error;                 // rank 0's, so that every rank fails with it instead of waiting
  if (mpi.rank == 0) {
    try {
      results = std::make_unique<ResultsFile>(options.out / "results.csv", header(spec));
    } catch (const core::InputError& e) {
      error = e.what();
    }
    for (const auto& p : points) {
      if (!results || !in_shard(p)) continue;
      ++counts[0];
      if (results->contains(p.key)) ++counts[1];
      else todo.push_back(p.index);
    }
  }
  std::uint64_t error_bytes = error.size();
  MPI_Bcast(&error_bytes, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  error.resize(error_bytes);
  MPI_Bcast(error.data(), static_cast<int>(error_bytes), MPI_CHAR, 0, MPI_COMM_WORLD);
  if (!error.empty()) throw core::InputError(error);
  std::uint64_t n = todo.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  MPI_Bcast(counts, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  todo.resize(n);
  MPI_Bcast(todo.data(), static_cast<int>(n), MPI_UINT64_T, 0, MPI_COMM_WORLD);
  std::size_t next = 0;  // rank 0: the next of `todo` to hand out
  const auto take_next = [&]() -> const Point* { return next < todo.size() ? &points[todo[next++]] : nullptr; };

  std::uint64_t failed = 0;
  if (mpi.rank == 0) {
    Progress progress(spec, todo.size(), options.progress);
    int others_running = mpi.size - 1;
    const auto take = [&](const Finished& f) {
      if (!f.lost) results->append(f.record);
      progress.point(f);
    };
    // Requests and records from the other ranks, as they come.
    const auto serve = [&] {
      int flag = 1;
      while (others_running > 0) {
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
        if (!flag) break;
        int bytes = 0;
        MPI_Get_count(&status, MPI_CHAR, &bytes);
        std::string text(static_cast<std::size_t>(bytes), '\0');
        MPI_Recv(text.data(), bytes, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (status.MPI_TAG == k_tag_request) {
          const Point* p = take_next();
          const std::int64_t index = p ? static_cast<std::int64_t>(p->index) : -1;
          MPI_Send(&index, 1, MPI_INT64_T, status.MPI_SOURCE, k_tag_assign, MPI_COMM_WORLD);
        } else if (status.MPI_TAG == k_tag_done) {
          --others_running;
        } else {
          const auto json = core::Json::parse(text);
          Finished f;
          f.ok = json.at("ok").get<bool>();
          f.record = json.at("record").get<std::vector<std::string>>();
          f.point = &points[json.at("index").get<std::size_t>()];
          take(f);
        }
      }
      return others_running > 0;
    };
    run_points(spec, options.fast, take_next, options.jobs, take, serve);
    progress.end();
    std::vector<std::string> keys;
    for (const auto& p : points) keys.push_back(p.key);
    results->sort(keys);
    failed = progress.failed();
  } else {
    const auto ask = [&]() -> const Point* {
      send_text("", k_tag_request);
      std::int64_t index = -1;
      MPI_Recv(&index, 1, MPI_INT64_T, 0, k_tag_assign, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      return index < 0 ? nullptr : &points[static_cast<std::size_t>(index)];
    };
    run_points(spec, options.fast, ask, options.jobs, [&](const Finished& f) {
      if (f.lost) return;
      send_text(core::Json{{"ok", f.ok}, {"record", f.record}, {"index", f.point->index}}.dump(), k_tag_record);
    });
    send_text("", k_tag_done);
  }
  MPI_Bcast(&failed, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);

  RunSummary summary;
  summary.points = counts[0];
  summary.skipped = counts[1];
  summary.ran = todo.size();
  summary.failed = failed;
  summary.ranks = mpi.size;
  summary.rank = mpi.rank;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace rdasim::tools::sweep
