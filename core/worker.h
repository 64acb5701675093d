// A forked child process that computes one JSON document while the parent goes on: how a
// process runs more SystemC elaborations than the one it may have (the kernel cannot restart),
// and how mapping and simulation use several cores without sharing state between threads
// (METIS and SystemC keep globals).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/json.h"

namespace rdasim::core {

/// A worker ended by a signal: crashed (SIGSEGV, SIGABRT) or killed from outside.
class WorkerDied : public InternalError {
 public:
  WorkerDied(int signal, const std::string& message) : InternalError(message), m_signal(signal) {}
  [[nodiscard]] int signal() const noexcept { return m_signal; }
  /// Killed from outside (SIGKILL, SIGTERM, SIGINT, SIGHUP) rather than failed by itself.
  [[nodiscard]] bool killed() const noexcept;

 private:
  int m_signal;
};

class Worker {
 public:
  /// Forks a child that runs `work` and sends its result (or its exception) back.
  explicit Worker(const std::function<Json()>& work);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();
  /// The child's result. Its InputError is thrown again as one, any other exception as
  /// InternalError with the same message, and a death by signal as WorkerDied.
  Json wait();
  /// The read end of the pipe from the child: readable once it has finished (or died), for
  /// poll() over several workers.
  [[nodiscard]] int fd() const { return m_fd; }

 private:
  pid_t m_pid = -1;
  int m_fd = -1;
};

/// Runs work(0), ..., work(count - 1), each in a worker process of its own, at most `jobs` at
/// once, started in index order (put the longest first) and each started as soon as another
/// ends; returns their results by index and calls `done(i, result)` as each arrives. With `jobs` <= 1
/// they run here, one after another, with no fork. An error in one (thrown again here as
/// Worker::wait throws it) stops the others.
std::vector<Json> run_in_workers(std::size_t count, int jobs, const std::function<Json(std::size_t)>& work,
                                 const std::function<void(std::size_t, const Json&)>& done = {});

/// Deals items out to `workers` shares, the most work first onto the least loaded share (the
/// longest-processing-time rule); `work` is (work, item). Each share lists its items in
/// ascending order.
[[nodiscard]] std::vector<std::vector<std::size_t>> share_out(std::vector<std::pair<double, std::size_t>> work,
                                                              std::size_t workers);

}  // namespace rdasim::core
