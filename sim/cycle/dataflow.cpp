#include "sim/cycle/dataflow.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/op_registry.h"

namespace rdasim::sim {

namespace {

/// Times closer than this (cycles) are equal: SystemC's clock ticks in thousandths of a cycle.
constexpr double k_epsilon = 1e-6;

}  // namespace

std::int64_t InPort::needed_beyond(std::int64_t k, std::int64_t tokens) const {
  if (k >= tokens) return tokens;  // asked after the last firing
  switch (need.dependency) {
    case graphs::Dependency::same:
    case graphs::Dependency::prefix: return k + 1;
    case graphs::Dependency::all: return tokens;
    case graphs::Dependency::window: return std::min(tokens, k + 1 + lead);
    case graphs::Dependency::slice: {
      // Through the end of the slice holding token k's last element.
      const std::int64_t slices = std::max<std::int64_t>(need.slices, 1);
      const std::int64_t end = ((k + 1) * slices - 1) / tokens + 1;
      return std::clamp((end * tokens + slices - 1) / slices, k + 1, tokens);
    }
  }
  return k + 1;
}

std::int64_t InPort::done_with(std::int64_t k, std::int64_t tokens) const {
  if (k + 1 == tokens) return tokens;
  switch (need.dependency) {
    case graphs::Dependency::same: return k + 1;
    case graphs::Dependency::window: return std::max<std::int64_t>(0, k + 1 - lead);
    case graphs::Dependency::slice: {
      // Tokens wholly before the slice token k + 1 starts in.
      const std::int64_t slices = std::max<std::int64_t>(need.slices, 1);
      const std::int64_t next = (k + 1) * slices / tokens;
      return std::min(k + 1, next * tokens / slices);
    }
    case graphs::Dependency::prefix:
    case graphs::Dependency::all: return 0;
  }
  return k + 1;
}

std::string SectionFlow::stall_report() const {
  std::string out;
  int listed = 0;
  for (const auto& n : m_nodes) {
    if (n.done) continue;
    if (++listed > 6) {
      out += "; ...";
      break;
    }
    out += fmt::format("{}unit {} (op {}) fired {}/{} tokens", listed > 1 ? "; " : "", n.unit, n.op, n.fired, m_tokens);
    for (int p : n.inputs) {
      const auto& port = m_ports[static_cast<std::size_t>(p)];
      const int src = m_channels[static_cast<std::size_t>(port.channel)].src;
      out +=
          fmt::format(", from unit {}: {} of {} needed, {} arrived ({})", m_nodes[static_cast<std::size_t>(src)].unit,
                      port.needed(n.started, m_tokens), graphs::to_string(port.need.dependency),
                      port.base + static_cast<std::int64_t>(port.arrivals.size()),
                      port.occupancy >= port.capacity ? "full" : "room");
    }
    for (int c : n.outputs) {
      for (int p : m_channels[static_cast<std::size_t>(c)].ports) {
        const auto& port = m_ports[static_cast<std::size_t>(p)];
        if (port.occupancy >= port.capacity)
          out += fmt::format(", blocked by unit {}'s full port", m_nodes[static_cast<std::size_t>(port.node)].unit);
      }
    }
  }
  return out;
}

std::int64_t section_tokens(const mapper::MappedSection& section, double vector_bytes, const TokenOptions& options) {
  double largest = 0;
  for (const auto& st : section.streams) largest = std::max(largest, st.bytes);
  for (const auto& d : section.dram) {
    if (!d.preload) largest = std::max(largest, d.bytes);
  }
  const auto vectors = static_cast<std::int64_t>(std::ceil(largest / vector_bytes));
  // Past max_tokens the chunk doubles (not any token count: tokens that cut a window's slices
  // unevenly round its reach up, which moved the lensing convolution's time by 3%).
  const std::int64_t most = std::max(options.max_tokens, options.min_tokens);
  std::int64_t chunk = std::max(options.chunk, 1);
  while ((vectors + chunk - 1) / chunk > most) chunk *= 2;
  const auto chunks = (vectors + chunk - 1) / chunk;
  return std::max<std::int64_t>({1, chunks, std::min<std::int64_t>(vectors, options.min_tokens)});
}

double fill_latency(const mapper::MappedOp& op, arch::UnitKind kind, const arch::Spec& spec) {
  if (kind != arch::UnitKind::pcu) return 1.0;  // a PMU bank access
  const double lanes = spec.pcu().lanes, stages = spec.pcu().stages;
  double cycles = op.engine == graphs::Engine::matrix ? lanes + stages : stages;
  const graphs::OpTraits* traits = graphs::OpRegistry::instance().traits(op.kind);
  RDASIM_ASSERT(traits != nullptr, "mapped op of unknown kind " + op.kind);  // mapping_from_json checks kinds
  if (traits->reduces) cycles += std::ceil(std::log2(lanes));
  if (traits->transcendental) cycles += stages;  // the tail stage's iterations
  return cycles;
}

SectionFlow::SectionFlow(const mapper::MappedSection& section, const arch::Fabric& fabric, std::size_t memory_tier,
                         const TokenOptions& options)
    : m_buffer(std::max(1, options.buffer_tokens)) {
  const arch::Spec& spec = fabric.spec();
  m_tokens = section_tokens(section, spec.pcu().lanes * 4.0, options);
  const auto tokens = static_cast<double>(m_tokens);
  std::unordered_map<int, int> node_of;
  int home_tile = -1;
  for (std::size_t i = 0; i < section.ops.size(); ++i) {
    const auto& op = section.ops[i];
    const auto pcus = static_cast<std::size_t>(op.pcus());
    for (std::size_t k = 0; k < op.units.size(); ++k) {
      const auto& u = fabric.unit(op.units[k]);
      Node n;
      n.unit = u.id;
      n.op = static_cast<int>(i);
      n.tile = u.tile;
      n.kind = k < pcus ? arch::UnitKind::pcu : arch::UnitKind::pmu;
      // A PCU works its share of the op's stage on every token; a memory-engine op's PMUs too.
      if (n.kind == arch::UnitKind::pcu || op.engine == graphs::Engine::memory) n.service = op.stage_cycles / tokens;
      n.latency = fill_latency(op, n.kind, spec);
      if (home_tile < 0) home_tile = u.tile;
      if (!node_of.emplace(u.id, static_cast<int>(m_nodes.size())).second) {
        throw core::InputError(core::Location("mapping"), fmt::format("unit {} holds two ops of one section", u.id));
      }
      m_nodes.push_back(std::move(n));
    }
  }
  const auto node = [&](int unit) {
    auto it = node_of.find(unit);
    if (it == node_of.end()) {
      throw core::InputError(core::Location("mapping"),
                             fmt::format("a stream touches unit {}, which holds no op of its section", unit));
    }
    return it->second;
  };

  // Streams: one channel per source and multicast group; its links each once.
  std::map<std::pair<int, int>, int> channel_of;
  std::set<int> all_links;
  for (const auto& st : section.streams) {
    const int src = node(st.src), dst = node(st.dst);
    if (src == dst) continue;
    auto [it, fresh] = channel_of.emplace(std::make_pair(src, st.group), static_cast<int>(m_channels.size()));
    if (fresh) {
      m_channels.push_back({src, st.bytes / tokens, {}, {}, m_buffer});
      m_nodes[static_cast<std::size_t>(src)].outputs.push_back(it->second);
    }
    auto& ch = m_channels[static_cast<std::size_t>(it->second)];
    for (int l : st.links) {
      if (std::find(ch.links.begin(), ch.links.end(), l) == ch.links.end()) ch.links.push_back(l);
      all_links.insert(l);
    }
    InPort p;
    p.node = dst;
    p.channel = it->second;
    p.need = st.need;
    for (int l : st.links) p.latency += fabric.links()[static_cast<std::size_t>(l)].latency_cycles;
    ch.ports.push_back(static_cast<int>(m_ports.size()));
    m_nodes[static_cast<std::size_t>(dst)].inputs.push_back(static_cast<int>(m_ports.size()));
    m_ports.push_back(std::move(p));
  }
  m_links.assign(all_links.begin(), all_links.end());

  // Off-chip traffic streams with the tokens. Resident weights too: each weight PMU fills
  // token by token as the pipeline starts (a double-buffered load), so loading overlaps compute
  // as the mapper's estimate assumes; but a weight no larger than one token's chunk is a single
  // request, loaded before streaming (cut into tokens, its last crumb would queue behind every
  // other unit's loads, and an op that needs it whole would wait on that). Traffic no unit holds
  // moves before streaming starts too.
  const double request_bytes = options.chunk * spec.pcu().lanes * 4.0;
  std::map<int, double> preload, prewrite;
  for (const auto& d : section.dram) {
    if (d.unit < 0 || (d.preload && !d.write && d.bytes <= request_bytes)) {
      const int tile = d.unit < 0 ? std::max(home_tile, 0) : fabric.unit(d.unit).tile;
      (d.write ? prewrite : preload)[tile] += d.bytes;
      continue;
    }
    auto& n = m_nodes[static_cast<std::size_t>(node(d.unit))];
    (d.write ? n.dram_write : n.dram_read) += d.bytes / tokens;
    if (!d.write && d.dependency == graphs::Dependency::all) n.dram_all = true;
  }
  m_preload.assign(preload.begin(), preload.end());
  m_prewrite.assign(prewrite.begin(), prewrite.end());
  // DRAM requests in flight per unit: enough tokens to cover twice the memory's latency at its
  // bandwidth (an AGCU keeps many requests open), so small tokens do not starve on latency.
  const auto& tier = spec.memory_tiers().at(memory_tier);
  const double latency_bytes = tier.latency_ns * tier.bandwidth_gbps * tier.efficiency;  // ns x B/ns
  for (auto& n : m_nodes) {
    const double per_token = std::max(n.dram_read, n.dram_write);
    if (per_token > 0)
      n.dram_window = static_cast<std::size_t>(std::clamp(std::ceil(2.0 * latency_bytes / per_token), 2.0, 64.0));
    if (n.dram_all) n.dram_window = static_cast<std::size_t>(m_tokens);  // all of it lands before the first token
  }

  // A PMU's banks serve every byte in and out of it.
  for (const auto& ch : m_channels) {
    if (m_nodes[static_cast<std::size_t>(ch.src)].kind == arch::UnitKind::pmu)
      m_nodes[static_cast<std::size_t>(ch.src)].pmu_bytes += ch.bytes;
    for (int p : ch.ports) {
      auto& n = m_nodes[static_cast<std::size_t>(m_ports[static_cast<std::size_t>(p)].node)];
      if (n.kind == arch::UnitKind::pmu) n.pmu_bytes += ch.bytes;
    }
  }
  // A PMU holds as many tokens of its streams as fit its scratchpad, both those it sends (the
  // deep buffers that let a skip connection's source run ahead of the long path it rejoins)
  // and those written into it: a small stream into a PMU is never held back by credits
  // waiting on the round trip of a double buffer.
  const double pmu_capacity = spec.pmu().capacity_kib * 1024.0;
  std::vector<double> out_bytes(m_nodes.size(), 0.0), in_bytes(m_nodes.size(), 0.0);
  for (const auto& ch : m_channels) {
    out_bytes[static_cast<std::size_t>(ch.src)] += ch.bytes;
    for (int p : ch.ports) in_bytes[static_cast<std::size_t>(m_ports[static_cast<std::size_t>(p)].node)] += ch.bytes;
  }
  const auto fit = [&](double bytes) {
    const double held = bytes > 0 ? std::floor(pmu_capacity / bytes) : static_cast<double>(m_tokens);
    return static_cast<int>(std::clamp(held, static_cast<double>(m_buffer), static_cast<double>(m_tokens)));
  };
  for (auto& n : m_nodes) {
    // A PMU that loads from DRAM (weights, spilled tensors) loads into its scratchpad as far
    // ahead as it fits and sends at its readers' pace: its loads, not its sends, run ahead.
    if (n.kind == arch::UnitKind::pmu && n.dram_read > 0 && !n.dram_all)
      n.dram_window = std::max(n.dram_window, static_cast<std::size_t>(fit(n.dram_read)));
  }
  for (auto& ch : m_channels) {
    const auto src = static_cast<std::size_t>(ch.src);
    if (m_nodes[src].kind == arch::UnitKind::pmu) {
      ch.capacity = m_nodes[src].dram_read > 0 ? m_buffer : fit(out_bytes[src]);
      continue;
    }
    ch.capacity = static_cast<int>(m_tokens);
    for (int p : ch.ports) {
      const auto reader = static_cast<std::size_t>(m_ports[static_cast<std::size_t>(p)].node);
      ch.capacity =
          std::min(ch.capacity, m_nodes[reader].kind == arch::UnitKind::pmu ? fit(in_bytes[reader]) : m_buffer);
    }
  }
  // A port holds its channel's tokens, a window's reach behind, and every token when its reader
  // needs the stream whole (in PMUs, or through DRAM as the mapper spilled it). Where paths
  // reconverge (a residual add after convolutions), a reader's inputs lag its sources by
  // different amounts: the short path's port must hold the difference, or the long path's
  // windows wait on a source that waits on the short path's full port. `reach` is how many
  // tokens past a node's own the section's sources must have sent before it fires.
  const auto all_tokens = static_cast<int>(std::min<std::int64_t>(m_tokens, std::numeric_limits<int>::max()));
  const auto port_reach = [&](InPort& p) -> std::int64_t {
    const std::int64_t slices = std::max<std::int64_t>(p.need.slices, 1);
    if (p.need.dependency == graphs::Dependency::window) {
      p.lead = (p.need.halo * m_tokens + slices - 1) / slices;  // the halo in tokens, rounded up
    } else if (p.need.dependency == graphs::Dependency::slice) {
      p.lead = (m_tokens + slices - 1) / slices;  // a slice in tokens, rounded up
    }
    const bool whole = p.need.buffered || p.need.dependency == graphs::Dependency::all ||
                       p.need.dependency == graphs::Dependency::prefix;
    return whole ? m_tokens : p.lead;
  };
  std::vector<std::int64_t> reach(m_nodes.size(), 0), own(m_ports.size(), 0);
  for (int id : topological_order()) {
    for (int pid : m_nodes[static_cast<std::size_t>(id)].inputs) {
      auto& p = m_ports[static_cast<std::size_t>(pid)];
      const auto src = static_cast<std::size_t>(m_channels[static_cast<std::size_t>(p.channel)].src);
      own[static_cast<std::size_t>(pid)] = port_reach(p);
      reach[static_cast<std::size_t>(id)] =
          std::max(reach[static_cast<std::size_t>(id)], reach[src] + own[static_cast<std::size_t>(pid)]);
    }
  }
  // How far each port's reader lags its source for want of its other inputs. A node that reads
  // no stream (a PMU holding weights, or loading them) holds nobody back upstream when it
  // waits, so its ports need hold only the difference between its readers: readers that all
  // wait alike hold it back alike (a weight PMU feeding a GEMM's PCUs keeps its data in its
  // scratchpad, not 700 tokens in each of its ports). Any other source must run ahead of its
  // slowest reader, or the paths it feeds would stall behind it.
  std::vector<std::int64_t> wait(m_ports.size(), 0), least(m_nodes.size(), std::numeric_limits<std::int64_t>::max());
  for (std::size_t i = 0; i < m_ports.size(); ++i) {
    const auto src = static_cast<std::size_t>(m_channels[static_cast<std::size_t>(m_ports[i].channel)].src);
    wait[i] = reach[static_cast<std::size_t>(m_ports[i].node)] - reach[src] - own[i];
    least[src] = m_nodes[src].inputs.empty() ? std::min(least[src], wait[i]) : 0;
  }
  for (std::size_t i = 0; i < m_ports.size(); ++i) {
    auto& p = m_ports[i];
    const int channel = m_channels[static_cast<std::size_t>(p.channel)].capacity;
    const auto src = static_cast<std::size_t>(m_channels[static_cast<std::size_t>(p.channel)].src);
    const std::int64_t lag = wait[i] - least[src] + own[i];
    p.capacity =
        p.need.buffered ? all_tokens : static_cast<int>(std::min<std::int64_t>(all_tokens, channel + lag + p.lead));
  }
  const double bank_bytes = 4.0 * spec.pmu().banks;
  for (auto& n : m_nodes) {
    if (n.kind != arch::UnitKind::pmu) continue;
    n.pmu_bytes += n.dram_read + n.dram_write;
    n.service = std::max(n.service, n.pmu_bytes / bank_bytes);
  }
}

std::vector<int> SectionFlow::topological_order() const {
  std::vector<int> pending(m_nodes.size(), 0), order;
  for (std::size_t i = 0; i < m_nodes.size(); ++i) pending[i] = static_cast<int>(m_nodes[i].inputs.size());
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    if (pending[i] == 0) order.push_back(static_cast<int>(i));
  }
  for (std::size_t next = 0; next < order.size(); ++next) {
    for (int c : m_nodes[static_cast<std::size_t>(order[next])].outputs) {
      for (int p : m_channels[static_cast<std::size_t>(c)].ports) {
        const int reader = m_ports[static_cast<std::size_t>(p)].node;
        if (--pending[static_cast<std::size_t>(reader)] == 0) order.push_back(reader);
      }
    }
  }
  RDASIM_ASSERT(order.size() == m_nodes.size(), "a section's streams form a cycle (mapper::check refuses those)");
  return order;
}

