// Sweep points in forked workers, at most `jobs` at a time: what the local runner and every MPI
// rank share.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tools/sweep/runner.h"
#include "tools/sweep/spec.h"

namespace rdasim::tools::sweep {

/// A finished point's CSV record, and whether it failed. A worker killed from outside (SIGKILL,
/// SIGINT, ...) is `lost`: it has no record, and the point runs again next time.
struct Finished {
  std::vector<std::string> record;
  bool ok = true;
  bool lost = false;
  const Point* point = nullptr;
};

/// Where the points come from: the next one to run, or null when there are no more.
using PointSource = std::function<const Point*()>;

/// Runs the points `next` gives in at most `jobs` worker processes and calls `finished` as each
/// ends. While it waits it calls `poll` (when given) every few tens of milliseconds; it keeps
/// going after its own points are done for as long as `poll` returns true (an MPI rank 0
/// serving the others).
void run_points(const Spec& spec, bool fast, const PointSource& next, int jobs,
                const std::function<void(const Finished&)>& finished, const std::function<bool()>& poll = {});

/// A source that gives `points` in order.
[[nodiscard]] PointSource in_order(std::span<const Point* const> points);

/// Prints progress: a bar redrawn in place on a terminal, or one line per point.
class Progress {
 public:
  Progress(const Spec& spec, std::size_t total, ProgressStyle style);
  void point(const Finished& f);
  /// Clears the bar's line.
  void end();
  [[nodiscard]] std::size_t failed() const { return m_failed; }

 private:
  [[nodiscard]] std::string status() const;

  const Spec& m_spec;
  std::size_t m_total;
  std::size_t m_done = 0, m_failed = 0;
  ProgressStyle m_style;
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

}  // namespace rdasim::tools::sweep
