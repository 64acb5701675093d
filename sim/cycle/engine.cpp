// The SystemC side of the simulator, and the only file that includes <systemc>. A UnitRunner
// per physical unit carries the node its section configured on it and runs the node's step
// (sim/cycle/dataflow) when woken: no clock, no per-cycle wake-ups; a unit wakes only when a
// token lands, room frees up downstream or its own work ends. A SequencerModule per tenant
// steps through the tenant's sections: reconfiguration, the DMA of traffic no unit holds, then
// streaming until every node has fired its tokens. A "world" is one chip: its network, its
// memory and the tenants running on it; tenants alone get worlds of their own.
//
// Within a world, wake-ups go through the world's EventQueue (sim/cycle/event_queue.h), which
// fixes the order of those due at once; a world's SystemC process runs the queue and keeps
// SystemC's time within k_sync_cycles of the world's, as a TLM-2.0 quantum keeper does for a
// temporally decoupled initiator. Worlds share nothing, so the decoupling is exact.
#include <systemc>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <memory_resource>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/worker.h"
#include "sim/cycle/event_queue.h"
#include "sim/cycle/simulate.h"

namespace rdasim::sim {

namespace {

/// One cycle is 1000 of SystemC's default picoseconds, as it is 1000 of EventQueue::Time.
static_assert(EventQueue::k_per_cycle == 1000.0);

/// How far a world's time runs ahead of SystemC's before its process waits for SystemC's to
/// catch up: a few thousand waits for a long run instead of one per event.
constexpr EventQueue::Time k_sync_cycles = 10000;

class SequencerModule;

/// What a unit did over the run, across sections.
struct UnitTotals {
  double time[4] = {0, 0, 0, 0};
};

/// A physical unit: runs the node its section configured on it when woken. Plain C++, in one
/// array per world: this object is the first thing a wake-up touches, and as an sc_module each
/// (232 bytes of SystemC object before its own fields, allocated one by one) it was the line
/// the simulator stalled on most (perf: 7% of the 5-member ensemble's samples).
class UnitRunner final : public Wakeable {
 public:
  void attach(EventQueue& queue) { m_queue = &queue; }
  void configure(SectionFlow* flow, int node, DataflowContext* context) {
    m_flow = flow;
    m_node = node;
    m_context = context;
  }
  /// Runs the unit at cycle `at` unless it already runs by then.
  void wake_at(double at) { m_queue->wake(*this, at); }
  UnitTotals totals;

 private:
  void wake_up() override {
    if (m_flow == nullptr) return;
    const double next = m_flow->step(m_node, m_queue->now_cycles(), *m_context);
    if (next < k_never) wake_at(next);
  }
  EventQueue* m_queue = nullptr;
  SectionFlow* m_flow = nullptr;
  DataflowContext* m_context = nullptr;
  int m_node = -1;
};

struct TraceSink {
  core::Json events = core::Json::array();
  double us_per_cycle = 0;
  void slice(int pid, long tid, std::string name, double start, double end, core::Json args = core::Json::object()) {
    // Microseconds to the nanosecond: finer digits would only swell the file.
    const auto us = [](double v) { return std::round(v * 1e3) / 1e3; };
    events.push_back({{"name", std::move(name)},
                      {"ph", "X"},
                      {"pid", pid},
                      {"tid", tid},
                      {"ts", us(start * us_per_cycle)},
                      {"dur", us(std::max(0.0, end - start) * us_per_cycle)},
                      {"args", std::move(args)}});
  }
  void name_track(int pid, long tid, const std::string& name) {
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", {{"name", name}}}});
  }
  void name_process(int pid, const std::string& name) {
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", pid}, {"args", {{"name", name}}}});
  }
};

/// Orders a chip's DRAM traffic by need. A request waits here while the memory's queue is full
/// and goes when it drains, the one needed soonest first: reads before writes (as memory
/// controllers favour reads; a unit whose writes back up stalls, which stops its reads), then
/// the earliest op of its section in program order, then the earliest token that needs it
/// (a read needed whole is needed by the first), then the unit. So an op's units take turns
/// token by token, and units that each need all of their reads get them one after another,
/// each starting as soon as its own are in. Without it every unit of a section prefetched at
/// once: the first op's weights arrived as late as the last one's, and a decode step's chain of
/// barriers ran only after all of its weights had landed.
class MemoryArbiter : public sc_core::sc_module, public Wakeable {
 public:
  MemoryArbiter(const sc_core::sc_module_name& name, Memory& memory, EventQueue& queue)
      : sc_module(name),
        m_memory(memory),
        m_events(queue),
        m_queue_cycles(std::max(memory.latency_cycles(), 1.0)) {}
  /// Node `node` of tenant slot `tenant` (running `flow` for `context`) has traffic to issue.
  void want(int tenant, SectionFlow& flow, DataflowContext& context, int node, double now) {
    auto& n = flow.nodes()[static_cast<std::size_t>(node)];
    if (n.memory_queued)
      m_waiting.erase({n.queued_deferred, n.op, n.queued_token, tenant, node, false, &flow, &context});
    n.memory_queued = false;
    enqueue({false, n.op, 0, tenant, node, false, &flow, &context});
    admit(now);
  }