void SectionFlow::set_state(Node& n, UnitState s, double now) {
  n.time[static_cast<int>(n.state)] += now - n.since;
  n.since = now;
  n.state = s;
}

const Span* SectionFlow::needed_arrival(const InPort& port, std::int64_t k) const {
  const std::int64_t index = port.needed(k, m_tokens) - 1 - port.base;
  if (index < 0 || index >= static_cast<std::int64_t>(port.arrivals.size())) return nullptr;
  return &port.arrivals[static_cast<std::size_t>(index)];
}

double SectionFlow::ready_at(const InPort& port, const Span& arrival) {
  // A barrier's reader starts once the whole stream is in; others as the first bytes land.
  return port.need.dependency == graphs::Dependency::all ? arrival.last : arrival.first;
}

bool SectionFlow::inputs_ready(Node& n, double now) const {
  // An input sent for this token stays sent, and its arrival does not move: scan on from the
  // first not yet sent, keeping when the last sent one is ready (a PCU reading 224 weight
  // streams used to wake once per stream per token).
  for (; n.sent_inputs < n.inputs.size(); ++n.sent_inputs) {
    const auto& port = m_ports[static_cast<std::size_t>(n.inputs[n.sent_inputs])];
    const Span* a = needed_arrival(port, n.started);
    if (a == nullptr) return false;  // its emit wakes the node
    n.inputs_at = std::max(n.inputs_at, ready_at(port, *a));
  }
  if (n.inputs_at > now + k_epsilon) return false;
  if (n.dram_read <= 0) return true;
  if (n.dram_all) return n.reads == m_tokens && n.read_last <= now + k_epsilon;
  return !n.read_arrivals.empty() && n.read_arrivals.front().first <= now + k_epsilon;
}

