// The order in which a chip's units, memory arbiter and sequencers run: earliest first, and
// those due at the same time in the order they were woken (first in, first out). SystemC runs
// processes due at the same time in an order IEEE 1666 leaves to the implementation (libsystemc
// pops them from a heap, so the order followed the heap's layout: how many units other tenants
// had, what else was pending), and a chip's shared DRAM made the results depend on it. Here the
// order is part of the model, and a wake-up costs a push and a pop on a radix heap instead of a
// SystemC timed notification, a heap of events and a process dispatch.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace rdasim::sim {

/// Something a queue runs: a unit, a memory arbiter, a tenant's sequencer. At most one wake-up
/// is pending for each, the earliest asked for (as with an sc_event's notifications).
class Wakeable {
 public:
  virtual ~Wakeable() = default;
  Wakeable() = default;
  Wakeable(const Wakeable&) = delete;
  Wakeable& operator=(const Wakeable&) = delete;
  /// Runs what is due; may wake anything, itself included.
  virtual void wake_up() = 0;

 private:
  friend class EventQueue;
  std::uint64_t m_due = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t m_serial = 0;  ///< of the wake-up in force; older entries are dropped when popped
};

class EventQueue {
 public:
  /// Thousandths of a cycle: times resolve finer than any latency or rate the model uses.
  using Time = std::uint64_t;
  static constexpr double k_per_cycle = 1000.0;

  [[nodiscard]] Time now() const { return m_now; }
  [[nodiscard]] double now_cycles() const { return static_cast<double>(m_now) / k_per_cycle; }
  /// Cycle `at` rounded up to the resolution and never before now: rounding down would wake a
  /// unit before what it waits for, again and again in zero time.
  [[nodiscard]] Time time_of(double at) const {
    const double delay = (at - now_cycles()) * k_per_cycle;
    return delay <= 1e-3 ? m_now : m_now + static_cast<Time>(std::ceil(delay - 1e-3));
  }

  /// Wakes `w` at cycle `at` unless it is already due by then.
  void wake(Wakeable& w, double at) { wake_at(w, time_of(at)); }
  /// Wakes `w` at `at` (not before now) unless it is already due by then.
  void wake_at(Wakeable& w, Time at) {
    if (w.m_due <= at) return;
    w.m_due = at;
    push({at, &w, ++w.m_serial});
  }

  /// The time of the earliest pending wake-up; Time's maximum when none is left.
  [[nodiscard]] Time next() {
    if (!settle()) return std::numeric_limits<Time>::max();
    return m_buckets[0][m_head].at;
  }

  /// Advances to the earliest pending wake-up and runs it; false when none is left.
  bool run_next() {
    if (!settle()) return false;
    const Entry e = m_buckets[0][m_head++];
    --m_size;
    m_now = e.at;
    e.w->m_due = std::numeric_limits<Time>::max();
    e.w->wake_up();
    return true;
  }

 private:
  struct Entry {
    Time at;
    Wakeable* w;
    std::uint64_t serial;
  };

  // A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) on times cut to 4096 thousandths of
  // a cycle (their "slot"), which needs slots never below the last one taken, as in a
  // simulation: bucket i > 0 holds the entries whose slot's highest bit that differs from the
  // last slot taken is bit i - 1; bucket 0 holds the last slot's, sorted by time, and is where
  // they leave from. Entries of one slot are always in one bucket and move down in order, so
  // those of one time leave in the order they were pushed (bucket 0 is sorted stably and a new
  // one goes after those of its time). Slots, not times: a wake-up due within a few cycles of
  // the last goes straight to bucket 0 instead of down a bucket per bit (4 cycles: the fewest
  // instructions for DCRNN's simulation, against 1 and 8; 64 sorts too much).
  static constexpr int k_slot_bits = 12;
  static Time slot(Time at) { return at >> k_slot_bits; }
  static std::size_t bucket(Time at, Time last_slot) {
    return static_cast<std::size_t>(std::bit_width(slot(at) ^ last_slot));
  }

  void push(const Entry& e) {
    ++m_size;
    const std::size_t b = bucket(e.at, m_last);
    if (b > 0) {
      m_buckets[b].push_back(e);
      return;
    }
    auto& zero = m_buckets[0];
    const auto after = std::upper_bound(zero.begin() + static_cast<std::ptrdiff_t>(m_head), zero.end(), e.at,
                                        [](Time at, const Entry& x) { return at < x.at; });
    zero.insert(after, e);
  }

  /// Brings the earliest live entry to bucket 0's head, dropping superseded ones; false when
  /// none is left.
  bool settle() {
    for (;;) {
      auto& zero = m_buckets[0];
      while (m_head < zero.size() && zero[m_head].serial != zero[m_head].w->m_serial) {
        ++m_head;
        --m_size;
      }
      if (m_head < zero.size()) return true;
      zero.clear();
      m_head = 0;
      if (m_size == 0) return false;
      std::size_t i = 1;
      while (m_buckets[i].empty()) ++i;
      auto& from = m_buckets[i];
      Time least = std::numeric_limits<Time>::max();
      for (const auto& e : from) least = std::min(least, slot(e.at));
      m_last = least;
      for (const auto& e : from) m_buckets[bucket(e.at, m_last)].push_back(e);
      from.clear();
      // Sorted by insertion: a slot holds a few entries, and equal times keep their order.
      for (std::size_t k = 1; k < zero.size(); ++k) {
        const Entry e = zero[k];
        std::size_t j = k;
        for (; j > 0 && zero[j - 1].at > e.at; --j) zero[j] = zero[j - 1];
        zero[j] = e;
      }
    }
  }

  std::array<std::vector<Entry>, 65> m_buckets;
  std::size_t m_head = 0;  ///< bucket 0's entries before it have been popped
  std::size_t m_size = 0;  ///< entries in all buckets, bucket 0's popped ones aside
  Time m_last = 0;         ///< the slot taken last
  Time m_now = 0;
};

}  // namespace rdasim::sim