 private:
  struct Want {
    bool deferred;  ///< a write nobody waits on: after every read
    int op;
    std::int64_t token;
    int tenant;
    int node;
    bool write;  ///< what it issues (not part of the order)
    SectionFlow* flow;
    DataflowContext* context;
    bool operator<(const Want& o) const {
      return std::tie(deferred, op, token, tenant, node) < std::tie(o.deferred, o.op, o.token, o.tenant, o.node);
    }
  };
  void wake_up() override { admit(m_events.now_cycles()); }
  /// What the node asks for next and its place in the queue; false when it asks nothing. A
  /// write its unit waits on is as urgent as a read it needs; other writes wait for the reads.
  static bool rank(Want& w) {
    const auto& n = w.flow->nodes()[static_cast<std::size_t>(w.node)];
    const bool can_write = w.flow->can_write(w.node);
    if (!can_write && !w.flow->can_read(w.node)) return false;
    w.write = can_write && (w.flow->writes_full(w.node) || !w.flow->can_read(w.node));
    w.deferred = w.write && !w.flow->writes_full(w.node);
    w.token = w.write ? n.writes : n.dram_all ? 0 : n.reads;
    return true;
  }
  void enqueue(Want w) {
    if (!rank(w)) return;
    auto& n = w.flow->nodes()[static_cast<std::size_t>(w.node)];
    n.memory_queued = true;
    n.queued_deferred = w.deferred;
    n.queued_token = w.token;
    m_waiting.insert(w);
  }
  /// Issues traffic, most needed first, until the memory's queue holds `m_queue_cycles` of work.
  void admit(double now) {
    while (!m_waiting.empty() && m_memory.tier().free_at() - now < m_queue_cycles) {
      Want w = *m_waiting.begin();
      m_waiting.erase(m_waiting.begin());
      w.flow->nodes()[static_cast<std::size_t>(w.node)].memory_queued = false;
      if (!rank(w)) continue;  // its read window filled since: it asks again once it fires
      if (w.write) {
        w.flow->issue_write(w.node, now, *w.context);
      } else {
        w.flow->issue_read(w.node, now, *w.context);
      }
      enqueue(w);
    }
    // Come back when half the queue has drained.
    if (!m_waiting.empty()) m_events.wake(*this, m_memory.tier().free_at() - m_queue_cycles / 2);
  }
  Memory& m_memory;
  EventQueue& m_events;
  double m_queue_cycles;  ///< ASSUMED: the memory queues one latency's worth of requests
  /// The waiting set's nodes, from a pool rather than malloc: every DRAM request is inserted
  /// and erased once.
  std::pmr::unsynchronized_pool_resource m_pool;
  std::pmr::set<Want> m_waiting{&m_pool};
};

/// What simulating a section did, to replay an alike one (SimOptions::replay): times from its
/// start, and the work it added to every counter the report reads. Workers that simulate
/// sections side by side send theirs back as JSON.
struct SectionRecord {
  struct Node {
    int unit = 0, op = 0;
    std::vector<double> time;  ///< cycles per UnitState
    bool fired = false;
    double first = 0, last = 0;  ///< from the section's start
    static constexpr auto json_fields() {
      using core::field;
      using T = Node;
      return std::tuple{field("unit", &T::unit),   field("op", &T::op),       field("time", &T::time),
                        field("fired", &T::fired), field("first", &T::first), field("last", &T::last)};
    }
  };
  struct Link {
    int link = 0;
    double bytes = 0;
    double busy = 0;  ///< cycles
    static constexpr auto json_fields() {
      using core::field;
      using T = Link;
      return std::tuple{field("link", &T::link), field("bytes", &T::bytes), field("busy", &T::busy)};
    }
  };
  SectionResult result;
  double run_from = 0;  ///< streaming began this long after the section's start
  std::vector<Node> nodes;
  std::vector<Link> links;  ///< what the section added to each link it used
  double read = 0, written = 0, tier_busy = 0, pmu_bytes = 0, hop_bytes = 0;
  static constexpr auto json_fields() {
    using core::field;
    using T = SectionRecord;
    return std::tuple{
        field("result", &T::result),       field("run_from", &T::run_from),   field("nodes", &T::nodes),
        field("links", &T::links),         field("read", &T::read),           field("written", &T::written),
        field("tier_busy", &T::tier_busy), field("pmu_bytes", &T::pmu_bytes), field("hop_bytes", &T::hop_bytes)};
  }
};

using SectionKey = core::JsonDigest::Value;
using SectionRecords = std::map<SectionKey, SectionRecord>;

/// What makes two sections alike: everything the simulator reads of them (names aside).
SectionKey alike_key(const mapper::MappedSection& section) {
  // Names are for people, and a unit's DRAM traffic adds up whatever the order (a graph input
  // and an earlier section's tensor are listed differently).
  const auto skip = [](std::string_view field) { return field == "name" || field == "streamed" || field == "dram"; };
  core::JsonDigest digest;
  core::digest_value(digest, section, skip);
  std::vector<SectionKey> dram;
  for (const auto& d : section.dram) {
    core::JsonDigest one;
    core::digest_value(one, d, skip);
    dram.push_back(one.value());
  }
  std::sort(dram.begin(), dram.end());
  for (const auto& d : dram) digest.add(d);
  return digest.value();
}

/// alike_key of each of a tenant's sections.
std::vector<SectionKey> alike_keys(const mapper::Tenant& tenant) {
  std::vector<SectionKey> keys;
  for (const auto& s : tenant.sections) keys.push_back(alike_key(s));
  return keys;
}

/// Equal for tenants that simulate alone alike, event for event: the tenant's sections with each
/// fabric unit, link and tile renamed by its rank among the tenant's own (ranks keep the order,
/// which sets the units' module creation and every map's iteration), and what the simulation
/// reads of each (a unit's kind and tile, a link's rate and latency; every tile has the same
/// AGCUs). The members of an ensemble, laid out alike in their regions, share one key: one of
/// them is simulated alone for all.
SectionKey alone_key(const mapper::Tenant& tenant, const arch::Fabric& fabric) {
  std::vector<int> units, links, tiles;
  for (const auto& s : tenant.sections) {
    for (const auto& o : s.ops) units.insert(units.end(), o.units.begin(), o.units.end());
    for (const auto& st : s.streams) {
      units.push_back(st.src);
      units.push_back(st.dst);
      links.insert(links.end(), st.links.begin(), st.links.end());
    }
    for (const auto& d : s.dram) {
      if (d.unit >= 0) units.push_back(d.unit);
    }
  }
  const auto sort_unique = [](std::vector<int>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  sort_unique(units);
  sort_unique(links);
  for (int u : units) tiles.push_back(fabric.unit(u).tile);
  sort_unique(tiles);
  const auto rank = [](const std::vector<int>& sorted, int id) {
    return static_cast<int>(std::lower_bound(sorted.begin(), sorted.end(), id) - sorted.begin());
  };
  std::vector<mapper::MappedSection> sections = tenant.sections;
  for (auto& s : sections) {
    for (auto& o : s.ops) {
      for (int& u : o.units) u = rank(units, u);
    }
    for (auto& st : s.streams) {
      st.src = rank(units, st.src);
      st.dst = rank(units, st.dst);
      for (int& l : st.links) l = rank(links, l);
    }
    for (auto& d : s.dram) {
      if (d.unit >= 0) d.unit = rank(units, d.unit);
    }
  }
  core::JsonDigest digest;
  // Names (and the streamed axis, described by name) are for people.
  core::digest_value(digest, sections, [](std::string_view field) { return field == "name" || field == "streamed"; });
  for (int u : units) {
    const auto& unit = fabric.unit(u);
    digest.add_text(to_string(unit.kind));
    digest.add(core::Json(rank(tiles, unit.tile)));
  }
  for (int l : links) {
    const auto& link = fabric.links()[static_cast<std::size_t>(l)];
    digest.add(core::Json::array({link.bytes_per_cycle, link.latency_cycles}));
  }
  return digest.value();
}

/// Runs a world's EventQueue to its end, keeping SystemC's time within k_sync_cycles behind the
/// world's. A method that triggers itself again when it has run ahead, not a thread: threads
/// switch stacks, which AddressSanitizer follows only with warnings.
class WorldProcess : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(WorldProcess);
  WorldProcess(const sc_core::sc_module_name& name, EventQueue& queue) : sc_module(name), m_queue(queue) {
    SC_METHOD(run);
  }

 private:
  void run() {
    constexpr auto k_ahead = k_sync_cycles * static_cast<EventQueue::Time>(EventQueue::k_per_cycle);
    const auto synced = sc_core::sc_time_stamp().value();
    for (auto next = m_queue.next(); next != std::numeric_limits<EventQueue::Time>::max(); next = m_queue.next()) {
      if (next >= synced + k_ahead) {
        next_trigger(sc_core::sc_time::from_value(next - synced));
        return;
      }
      m_queue.run_next();
    }
  }
  EventQueue& m_queue;
};

/// One chip: its network and memory, shared by the tenants on it, and the order of its events.
struct World {
  World(const arch::Fabric& fabric, std::size_t tier, const std::string& name)
      : network(fabric),
        memory(fabric, tier),
        arbiter((name + "_memory").c_str(), memory, queue),
        process((name + "_events").c_str(), queue) {}
  EventQueue queue;
  Network network;
  Memory memory;
  MemoryArbiter arbiter;
  WorldProcess process;
  std::vector<int> unit_ids;            ///< fabric ids of the units of its tenants, ascending
  std::unique_ptr<UnitRunner[]> units;  ///< the unit of each id in unit_ids
  /// Gives the world the units of `ids` (ascending, distinct).
  void add_units(std::vector<int> ids) {
    unit_ids = std::move(ids);
    units = std::make_unique<UnitRunner[]>(unit_ids.size());
    for (std::size_t i = 0; i < unit_ids.size(); ++i) units[i].attach(queue);
  }
  [[nodiscard]] UnitRunner& unit(int id) {
    const auto it = std::lower_bound(unit_ids.begin(), unit_ids.end(), id);
    RDASIM_ASSERT(it != unit_ids.end() && *it == id, "a unit its world was not given");
    return units[static_cast<std::size_t>(it - unit_ids.begin())];
  }
};

/// Shared by all sequencers: the fabric, options, progress and the trace.
struct Run {
  const arch::Fabric& fabric;
  const SimOptions& options;
  std::size_t tier = 0;  ///< the memory tier holding the tensors
  std::size_t sections_total = 0;
  std::size_t sections_done = 0;
  TraceSink* trace = nullptr;
  std::set<std::pair<int, long>> traced_tracks;  ///< (pid, tid) already named
};

class SequencerModule : public sc_core::sc_module, public DataflowContext, public Wakeable {
 public:
  SequencerModule(const sc_core::sc_module_name& name, const mapper::Tenant& tenant, int pid, World& world, Run& run,
                  bool traced, bool replays, SectionRecords given = {}, std::vector<SectionKey> keys = {})
      : sc_module(name),
        m_tenant(tenant),
        m_pid(pid),
        m_world(world),
        m_run(run),
        m_traced(traced),
        m_replays(replays),
        m_records(std::move(given)),
        m_keys(std::move(keys)) {
    if (m_replays && m_keys.empty()) m_keys = alike_keys(tenant);
    RDASIM_ASSERT(!m_replays || m_keys.size() == tenant.sections.size(), "alike keys of another tenant's sections");
    m_world.queue.wake_at(*this, m_world.queue.now());
  }

