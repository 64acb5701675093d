// Shared, bandwidth-limited hardware in plain C++ (no SystemC): a switch link, an AGCU, a memory
// tier. Each serves bytes at its rate, first come first served; a transfer reserves it from the
// moment it is free. Idle resources cost nothing: time only advances when a transfer asks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "arch/fabric.h"

namespace rdasim::sim {

/// When a transfer's first and last bytes arrive (cycles).
struct Span {
  double first = 0;
  double last = 0;
};

/// One resource: `bytes_per_cycle`, busy until free_at().
class Pipe {
 public:
  explicit Pipe(double bytes_per_cycle = 0) : m_rate(bytes_per_cycle) {}
  [[nodiscard]] double rate() const { return m_rate; }
  [[nodiscard]] double free_at() const { return m_free; }
  [[nodiscard]] double bytes() const { return m_bytes; }
  [[nodiscard]] double busy_cycles() const { return m_busy; }
  /// Cycles `bytes` occupy it; 0 for a resource without a rate (unlimited).
  [[nodiscard]] double duration(double bytes) const { return m_rate > 0 ? bytes / m_rate : 0.0; }
  /// Occupies it from `start` (not before free_at()) for `bytes`; returns the end.
  double occupy(double start, double bytes) { return occupy_for(start, bytes, duration(bytes)); }
  /// occupy() when the caller has duration(bytes) at hand (links of one rate along a route).
  double occupy_for(double start, double bytes, double cycles) {
    m_free = start + cycles;
    m_bytes += bytes;
    m_busy += cycles;
    return m_free;
  }
  /// Counts the bytes and busy time of work replayed rather than simulated (an alike section
  /// repeated on idle hardware), leaving free_at() alone.
  void replay(double bytes, double busy) {
    m_bytes += bytes;
    m_busy += busy;
  }

 private:
  double m_rate = 0;
  double m_free = 0;
  double m_bytes = 0;
  double m_busy = 0;
};

/// The switch mesh's links, one Pipe each. Each link of a transfer's path (or multicast tree)
/// carries it in its turn, first come first served, without waiting on the path's other links
/// (wormhole switching with buffered hops): a link a stream shares with others is busy as long
/// as any of them has bytes for it, which is what the mapper's busiest-link estimate assumes.
/// Holding every link of the path at once instead (a circuit) idled a shared link whenever one
/// stream's route was busy elsewhere: 33 PMUs streaming weights into a PCU ran 1.5x slower.
class Network {
 public:
  explicit Network(const arch::Fabric& fabric);
  /// Moves `bytes` over `links` no earlier than `now`; returns when its first and last bytes
  /// leave the source (hop latencies are the caller's).
  Span transfer(double now, double bytes, const std::vector<int>& links);
  [[nodiscard]] const Pipe& link(int id) const { return m_links[static_cast<std::size_t>(id)]; }
  [[nodiscard]] std::size_t size() const { return m_links.size(); }
  /// Counts a replayed section's traffic on link `id` (Pipe::replay).
  void replay(int id, double bytes, double busy) { m_links[static_cast<std::size_t>(id)].replay(bytes, busy); }

 private:
  std::vector<Pipe> m_links;
};

/// Off-chip memory as the chip shares it: one tier (where the mapping keeps tensors), reached
/// through each tile's AGCUs. Every tenant's traffic queues here, so this is where concurrent
/// applications interfere.
class Memory {
 public:
  Memory(const arch::Fabric& fabric, std::size_t tier);
  /// Reads or writes `bytes` through `tile`'s AGCUs no earlier than `now`; returns when the
  /// first and last bytes have arrived (reads) or are in memory (writes), latency included.
  Span transfer(double now, double bytes, int tile, bool write);
  [[nodiscard]] double read_bytes() const { return m_read; }
  [[nodiscard]] double write_bytes() const { return m_written; }
  [[nodiscard]] const Pipe& tier() const { return m_tier; }
  [[nodiscard]] double latency_cycles() const { return m_latency; }
  /// Counts a replayed section's traffic (Pipe::replay); the AGCUs' counters are not reported.
  void replay(double read, double written, double tier_busy) {
    m_read += read;
    m_written += written;
    m_tier.replay(read + written, tier_busy);
  }

 private:
  Pipe m_tier;
  std::vector<Pipe> m_agcus;  ///< per tile: its AGCUs' links together
  double m_latency = 0;
  double m_read = 0;
  double m_written = 0;
};

}  // namespace rdasim::sim
