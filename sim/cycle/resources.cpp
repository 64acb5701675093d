#include "sim/cycle/resources.h"

namespace rdasim::sim {

Network::Network(const arch::Fabric& fabric) {
  m_links.reserve(fabric.links().size());
  for (const auto& l : fabric.links()) m_links.emplace_back(l.bytes_per_cycle);
}

Span Network::transfer(double now, double bytes, const std::vector<int>& links) {
  if (links.empty() || bytes <= 0) return {now, now};
  // Each link serves its transfers in the order they ask, at its own rate, independently of the
  // route's other links: flits move on as soon as the next link is free (wormhole switching
  // with buffered hops), so a link waiting on another stream's crossing does not idle.
  Span span{now, now};
  double rate = -1, cycles = 0;  // the links of a route mostly share one rate: divide once
  for (int id : links) {
    auto& link = m_links[static_cast<std::size_t>(id)];
    if (link.rate() != rate) {
      rate = link.rate();
      cycles = link.duration(bytes);
    }
    const double start = std::max(now, link.free_at());
    span.first = std::max(span.first, start);
    span.last = std::max(span.last, link.occupy_for(start, bytes, cycles));
  }
  return span;
}

Memory::Memory(const arch::Fabric& fabric, std::size_t tier) {
  const auto& spec = fabric.spec();
  const auto& t = spec.memory_tiers().at(tier);
  m_tier = Pipe(t.bandwidth_gbps * t.efficiency / spec.clock_ghz());
  m_latency = t.latency_ns * spec.clock_ghz();
  const double agcu_rate = spec.agcu().count * spec.network().link_bytes_per_cycle;
  m_agcus.assign(static_cast<std::size_t>(spec.tiles()), Pipe(agcu_rate));
}

Span Memory::transfer(double now, double bytes, int tile, bool write) {
  if (bytes <= 0) return {now, now};
  auto& agcu = m_agcus.at(static_cast<std::size_t>(tile));
  const double start = std::max({now, m_tier.free_at(), agcu.free_at()});
  const double end = std::max(m_tier.occupy(start, bytes), agcu.occupy(start, bytes));
  (write ? m_written : m_read) += bytes;
  return {start + m_latency, end + m_latency};
}

}  // namespace rdasim::sim