  Network& network() override { return m_world.network; }
  Memory& memory() override { return m_world.memory; }
  void wake(int node, double at) override { m_runners[static_cast<std::size_t>(node)]->wake_at(at); }
  void want_memory(int node, double now) override { m_world.arbiter.want(m_pid, *m_flow, *this, node, now); }
  void node_done(int /*node*/) override {
    if (--m_remaining == 0) wake_at(m_world.queue.now_cycles());
  }

  [[nodiscard]] bool finished() const { return m_phase == Phase::finished; }
  [[nodiscard]] double end() const { return m_end; }
  [[nodiscard]] const std::vector<SectionResult>& sections() const { return m_results; }
  [[nodiscard]] std::size_t section() const { return m_section; }
  [[nodiscard]] std::string stall_report() const { return m_flow ? m_flow->stall_report() : std::string{}; }
  [[nodiscard]] const std::map<int, double>& link_peak() const { return m_link_peak; }
  [[nodiscard]] double pmu_bytes() const { return m_pmu_bytes; }
  [[nodiscard]] double hop_bytes() const { return m_hop_bytes; }
  /// Node firings of the sections it simulated (replayed ones fire nothing).
  [[nodiscard]] double firings() const { return m_firings; }
  [[nodiscard]] const SectionRecords& records() const { return m_records; }