bool SectionFlow::outputs_ready(const Node& n) const {
  if (n.full_ports > 0) return false;
  return n.dram_write <= 0 || n.write_ready.size() + n.write_done.size() < n.dram_window;
}

void SectionFlow::emit(int id, double now, double data_end, DataflowContext& context) {
  auto& n = m_nodes[static_cast<std::size_t>(id)];
  // Results stream out while the unit works: the first after its pipeline latency, the last
  // when it is done (or the links are).
  const double first = now + n.latency, last = data_end + n.latency;
  for (int c : n.outputs) {
    const auto& ch = m_channels[static_cast<std::size_t>(c)];
    const Span sent = context.network().transfer(first, ch.bytes, ch.links);
    for (int p : ch.ports) {
      auto& port = m_ports[static_cast<std::size_t>(p)];
      Span arrives{sent.first + port.latency, std::max(sent.last, last) + port.latency};
      arrives.last = std::max(arrives.last, port.latest);
      port.latest = arrives.last;
      port.arrivals.push_back(arrives);
      const auto& reader = m_nodes[static_cast<std::size_t>(port.node)];
      port.forget_before(reader.started, m_tokens);
      // A busy reader looks at its inputs when it finishes; only one waiting on this port
      // needs a call (one waiting on another port scans on past this one once woken).
      if (reader.state == UnitState::stalled_input && reader.sent_inputs < reader.inputs.size() &&
          reader.inputs[reader.sent_inputs] == p)
        context.wake(port.node, arrives.first);
    }
  }
}

