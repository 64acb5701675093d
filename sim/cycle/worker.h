// A forked child process that computes one JSON document while the parent goes on: how a
// process runs more SystemC elaborations than the one it may have (the kernel cannot restart).
#pragma once

#include <sys/types.h>

#include <functional>

#include "core/json.h"

namespace rdasim::sim {

class Worker {
 public:
  /// Forks a child that runs `work` and sends its result (or its exception) back.
  explicit Worker(const std::function<core::Json()>& work);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();
  /// The child's result. Its core::InputError is thrown again as one, any other exception as
  /// core::InternalError with the same message, and a crash as core::InternalError.
  core::Json wait();

 private:
  pid_t m_pid = -1;
  int m_fd = -1;
};

}  // namespace rdasim::sim