 private:
  enum class Phase { next, reconfig, load, stream, replay, finished };

  /// Starts the counters a record is the difference of.
  void record_start() {
    m_base = {};
    m_base.read = m_world.memory.read_bytes();
    m_base.written = m_world.memory.write_bytes();
    m_base.tier_busy = m_world.memory.tier().busy_cycles();
    m_base.pmu_bytes = m_pmu_bytes;
    m_base.hop_bytes = m_hop_bytes;
  }

  void wake_at(double at) { m_world.queue.wake(*this, at); }

  void wake_up() override {
    const double now = m_world.queue.now_cycles();
    switch (m_phase) {
      case Phase::next:
        if (m_section == m_tenant.sections.size()) {
          m_phase = Phase::finished;
          m_end = now;
          return;
        }
        m_result = SectionResult{};
        m_result.start = now;
        // Replays need idle hardware at the start, as a tenant alone has between sections.
        m_recording = m_replays && m_world.memory.tier().free_at() <= now + 1e-6;
        if (m_recording) {
          m_key = m_keys.at(m_section);
          if (const auto found = m_records.find(m_key); found != m_records.end()) {
            m_phase = Phase::replay;
            wake_at(now + found->second.result.cycles());
            return;
          }
          record_start();
        }
        m_phase = Phase::reconfig;
        wake_at(now + m_tenant.sections[m_section].reconfig_cycles);
        return;
      case Phase::replay:
        replay(m_records.at(m_key), m_result.start);
        wake_at(now);
        return;
      case Phase::reconfig:
        m_result.reconfig_cycles = now - m_result.start;
        m_flow =
            std::make_unique<SectionFlow>(m_tenant.sections[m_section], m_run.fabric, m_run.tier, m_run.options.tokens);
        m_dma.clear();
        for (const auto& [tile, bytes] : m_flow->preload()) queue_dma(tile, bytes, false);
        for (const auto& [tile, bytes] : m_flow->prewrite()) queue_dma(tile, bytes, true);
        m_phase = Phase::load;
        [[fallthrough]];
      case Phase::load:
        if (!load(now)) return;
        m_result.load_cycles = now - m_result.start - m_result.reconfig_cycles;
        start_streaming(now);
        if (m_remaining > 0) return;
        [[fallthrough]];
      case Phase::stream:
        if (m_remaining > 0) return;
        end_section(now);
        wake_at(now);
        return;
      case Phase::finished: return;
    }
  }

  /// The DMA of traffic no unit holds: pieces with a few in flight, so other tenants' traffic
  /// interleaves. load() returns true when all have landed.
  void queue_dma(int tile, double bytes, bool write) {
    constexpr double k_piece = 64.0 * 1024;
    for (double left = bytes; left > 0; left -= k_piece) m_dma.push_back({tile, std::min(left, k_piece), write});
    m_dma_next = 0;
  }
  bool load(double now) {
    constexpr std::size_t k_in_flight = 4;
    while (!m_dma_pending.empty() && *m_dma_pending.begin() <= now + 1e-6) m_dma_pending.erase(m_dma_pending.begin());
    while (m_dma_next < m_dma.size() && m_dma_pending.size() < k_in_flight) {
      const auto& p = m_dma[m_dma_next++];
      m_dma_pending.insert(m_world.memory.transfer(now, p.bytes, p.tile, p.write).last);
      m_pmu_bytes += p.bytes;
    }
    if (m_dma_pending.empty()) return true;
    wake_at(*m_dma_pending.begin());
    return false;
  }

