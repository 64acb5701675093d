#include "tools/sweep/pool.h"

#include <poll.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "core/worker.h"
#include "mapper/infeasible.h"
#include "tools/sweep/point.h"

namespace rdasim::tools::sweep {

namespace {

constexpr int k_poll_ms = 50;

/// The point's work in the child: its values, or its failure as one message.
core::Json work(const Spec& spec, const Point& point, bool fast) {
  core::log::set_level(core::log::Level::error);  // the parent reports progress
  try {
    core::Json out = core::Json::object();
    for (const auto& [k, v] : evaluate(spec, point, fast)) out[k] = v;
    return out;
  } catch (const mapper::Infeasible& e) {
    std::string message = fmt::format("cannot map: {}", e.what());
    for (const auto& r : e.reasons()) message += "; " + r;
    throw core::InputError(message);
  }
}

std::string duration_text(double s) {
  if (s < 90) return fmt::format("{:.0f} s", s);
  if (s < 5400) return fmt::format("{:.0f} min {:02.0f} s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.0f} h {:02.0f} min", std::floor(s / 3600), std::fmod(s, 3600) / 60);
}

}  // namespace

PointSource in_order(std::span<const Point* const> points) {
  return [points, next = std::size_t{0}]() mutable { return next < points.size() ? points[next++] : nullptr; };
}

void run_points(const Spec& spec, bool fast, const PointSource& next, int jobs,
                const std::function<void(const Finished&)>& finished, const std::function<bool()>& poll) {
  std::map<int, std::pair<std::unique_ptr<core::Worker>, const Point*>> running;  // by pipe
  bool more = true;
  bool others = static_cast<bool>(poll);
  while (more || !running.empty() || others) {
    while (more && static_cast<int>(running.size()) < jobs) {
      const Point* p = next();
      if (!p) {
        more = false;
        break;
      }
      auto worker = std::make_unique<core::Worker>([&spec, p, fast] { return work(spec, *p, fast); });
      const int fd = worker->fd();
      running.emplace(fd, std::make_pair(std::move(worker), p));
    }
    if (running.empty() && !others) break;  // the source ran dry with nothing left running
    std::vector<pollfd> fds;
    for (const auto& [fd, w] : running) fds.push_back({fd, POLLIN, 0});
    const int timeout = poll ? k_poll_ms : -1;
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      throw core::InternalError(fmt::format("poll over sweep workers failed: {}", std::strerror(errno)));
    }
    for (const auto& f : fds) {
      if (f.revents == 0) continue;
      auto node = running.extract(f.fd);
      auto& [worker, point] = node.mapped();
      Finished done;
      done.point = point;
      try {
        const auto json = worker->wait();
        Values values;
        for (const auto& [k, v] : json.items()) values[k] = v.get<std::string>();
        done.record = record(spec, *point, fast, values, "");
      } catch (const core::WorkerDied& e) {
        done.ok = false;
        done.lost = e.killed();
        if (!done.lost) done.record = record(spec, *point, fast, {}, e.what());
      } catch (const std::exception& e) {
        done.ok = false;
        done.record = record(spec, *point, fast, {}, e.what());
      }
      finished(done);
    }
    if (poll) others = poll();
  }
}

Progress::Progress(const Spec& spec, std::size_t total, ProgressStyle style)
    : m_spec(spec),
      m_total(total),
      m_style(style) {}

std::string Progress::status() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  const double per_min = elapsed > 0 ? static_cast<double>(m_done) * 60 / elapsed : 0;
  std::string text = fmt::format("{}/{} points", m_done, m_total);
  if (m_failed > 0) text += fmt::format(", {} failed", m_failed);
  if (m_done > 0) {
    text += fmt::format(", {:.1f} points/min", per_min);
    if (m_done < m_total)
      text += ", about " +
              duration_text(static_cast<double>(m_total - m_done) * elapsed / static_cast<double>(m_done)) + " left";
  }
  return text;
}

void Progress::point(const Finished& f) {
  ++m_done;
  if (!f.ok) ++m_failed;
  switch (m_style) {
    case ProgressStyle::none: return;
    case ProgressStyle::bar: {
      constexpr std::size_t width = 30;
      const std::size_t filled = m_total ? m_done * width / m_total : width;
      fmt::print(stderr, "\r\033[K[{}{}] {}", std::string(filled, '#'), std::string(width - filled, '.'), status());
      std::fflush(stderr);
      return;
    }
    case ProgressStyle::lines: {
      std::string what = f.point->workload->label;
      if (f.point->batch > 0) what += fmt::format(" batch={}", f.point->batch);
      for (std::size_t a = 0; a < m_spec.axes.size(); ++a)
        what += fmt::format(" {}={}", m_spec.axes[a].key, f.point->values[a]);
      const std::size_t error_column = 3 + m_spec.axes.size() + 2;
      const std::string outcome = f.ok ? "ok" : f.lost ? "KILLED (runs again next time)" : "FAILED";
      const std::string why = f.ok || f.lost ? "" : ": " + f.record[error_column];
      fmt::print(stderr, "sweep: {} {}{} ({})\n", outcome, what, why, status());
      return;
    }
  }
}

void Progress::end() {
  if (m_style == ProgressStyle::bar) fmt::print(stderr, "\r\033[K");
}

}  // namespace rdasim::tools::sweep
