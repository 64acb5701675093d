// The order in which a chip's units run (sim/cycle/event_queue.h): earliest first, ties in the
// order they were woken, one pending wake-up per unit (the earliest), superseded ones dropped.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/cycle/event_queue.h"

namespace rdasim::sim {
namespace {

/// Records when it ran, and may wake itself or others from wake_up().
struct Probe : Wakeable {
  EventQueue* queue = nullptr;
  int id = 0;
  std::vector<std::pair<EventQueue::Time, int>>* log = nullptr;
  std::function<void()> then;
  void wake_up() override {
    log->emplace_back(queue->now(), id);
    if (then) then();
  }
};

/// Numbers the probes and points them at the queue and the log.
void hook_up(std::vector<Probe>& probes, EventQueue& q, std::vector<std::pair<EventQueue::Time, int>>& log) {
  for (std::size_t i = 0; i < probes.size(); ++i) {
    probes[i].queue = &q;
    probes[i].id = static_cast<int>(i);
    probes[i].log = &log;
  }
}

TEST_CASE("an event queue runs the earliest first and ties in the order they were woken", "[event_queue]") {
  EventQueue q;
  std::vector<std::pair<EventQueue::Time, int>> log;
  std::vector<Probe> probes(6);
  hook_up(probes, q, log);
  // Woken out of order, three at cycle 2 (2000 thousandths) in the order 4, 1, 3.
  q.wake(probes[4], 2.0);
  q.wake(probes[0], 5.0);
  q.wake(probes[1], 2.0);
  q.wake(probes[2], 0.5);
  q.wake(probes[3], 2.0);
  CHECK(q.next() == 500);
  while (q.run_next()) {
  }
  const std::vector<std::pair<EventQueue::Time, int>> expected{{500, 2}, {2000, 4}, {2000, 1}, {2000, 3}, {5000, 0}};
  CHECK(log == expected);
  CHECK(q.now() == 5000);
  CHECK(q.next() == std::numeric_limits<EventQueue::Time>::max());
  CHECK_FALSE(q.run_next());
}

TEST_CASE("an event queue keeps ties in order when they come up from far ahead", "[event_queue]") {
  // Far enough ahead to be bucketed coarsely and sorted when their time nears: the three at
  // cycle 100 still run in the order they were woken, between their neighbours in time.
  EventQueue q;
  std::vector<std::pair<EventQueue::Time, int>> log;
  std::vector<Probe> probes(6);
  hook_up(probes, q, log);
  q.wake(probes[5], 100.0);
  q.wake(probes[0], 100.001);
  q.wake(probes[3], 100.0);
  q.wake(probes[4], 99.999);
  q.wake(probes[1], 100.0);
  q.wake(probes[2], 1.0);
  while (q.run_next()) {
  }
  const std::vector<std::pair<EventQueue::Time, int>> expected{{1000, 2},   {99999, 4},  {100000, 5},
                                                               {100000, 3}, {100000, 1}, {100001, 0}};
  CHECK(log == expected);
}

TEST_CASE("an event queue keeps one wake-up per target, the earliest", "[event_queue]") {
  EventQueue q;
  std::vector<std::pair<EventQueue::Time, int>> log;
  Probe a, b;
  a.queue = b.queue = &q;
  a.log = b.log = &log;
  a.id = 1;
  b.id = 2;
  q.wake(a, 10.0);
  q.wake(a, 20.0);  // later: a runs at 10 only
  q.wake(b, 30.0);
  q.wake(b, 3.0);  // earlier: replaces 30, which is dropped when it comes up
  // A target that wakes itself at the current time runs again after what is already due then.
  int again = 0;
  a.then = [&] {
    if (again++ == 0) q.wake(a, q.now_cycles());
  };
  while (q.run_next()) {
  }
  const std::vector<std::pair<EventQueue::Time, int>> expected{{3000, 2}, {10000, 1}, {10000, 1}};
  CHECK(log == expected);
}

TEST_CASE("an event queue rounds a time up to its resolution and never into the past", "[event_queue]") {
  EventQueue q;
  CHECK(q.time_of(1.0) == 1000);
  CHECK(q.time_of(1.0004) == 1001);        // rounded up: the woken unit sees its time as past
  CHECK(q.time_of(1.0000000001) == 1000);  // within the resolution's rounding slack
  CHECK(q.time_of(-3.0) == 0);
  std::vector<std::pair<EventQueue::Time, int>> log;
  Probe p;
  p.queue = &q;
  p.log = &log;
  q.wake(p, 7.25);
  REQUIRE(q.run_next());
  CHECK(q.now_cycles() == 7.25);
  CHECK(q.time_of(7.0) == 7250);
}

TEST_CASE("an event queue pops what a sorted list of (time, wake order) gives, over many random wake-ups",
          "[event_queue]") {
  // Targets woken at random times from inside the run, with ties and superseded wake-ups, against
  // a reference: the live wake-ups sorted by time and then by when they were asked for.
  EventQueue q;
  std::vector<std::pair<EventQueue::Time, int>> log;
  constexpr int k_targets = 50;
  std::vector<Probe> probes(k_targets);
  std::mt19937_64 random(7);
  std::uint64_t asked = 0;
  struct Pending {
    EventQueue::Time at;
    std::uint64_t order;
  };
  std::vector<Pending> pending(k_targets, {std::numeric_limits<EventQueue::Time>::max(), 0});
  std::vector<std::pair<EventQueue::Time, int>> expected;
  int runs = 0;
  const auto wake = [&](int t, EventQueue::Time at) {
    auto& p = pending[static_cast<std::size_t>(t)];
    if (p.at <= at) return;
    p = {at, asked++};
    q.wake_at(probes[static_cast<std::size_t>(t)], at);
  };
  hook_up(probes, q, log);
  for (int t = 0; t < k_targets; ++t) {
    probes[static_cast<std::size_t>(t)].then = [&, t] {
      pending[static_cast<std::size_t>(t)].at = std::numeric_limits<EventQueue::Time>::max();
      if (++runs > 20000) return;
      // Wake a few targets (itself among them sometimes) at now or up to 2^k later, with ties.
      for (int k = 0; k < 2; ++k) {
        const int who = static_cast<int>(random() % k_targets);
        const auto shift = random() % 24;
        wake(who, q.now() + (random() % 3 == 0 ? 0 : (random() % 4) << shift));
      }
    };
  }
  for (int t = 0; t < k_targets; ++t) wake(t, random() % 1000);
  // The reference: at each step the live pending wake-up with the least (time, order).
  std::vector<std::pair<EventQueue::Time, int>> reference;
  while (true) {
    int best = -1;
    for (int t = 0; t < k_targets; ++t) {
      const auto& p = pending[static_cast<std::size_t>(t)];
      if (p.at == std::numeric_limits<EventQueue::Time>::max()) continue;
      const auto& b = pending[static_cast<std::size_t>(best < 0 ? t : best)];
      if (best < 0 || std::tie(p.at, p.order) < std::tie(b.at, b.order)) best = t;
    }
    if (best < 0) break;
    reference.emplace_back(pending[static_cast<std::size_t>(best)].at, best);
    REQUIRE(q.run_next());
    REQUIRE(log.back() == reference.back());
  }
  CHECK_FALSE(q.run_next());
  CHECK(log.size() > 20000);
}

}  // namespace
}  // namespace rdasim::sim