  void start_streaming(double now) {
    m_phase = Phase::stream;
    m_run_start = now;
    auto& nodes = m_flow->nodes();
    m_runners.assign(nodes.size(), nullptr);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      auto& runner = m_world.unit(nodes[i].unit);
      runner.configure(m_flow.get(), static_cast<int>(i), this);
      m_runners[i] = &runner;
      nodes[i].since = now;
      runner.wake_at(now);
    }
    m_link_busy.clear();
    m_link_bytes.clear();
    for (int l : m_flow->links()) {
      m_link_busy.push_back(m_world.network.link(l).busy_cycles());
      m_link_bytes.push_back(m_world.network.link(l).bytes());
    }
    m_remaining = nodes.size();
  }

  void end_section(double now) {
    m_flow->finish(now);
    const auto& section = m_tenant.sections[m_section];
    SectionRecord* record = m_recording ? &m_records.emplace(m_key, SectionRecord{}).first->second : nullptr;
    m_result.run_cycles = now - m_run_start;
    m_result.end = now;
    m_result.tokens = m_flow->tokens();
    m_result.analytic_cycles = section.cycles();
    m_result.bound = section.bound();
    const double run = std::max(m_result.run_cycles, 1e-9);
    const auto& links = m_flow->links();
    std::vector<SectionRecord::Link> used;  // what the section added to its links (only it uses them)
    for (std::size_t i = 0; i < links.size(); ++i) {
      const auto& link = m_world.network.link(links[i]);
      const double busy = link.busy_cycles() - m_link_busy[i];
      auto& peak = m_link_peak[links[i]];
      peak = std::max(peak, busy / run);
      used.push_back({links[i], link.bytes() - m_link_bytes[i], busy});
    }
    const auto tokens = static_cast<double>(m_flow->tokens());
    for (const auto& ch : m_flow->channels()) m_hop_bytes += ch.bytes * tokens * static_cast<double>(ch.links.size());
    const double start = m_result.start;
    for (std::size_t i = 0; i < m_flow->nodes().size(); ++i) {
      const auto& n = m_flow->nodes()[i];
      auto* runner = m_runners[i];
      for (int s = 0; s < 4; ++s) runner->totals.time[s] += n.time[s];
      m_firings += static_cast<double>(n.fired);
      m_pmu_bytes += n.pmu_bytes * tokens;
      runner->configure(nullptr, -1, nullptr);
      const double busy = n.time[static_cast<int>(UnitState::busy)];
      if (m_traced)
        trace_node(n.unit, section.ops[static_cast<std::size_t>(n.op)].name, n.first_start, n.last_end, busy);
      if (record != nullptr) {
        const bool fired = n.first_start < k_never;
        record->nodes.push_back({n.unit,
                                 n.op,
                                 {n.time[0], n.time[1], n.time[2], n.time[3]},
                                 fired,
                                 fired ? n.first_start - start : 0.0,
                                 n.last_end - start});
      }
    }
    if (m_traced) trace_section(m_run_start, used);
    if (record != nullptr) {
      record->result = m_result;
      record->run_from = m_run_start - start;
      record->links = std::move(used);
      const auto& memory = m_world.memory;
      record->read = memory.read_bytes() - m_base.read;
      record->written = memory.write_bytes() - m_base.written;
      record->tier_busy = memory.tier().busy_cycles() - m_base.tier_busy;
      record->pmu_bytes = m_pmu_bytes - m_base.pmu_bytes;
      record->hop_bytes = m_hop_bytes - m_base.hop_bytes;
    }
    m_flow.reset();
    finish_section();
  }

  /// An alike section's record played again from `start`: the same times and work.
  void replay(const SectionRecord& record, double start) {
    const auto& section = m_tenant.sections[m_section];
    m_result = record.result;
    m_result.start = start;
    m_result.end = start + record.result.cycles();
    m_result.analytic_cycles = section.cycles();
    for (const auto& n : record.nodes) {
      auto& totals = m_world.unit(n.unit).totals;
      for (std::size_t s = 0; s < 4; ++s) totals.time[s] += n.time.at(s);
      if (m_traced && n.fired) {
        trace_node(n.unit, section.ops[static_cast<std::size_t>(n.op)].name, start + n.first, start + n.last,
                   n.time.at(static_cast<std::size_t>(UnitState::busy)));
      }
    }
    const double run = std::max(m_result.run_cycles, 1e-9);
    for (const auto& l : record.links) {
      m_world.network.replay(l.link, l.bytes, l.busy);
      auto& peak = m_link_peak[l.link];
      peak = std::max(peak, l.busy / run);
    }
    m_world.memory.replay(record.read, record.written, record.tier_busy);
    m_pmu_bytes += record.pmu_bytes;
    m_hop_bytes += record.hop_bytes;
    if (m_traced) trace_section(start + record.run_from, record.links);
    finish_section();
  }

  void finish_section() {
    m_results.push_back(m_result);
    ++m_section;
    m_phase = Phase::next;
    if (m_traced) {
      ++m_run.sections_done;
      if (m_run.options.progress) m_run.options.progress(m_run.sections_done, m_run.sections_total);
    }
  }

  /// A unit's slice: `op` from `first` to `last`, busy `busy` cycles of it.
  void trace_node(int unit, const std::string& op, double first, double last, double busy) {
    if (first == k_never) return;
    const auto& u = m_run.fabric.unit(unit);
    const long tid = 1 + unit;
    if (m_run.traced_tracks.insert({m_pid, tid}).second) {
      m_run.trace->name_track(m_pid, tid,
                              fmt::format("{} {} tile {} ({},{})", arch::to_string(u.kind), u.id, u.tile, u.x, u.y));
    }
    const double active = std::max(last - first, 1e-9);
    m_run.trace->slice(m_pid, tid, op, first, last, {{"unit", unit}, {"section", m_section}, {"busy", busy / active}});
  }

