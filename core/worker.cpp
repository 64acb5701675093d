// core::Worker: fork, run the work in the child, send its result (or its error) back as one JSON
// document (in MessagePack) through a pipe.
#include "core/worker.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace rdasim::core {

namespace {

void write_all(int fd, const std::vector<std::uint8_t>& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

std::vector<std::uint8_t> read_all(int fd) {
  std::vector<std::uint8_t> text;
  std::uint8_t buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.insert(text.end(), buffer, buffer + n);
  }
  return text;
}

}  // namespace

bool WorkerDied::killed() const noexcept {
  return m_signal == SIGKILL || m_signal == SIGTERM || m_signal == SIGINT || m_signal == SIGHUP;
}

Worker::Worker(const std::function<Json()>& work) {
  int fds[2];
  if (::pipe(fds) != 0)
    throw InternalError(fmt::format("cannot create a pipe to a worker process: {}", std::strerror(errno)));
  m_pid = ::fork();
  if (m_pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw InternalError(fmt::format("cannot fork a worker process: {}", std::strerror(errno)));
  }
  if (m_pid == 0) {
    ::close(fds[0]);
    Json answer;
    try {
      answer = {{"result", work()}};
    } catch (const InputError& e) {
      answer = {{"error", "input"}, {"message", e.what()}};
    } catch (const std::exception& e) {
      answer = {{"error", "internal"}, {"message", e.what()}};
    }
    write_all(fds[1], Json::to_msgpack(answer));  // binary: a mapping's layouts parse several times faster
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

Json Worker::wait() {
  const auto text = read_all(m_fd);
  ::close(m_fd);
  int status = 0;
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_pid = -1;
  if (WIFSIGNALED(status)) {
    throw WorkerDied(WTERMSIG(status), fmt::format("the worker process died of signal {} ({})", WTERMSIG(status),
                                                   strsignal(WTERMSIG(status))));
  }
  auto answer = Json::from_msgpack(text, true, false);
  if (answer.is_discarded() || !answer.is_object()) {
    throw InternalError(fmt::format("the worker process exited with status {} and no readable result",
                                    WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  if (answer.contains("error")) {
    const auto message = answer.at("message").get<std::string>();
    if (answer.at("error") == "input") throw InputError(message);
    throw InternalError(message);
  }
  return std::move(answer.at("result"));
}

std::vector<Json> run_in_workers(std::size_t count, int jobs, const std::function<Json(std::size_t)>& work,
                                 const std::function<void(std::size_t, const Json&)>& done) {
  std::vector<Json> results(count);
  if (jobs <= 1) {
    for (std::size_t i = 0; i < count; ++i) {
      results[i] = work(i);
      if (done) done(i, results[i]);
    }
    return results;
  }
  std::vector<std::pair<std::size_t, std::unique_ptr<Worker>>> running;
  std::size_t next = 0;
  while (next < count || !running.empty()) {
    while (next < count && running.size() < static_cast<std::size_t>(jobs)) {
      const std::size_t i = next++;
      running.emplace_back(i, std::make_unique<Worker>([&work, i] { return work(i); }));
    }
    std::vector<pollfd> fds;
    for (const auto& r : running) fds.push_back({r.second->fd(), POLLIN, 0});
    while (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno != EINTR)
        throw InternalError(fmt::format("cannot wait for worker processes: {}", std::strerror(errno)));
    }
    for (std::size_t k = fds.size(); k-- > 0;) {
      if (fds[k].revents == 0) continue;
      const std::size_t i = running[k].first;
      results[i] = running[k].second->wait();
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(k));
      if (done) done(i, results[i]);
    }
  }
  return results;
}

std::vector<std::vector<std::size_t>> share_out(std::vector<std::pair<double, std::size_t>> work, std::size_t workers) {
  std::vector<std::vector<std::size_t>> shares(std::max<std::size_t>(workers, 1));
  std::vector<double> load(shares.size(), 0.0);
  std::sort(work.rbegin(), work.rend());
  for (const auto& [amount, item] : work) {
    const auto j = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    shares[j].push_back(item);
    load[j] += amount;
  }
  for (auto& share : shares) std::sort(share.begin(), share.end());
  return shares;
}

}  // namespace rdasim::core