double SectionFlow::step(int id, double now, DataflowContext& context) {
  auto& n = m_nodes[static_cast<std::size_t>(id)];
  if (n.done) return k_never;
  while (!n.write_done.empty() && n.write_done.front() <= now + k_epsilon) n.write_done.pop_front();
  for (;;) {
    // Prefetch: DRAM reads run ahead of the pipeline by the window, as the arbiter lets them.
    if (!n.memory_queued && can_read(id)) context.want_memory(id, now);
    if (n.busy && n.busy_until <= now + k_epsilon) {
      n.busy = false;
      n.input_wait += std::max(0.0, n.busy_until - n.busy_start - n.service);
      ++n.fired;
      n.last_end = now;
      if (n.dram_write > 0) {
        n.write_ready.push_back(now + n.latency);
        context.want_memory(id, now);
      }
    }
    if (n.busy || n.started == m_tokens) break;
    if (!inputs_ready(n, now)) {
      set_state(n, UnitState::stalled_input, now);
      break;
    }
    if (!outputs_ready(n)) {
      set_state(n, UnitState::stalled_output, now);
      break;
    }
    // Fire: take what token k needs of every input, free what no later token needs (room
    // upstream), promise one token downstream.
    double data_end = now;
    for (int p : n.inputs) {
      auto& port = m_ports[static_cast<std::size_t>(p)];
      data_end = std::max(data_end, needed_arrival(port, n.started)->last);
      port.forget_before(n.started + 1, m_tokens);
      const std::int64_t done = port.done_with(n.started, m_tokens);
      if (done <= port.freed) continue;
      const int src = m_channels[static_cast<std::size_t>(port.channel)].src;
      const bool was_full = port.occupancy >= port.capacity;
      port.occupancy -= static_cast<int>(done - port.freed);
      port.freed = done;
      auto& source = m_nodes[static_cast<std::size_t>(src)];
      if (was_full && port.occupancy < port.capacity) --source.full_ports;
      // A source held back by full ports goes on once none is (its DRAM writes wake it themselves).
      if (source.state == UnitState::stalled_output && source.full_ports == 0) context.wake(src, now);
    }
    if (n.dram_read > 0) {
      data_end = std::max(data_end, n.read_arrivals.front().last);
      n.read_arrivals.pop_front();
    }
    for (int c : n.outputs) {
      for (int p : m_channels[static_cast<std::size_t>(c)].ports) {
        auto& port = m_ports[static_cast<std::size_t>(p)];
        if (++port.occupancy == port.capacity) ++n.full_ports;
      }
    }
    ++n.started;
    n.sent_inputs = 0;
    n.inputs_at = 0;
    n.first_start = std::min(n.first_start, now);
    n.busy = true;
    n.busy_start = now;
    n.busy_until = std::max(now + n.service, data_end);
    set_state(n, UnitState::busy, now);
    emit(id, now, n.busy_until, context);
    if (n.busy_until > now + k_epsilon) break;  // zero-time work (views of PMUs) fires again at once
  }
  if (!n.busy && n.fired == m_tokens) {
    set_state(n, UnitState::idle, now);
    if (n.write_done.empty() && n.write_ready.empty()) {
      n.done = true;
      context.node_done(id);
      return k_never;
    }
    return n.write_done.empty() ? k_never : n.write_done.front();  // issue_write wakes it for the rest
  }
  // The next time something this node waits for lands; other nodes wake it for the rest.
  double next = n.busy ? n.busy_until : k_never;
  if (!n.busy && n.sent_inputs == n.inputs.size() && n.inputs_at > now + k_epsilon) next = std::min(next, n.inputs_at);
  const double reads_ready = n.dram_all                ? n.read_last
                             : n.read_arrivals.empty() ? k_never
                                                       : n.read_arrivals.front().first;
  if (n.dram_read > 0 && reads_ready > now + k_epsilon && reads_ready < k_never) next = std::min(next, reads_ready);
  if (!n.write_done.empty()) next = std::min(next, n.write_done.front());
  return next;
}