  /// The section's slices, streaming from `run_start`; `links`: the bytes it put on each link.
  void trace_section(double run_start, const std::vector<SectionRecord::Link>& links) {
    auto* t = m_run.trace;
    if (m_section == 0) t->name_track(m_pid, 0, "sections");
    t->slice(m_pid, 0, fmt::format("section {}", m_section), m_result.start, m_result.end,
             {{"tokens", m_result.tokens},
              {"analytic_cycles", m_result.analytic_cycles},
              {"bound", to_string(m_result.bound)}});
    t->slice(m_pid, 0, "reconfigure", m_result.start, m_result.start + m_result.reconfig_cycles);
    t->slice(m_pid, 0, "load", m_result.start + m_result.reconfig_cycles, run_start);
    t->slice(m_pid, 0, "stream", run_start, m_result.end);
    // Links: one track per link, one slice over the sections that used it (added up at the end).
    for (const auto& l : links) {
      auto& use = m_link_use[l.link];
      if (use.bytes == 0) use.first = run_start;
      use.last = m_result.end;
      use.bytes += l.bytes;
    }
  }

 public:
  /// The link slices of the trace, once the tenant has finished.
  void trace_links() {
    if (!m_traced) return;
    const long base = 1 + static_cast<long>(m_run.fabric.units().size());
    for (const auto& [l, use] : m_link_use) {
      const auto& link = m_run.fabric.links()[static_cast<std::size_t>(l)];
      m_run.trace->name_track(m_pid, base + l, fmt::format("link {} ({} to {})", l, link.src, link.dst));
      m_run.trace->slice(m_pid, base + l, fmt::format("link {}", l), use.first, use.last,
                         {{"link", l}, {"src", link.src}, {"dst", link.dst}, {"bytes", use.bytes}});
    }
  }

 private:
  struct LinkUse {
    double first = 0, last = 0, bytes = 0;
  };
  std::map<int, LinkUse> m_link_use;

  struct Dma {
    int tile;
    double bytes;
    bool write;
  };

