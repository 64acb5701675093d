// simulate(): one simulation in a forked worker, so that a process (the sweep runner, the Python
// module) can run as many as it likes although SystemC elaborates once per process. The worker
// sends back the result, or the error, as one JSON document through a pipe.
#include "sim/cycle/simulate.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/cycle/worker.h"

namespace rdasim::sim {

namespace {

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace

bool WorkerDied::killed() const noexcept {
  return m_signal == SIGKILL || m_signal == SIGTERM || m_signal == SIGINT || m_signal == SIGHUP;
}

Worker::Worker(const std::function<core::Json()>& work) {
  int fds[2];
  if (::pipe(fds) != 0)
    throw core::InternalError(fmt::format("cannot create a pipe to a simulation worker: {}", std::strerror(errno)));
  m_pid = ::fork();
  if (m_pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw core::InternalError(fmt::format("cannot fork a simulation worker: {}", std::strerror(errno)));
  }
  if (m_pid == 0) {
    ::close(fds[0]);
    core::Json answer;
    try {
      answer = {{"result", work()}};
    } catch (const core::InputError& e) {
      answer = {{"error", "input"}, {"message", e.what()}};
    } catch (const std::exception& e) {
      answer = {{"error", "internal"}, {"message", e.what()}};
    }
    write_all(fds[1], answer.dump());
    ::close(fds[1]);
    ::_exit(0);  // no destructors or atexit handlers of the parent's copy
  }
  ::close(fds[1]);
  m_fd = fds[0];
}

Worker::~Worker() {
  if (m_pid > 0) {
    ::close(m_fd);
    ::kill(m_pid, SIGKILL);
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

core::Json Worker::wait() {
  const std::string text = read_all(m_fd);
  ::close(m_fd);
  int status = 0;
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_pid = -1;
  if (WIFSIGNALED(status)) {
    throw WorkerDied(WTERMSIG(status), fmt::format("the simulation worker died of signal {} ({})", WTERMSIG(status),
                                                   strsignal(WTERMSIG(status))));
  }
  auto answer = core::Json::parse(text, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) {
    throw core::InternalError(fmt::format("the simulation worker exited with status {} and no readable result",
                                          WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  if (answer.contains("error")) {
    const auto message = answer.at("message").get<std::string>();
    if (answer.at("error") == "input") throw core::InputError(message);
    throw core::InternalError(message);
  }
  return std::move(answer.at("result"));
}

SimResult simulate(const mapper::Mapping& mapping, const arch::Fabric& fabric, const SimOptions& options) {
  SimOptions quiet = options;
  quiet.progress = nullptr;  // the worker's output is the pipe alone
  Worker worker([&] {
    auto result = simulate_here(mapping, fabric, quiet);
    return core::Json{{"report", to_json(result.report)}, {"trace", std::move(result.trace)}};
  });
  auto answer = worker.wait();
  return {report_from_json(answer.at("report"), "simulation worker"), std::move(answer.at("trace"))};
}

}  // namespace rdasim::sim