bool SectionFlow::can_read(int id) const {
  const auto& n = m_nodes[static_cast<std::size_t>(id)];
  return n.dram_read > 0 && n.reads < m_tokens && n.read_arrivals.size() < n.dram_window;
}

void SectionFlow::issue_read(int id, double now, DataflowContext& context) {
  auto& n = m_nodes[static_cast<std::size_t>(id)];
  n.read_arrivals.push_back(context.memory().transfer(now, n.dram_read, n.tile, false));
  n.read_last = std::max(n.read_last, n.read_arrivals.back().last);
  ++n.reads;
  if (n.state != UnitState::stalled_input) return;  // a working node looks at its reads when it finishes
  if (!n.dram_all && n.read_arrivals.size() == 1) context.wake(id, n.read_arrivals.front().first);
  if (n.dram_all && n.reads == m_tokens) context.wake(id, n.read_last);
}

bool SectionFlow::can_write(int id) const { return !m_nodes[static_cast<std::size_t>(id)].write_ready.empty(); }

bool SectionFlow::writes_full(int id) const {
  const auto& n = m_nodes[static_cast<std::size_t>(id)];
  return n.write_ready.size() + n.write_done.size() >= n.dram_window;
}

void SectionFlow::issue_write(int id, double now, DataflowContext& context) {
  auto& n = m_nodes[static_cast<std::size_t>(id)];
  const double from = std::max(now, n.write_ready.front());
  n.write_ready.pop_front();
  n.write_done.push_back(context.memory().transfer(from, n.dram_write, n.tile, true).last);
  ++n.writes;
  // A unit held back by its writes, or done but for them, goes on once this one lands.
  if (n.state != UnitState::busy) context.wake(id, n.write_done.back());
}

void SectionFlow::finish(double now) {
  for (auto& n : m_nodes) {
    set_state(n, UnitState::idle, now);
    // Time spent working through a token whose last bytes had not arrived was waiting on input.
    n.time[static_cast<int>(UnitState::busy)] -= n.input_wait;
    n.time[static_cast<int>(UnitState::stalled_input)] += n.input_wait;
  }
}

}  // namespace rdasim::sim