  const mapper::Tenant& m_tenant;
  int m_pid;
  World& m_world;
  Run& m_run;
  bool m_traced;
  bool m_replays;                  ///< alone on its chip: alike sections replay (SimOptions::replay)
  SectionRecords m_records;        ///< by alike_key: given, and of the sections it simulated
  std::vector<SectionKey> m_keys;  ///< of its sections, when it replays
  bool m_recording = false;        ///< the current section is recorded for replays
  SectionKey m_key;                ///< the current section's
  SectionRecord m_base;            ///< counters when the current section started
  Phase m_phase = Phase::next;
  std::size_t m_section = 0;
  std::unique_ptr<SectionFlow> m_flow;
  std::vector<UnitRunner*> m_runners;
  std::size_t m_remaining = 0;
  std::vector<Dma> m_dma;
  std::size_t m_dma_next = 0;
  std::multiset<double> m_dma_pending;
  double m_run_start = 0;
  double m_end = 0;
  SectionResult m_result;
  std::vector<SectionResult> m_results;
  std::vector<double> m_link_busy;
  std::vector<double> m_link_bytes;
  std::map<int, double> m_link_peak;
  double m_pmu_bytes = 0;
  double m_hop_bytes = 0;
  double m_firings = 0;
};

/// Worlds built and simulated to the end: each group of tenants on a chip of its own.
struct Elaboration {
  /// `given`: records of sections simulated elsewhere, for a tenant alone in its world to
  /// replay; `keys`: its sections' alike_keys when known.
  Elaboration(const mapper::Mapping& mapping, const arch::Fabric& fabric, Run& run,
              const std::vector<std::vector<std::size_t>>& groups, const SectionRecords& given = {},
              const std::vector<SectionKey>& keys = {}) {
    for (std::size_t w = 0; w < groups.size(); ++w) {
      worlds.push_back(std::make_unique<World>(fabric, run.tier, fmt::format("w{}", w)));
      sequencers.emplace_back();
      std::set<int> units;
      for (std::size_t t : groups[w]) {
        const auto& tenant = mapping.tenants[t];
        for (const auto& s : tenant.sections) {
          for (const auto& o : s.ops) units.insert(o.units.begin(), o.units.end());
        }
        sequencers[w].push_back(std::make_unique<SequencerModule>(
            fmt::format("w{}_t{}", w, t).c_str(), tenant, static_cast<int>(t) + 1, *worlds[w], run,
            run.trace != nullptr, run.options.replay && groups[w].size() == 1, given, keys));
      }
      worlds[w]->add_units({units.begin(), units.end()});
    }
    sc_core::sc_start();
    for (const auto& world : sequencers) {
      for (const auto& s : world) {
        if (!s->finished()) {
          throw core::InternalError(
              fmt::format("the simulation stalled in {} section {}: its units wait on each other ({})", s->name(),
                          s->section(), s->stall_report()));
        }
      }
    }
  }
  [[nodiscard]] double firings() const {
    double f = 0;
    for (const auto& world : sequencers) {
      for (const auto& s : world) f += s->firings();
    }
    return f;
  }
  std::vector<std::unique_ptr<World>> worlds;
  std::vector<std::vector<std::unique_ptr<SequencerModule>>> sequencers;
};

/// Records of the distinct sections of a mapping's one tenant, simulated in options.jobs forked
/// workers side by side (each starts on idle hardware, so they do not interact), with the
/// firings that took. Each worker takes its share, the longest first onto the least loaded.
std::pair<SectionRecords, double> simulate_apart(const mapper::Mapping& mapping, const std::vector<SectionKey>& keys,
                                                 const arch::Fabric& fabric, std::size_t tier,
                                                 const SimOptions& options) {
  const auto& sections = mapping.tenants.at(0).sections;
  std::set<SectionKey> seen;
  std::vector<std::pair<double, std::size_t>> work;  // (work expected, section)
  const double vector_bytes = fabric.spec().pcu().lanes * 4.0;
  for (std::size_t k = 0; k < sections.size(); ++k) {
    if (!seen.insert(keys[k]).second) continue;
    // Every token fires each unit and moves over each link of its streams.
    double per_token = 0;
    for (const auto& op : sections[k].ops) per_token += static_cast<double>(op.units.size());
    for (const auto& st : sections[k].streams) per_token += static_cast<double>(st.links.size());
    work.emplace_back(per_token * static_cast<double>(section_tokens(sections[k], vector_bytes, options.tokens)), k);
  }
  const auto jobs = std::min(static_cast<std::size_t>(std::max(options.jobs, 1)), work.size());
  if (jobs < 2) return {};
  std::vector<std::unique_ptr<core::Worker>> workers;
  for (const auto& share : core::share_out(work, jobs)) {
    workers.push_back(std::make_unique<core::Worker>([&, share] {
      mapper::Mapping part = mapping;
      std::vector<mapper::MappedSection> chosen;
      std::vector<SectionKey> chosen_keys;
      for (std::size_t k : share) {
        chosen.push_back(std::move(part.tenants[0].sections[k]));
        chosen_keys.push_back(keys[k]);
      }
      part.tenants[0].sections = std::move(chosen);
      SimOptions quiet = options;
      quiet.trace = false;
      quiet.progress = nullptr;
      Run run{fabric, quiet, tier, 0, 0, nullptr, {}};
      Elaboration e(part, fabric, run, {{0}}, {}, chosen_keys);
      core::Json records = core::Json::array();
      for (const auto& [key, record] : e.sequencers[0][0]->records())
        records.push_back({{"key", {key.first, key.second}}, {"record", core::to_json_value(record)}});
      return core::Json{{"records", std::move(records)}, {"firings", e.firings()}};
    }));
  }
  SectionRecords records;
  double firings = 0;
  const core::JsonReader reader("simulation worker");
  for (auto& worker : workers) {
    const auto answer = worker->wait();
    firings += answer.at("firings").get<double>();
    for (const auto& r : answer.at("records")) {
      SectionRecord record;
      core::from_json_value(r.at("record"), record, reader, "record");
      records.emplace(SectionKey{r.at("key")[0].get<std::uint64_t>(), r.at("key")[1].get<std::uint64_t>()},
                      std::move(record));
    }
  }
  return {std::move(records), firings};
}

std::size_t tier_index(const mapper::Mapping& mapping, const arch::Spec& spec) {
  const auto& tiers = spec.memory_tiers();
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].name == mapping.dram_tier) return i;
  }
  throw core::InputError(
      core::Location("mapping", 0, 0, "mapping.dram_tier"),
      fmt::format("mapping.dram_tier '{}' is not a memory tier of fabric '{}'", mapping.dram_tier, spec.name()));
}

}  // namespace

SimResult simulate_here(const mapper::Mapping& mapping, const arch::Fabric& fabric, const SimOptions& options) {
  static bool elaborated = false;
  if (elaborated) {
    throw core::InternalError("SystemC elaborates once per process: run further simulations through sim::simulate()");
  }
  if (const auto problems = mapper::check(mapping, fabric); !problems.empty()) {
    throw core::InputError(
        core::Location("mapping"),
        fmt::format("the mapping does not fit fabric '{}': {}{}", fabric.spec().name(), problems.front(),
                    problems.size() > 1 ? fmt::format(" (and {} more)", problems.size() - 1) : ""));
  }
  for (const auto& t : mapping.tenants) {
    for (std::size_t k = 0; k < t.sections.size(); ++k) {
      const auto& s = t.sections[k];
      // Placed: every op that needs units has them (views need none), and the DRAM traffic
      // has its streams.
      bool placed = !(s.dram.empty() && s.dram_read_bytes + s.dram_write_bytes > 0);
      for (const auto& o : s.ops)
        placed = placed && (o.units.size() == static_cast<std::size_t>(o.pcus() + o.buffer_pmus));
      if (!placed) {
        throw core::InputError(
            core::Location("mapping"),
            fmt::format("tenant '{}' section {} is not placed: map it with placement to simulate it", t.name, k));
      }
    }
  }
  const std::size_t tier = tier_index(mapping, fabric.spec());
  elaborated = true;
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  const auto wall_start = std::chrono::steady_clock::now();

  TraceSink trace;
  trace.us_per_cycle = 1e-3 / fabric.spec().clock_ghz();
  Run run{fabric, options, tier, 0, 0, nullptr, {}};
  run.trace = options.trace ? &trace : nullptr;
  for (const auto& t : mapping.tenants) run.sections_total += t.sections.size();

  // Each tenant alone, for its slowdown: its own worlds, in forked workers running beside this
  // process's simulation of all tenants together (jobs - 1 of them, at least one). Tenants laid
  // out alike (alone_key) are simulated alone once.
  const std::size_t n = mapping.tenants.size();
  std::vector<std::size_t> alike(n);  // the tenant simulated alone for each
  std::vector<std::unique_ptr<core::Worker>> alone_workers;
  std::vector<std::vector<std::size_t>> alone_shares;
  if (options.alone && n > 1) {
    std::map<SectionKey, std::size_t> first;
    std::vector<std::pair<double, std::size_t>> work;  // (sections x tokens, tenant)
    const double vector_bytes = fabric.spec().pcu().lanes * 4.0;
    for (std::size_t t = 0; t < n; ++t) {
      const auto [it, fresh] = first.emplace(alone_key(mapping.tenants[t], fabric), t);
      alike[t] = it->second;
      if (!fresh) continue;
      double tokens = 0;
      for (const auto& s : mapping.tenants[t].sections)
        tokens += static_cast<double>(section_tokens(s, vector_bytes, options.tokens));
      work.emplace_back(tokens, t);
    }
    const auto workers = std::min(work.size(), static_cast<std::size_t>(std::max(options.jobs - 1, 1)));
    alone_shares = core::share_out(std::move(work), workers);
    for (const auto& share : alone_shares) {
      alone_workers.push_back(std::make_unique<core::Worker>([&, share] {
        std::vector<std::vector<std::size_t>> groups;
        for (std::size_t t : share) groups.push_back({t});
        SimOptions quiet = options;
        quiet.trace = false;
        quiet.progress = nullptr;
        Run alone_run{fabric, quiet, tier, 0, 0, nullptr, {}};
        Elaboration e(mapping, fabric, alone_run, groups);
        core::Json cycles = core::Json::array();
        for (const auto& world : e.sequencers) cycles.push_back(world[0]->end());
        return core::Json{{"cycles", cycles}, {"firings", e.firings()}};
      }));
    }
  }
  std::vector<std::size_t> everyone(n);
  for (std::size_t t = 0; t < n; ++t) everyone[t] = t;
  if (options.trace) {
    for (std::size_t t = 0; t < n; ++t) trace.name_process(static_cast<int>(t) + 1, mapping.tenants[t].name);
  }
  // A tenant alone on the chip: its distinct sections simulated side by side, then replayed here.
  SectionRecords apart;
  double apart_firings = 0;
  std::vector<SectionKey> keys;
  if (n == 1 && options.replay) {
    keys = alike_keys(mapping.tenants[0]);
    std::tie(apart, apart_firings) = simulate_apart(mapping, keys, fabric, tier, options);
  }
  Elaboration together(mapping, fabric, run, {everyone}, apart, keys);
  for (const auto& sequencer : together.sequencers[0]) sequencer->trace_links();
  const auto& worlds = together.worlds;
  const auto& sequencers = together.sequencers;
  std::vector<double> alone_cycles(n, 0.0);
  double alone_firings = 0;
  for (std::size_t w = 0; w < alone_workers.size(); ++w) {
    const auto answer = alone_workers[w]->wait();
    for (std::size_t k = 0; k < alone_shares[w].size(); ++k)
      alone_cycles[alone_shares[w][k]] = answer.at("cycles").at(k).get<double>();
    alone_firings += answer.at("firings").get<double>();
  }

  // What world 0 measured (alone worlds give the slowdowns); report.cpp derives the rest.
  Measurements measured;
  measured.tier = tier;
  measured.chunk = options.tokens.chunk;
  measured.min_tokens = options.tokens.min_tokens;
  measured.max_tokens = options.tokens.max_tokens;
  for (std::size_t t = 0; t < n; ++t) {
    const auto& seq = *sequencers[0][t];
    Measurements::Tenant mt;
    mt.cycles = seq.end();
    if (!alone_workers.empty()) mt.alone_cycles = alone_cycles[alike[t]];
    mt.sections = seq.sections();
    mt.pmu_bytes = seq.pmu_bytes();
    mt.hop_bytes = seq.hop_bytes();
    for (const auto& [link, peak] : seq.link_peak()) {
      mt.link_peaks.emplace_back(link, peak);
      measured.link_bytes[link] = worlds[0]->network.link(link).bytes();
    }
    measured.tenants.push_back(std::move(mt));
  }
  for (std::size_t i = 0; i < worlds[0]->unit_ids.size(); ++i) {
    const int id = worlds[0]->unit_ids[i];
    const auto& time = worlds[0]->units[i].totals.time;
    measured.units.push_back({id, time[static_cast<int>(UnitState::busy)],
                              time[static_cast<int>(UnitState::stalled_input)],
                              time[static_cast<int>(UnitState::stalled_output)]});
  }
  const auto& memory = worlds[0]->memory;
  measured.read_bytes = memory.read_bytes();
  measured.write_bytes = memory.write_bytes();
  measured.tier_busy_cycles = memory.tier().busy_cycles();
  measured.events = together.firings() + apart_firings + alone_firings;
  measured.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  Report r = make_report(mapping, fabric, measured);

  SimResult result{std::move(r), nullptr};
  if (options.trace) {
    result.trace = {
        {"traceEvents", std::move(trace.events)},
        {"displayTimeUnit", "ns"},
        {"otherData",
         {{"arch", result.report.arch}, {"workload", result.report.workload}, {"chunk", options.tokens.chunk}}}};
  }
  return result;
}

}  // namespace rdasim::sim
