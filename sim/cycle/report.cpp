#include "sim/cycle/report.h"

#include <algorithm>

#include <fmt/format.h>

#include "arch/summary.h"
#include "core/error.h"
#include "core/text.h"

#ifndef RDASIM_VERSION
#define RDASIM_VERSION "unknown"
#endif

namespace rdasim::sim {

namespace {
constexpr const char* k_report_format = "rdasim.report/1";
}  // namespace

Report make_report(const mapper::Mapping& mapping, const arch::Fabric& fabric, const Measurements& m) {
  const arch::Spec& spec = fabric.spec();
  Report r;
  r.tool_version = RDASIM_VERSION;
  r.arch = spec.name();
  r.arch_hash = spec.hash();
  r.mode = mapping.mode;
  r.chunk = m.chunk;
  r.min_tokens = m.min_tokens;
  r.max_tokens = m.max_tokens;
  r.clock_hz = spec.clock_ghz() * 1e9;
  r.analytic_cycles = mapper::analytic_cycles(mapping, spec);
  double pmu_bytes = 0, hop_bytes = 0;
  const std::size_t n = mapping.tenants.size();
  for (std::size_t t = 0; t < n; ++t) {
    const auto& tenant = mapping.tenants[t];
    const auto& measured = m.tenants.at(t);
    TenantResult tr;
    tr.name = tenant.name;
    tr.cycles = measured.cycles;
    tr.seconds = tr.cycles / r.clock_hz;
    tr.analytic_cycles = tenant.cycles();
    const auto sum = mapper::totals(tenant.sections);
    tr.flops = sum.flops;
    tr.dram_bytes = sum.dram_bytes;
    tr.sections = measured.sections;
    if (measured.alone_cycles > 0) {
      tr.alone_cycles = measured.alone_cycles;
      tr.slowdown = tr.cycles / tr.alone_cycles;
    }
    r.workload += (r.workload.empty() ? "" : ", ") + tenant.name;
    r.cycles = std::max(r.cycles, tr.cycles);
    r.flops += tr.flops;
    pmu_bytes += measured.pmu_bytes;
    hop_bytes += measured.hop_bytes;
    for (const auto& [link, peak] : measured.link_peaks) {
      const auto& l = fabric.links()[static_cast<std::size_t>(link)];
      const auto bytes = m.link_bytes.find(link);
      r.links.push_back({link, l.src, l.dst, tenant.name, bytes == m.link_bytes.end() ? 0.0 : bytes->second, peak});
    }
    r.tenants.push_back(std::move(tr));
  }
  if (n > 3) r.workload = fmt::format("{} tenants", n);
  std::sort(r.links.begin(), r.links.end(), [](const LinkResult& a, const LinkResult& b) { return a.link < b.link; });

  const double cycles = std::max(r.cycles, 1e-9);
  std::map<int, std::string> tenant_of;
  for (const auto& t : mapping.tenants) {
    for (const auto& s : t.sections) {
      for (const auto& o : s.ops) {
        for (int u : o.units) tenant_of[u] = t.name;
      }
    }
  }
  for (const auto& unit : m.units) {
    const auto& u = fabric.unit(unit.id);
    UnitResult ur{unit.id, arch::to_string(u.kind), u.tile, u.x, u.y, tenant_of[unit.id]};
    ur.busy = unit.busy_cycles / cycles;
    ur.stalled_input = unit.stalled_input_cycles / cycles;
    ur.stalled_output = unit.stalled_output_cycles / cycles;
    ur.idle = std::max(0.0, 1.0 - ur.busy - ur.stalled_input - ur.stalled_output);
    r.units.push_back(std::move(ur));
  }
  // Every tier of the fabric; the mapping keeps its tensors in one, the others carry nothing.
  for (std::size_t i = 0; i < spec.memory_tiers().size(); ++i) {
    if (i == m.tier)
      r.memory.push_back({spec.memory_tiers()[i].name, m.read_bytes, m.write_bytes, m.tier_busy_cycles / cycles});
    else r.memory.push_back({spec.memory_tiers()[i].name, 0, 0, 0});
  }
  r.seconds = r.cycles / r.clock_hz;
  const auto& e = spec.energy();
  r.energy.compute_j = r.flops * e.pj_per_flop * 1e-12;
  r.energy.pmu_j = pmu_bytes * e.pj_per_pmu_byte * 1e-12;
  r.energy.network_j = hop_bytes * e.pj_per_hop_byte * 1e-12;
  r.energy.dram_j = (m.read_bytes + m.write_bytes) * spec.memory_tiers()[m.tier].pj_per_byte * 1e-12;
  r.energy.static_j = e.static_w * r.seconds;
  r.average_power_w = r.seconds > 0 ? r.energy.total_j() / r.seconds : 0.0;
  r.flops_per_s = r.seconds > 0 ? r.flops / r.seconds : 0.0;
  const double peak_flops = arch::summarize(fabric).peak_flops;
  r.peak_fraction = peak_flops > 0 ? r.flops_per_s / peak_flops : 0.0;
  r.events = m.events;
  r.wall_seconds = m.wall_seconds;
  return r;
}

core::Json to_json(const Report& r) {
  core::Json j{{"format", k_report_format}};
  j.update(core::to_json_value(r));
  return j;
}

Report report_from_json(const core::Json& json, const std::string& source) {
  const core::JsonReader reader(source);
  std::string format;
  if (!json.is_object() || !json.contains("format")) reader.fail("report.format", "is missing");
  core::from_json_value(json.at("format"), format, reader, "report.format");
  if (format != k_report_format)
    reader.fail("report.format", fmt::format("is '{}', expected '{}'", format, k_report_format));
  Report r;
  core::from_json_value(json, r, reader, "report");
  return r;
}

std::string summary_text(const Report& r) {
  std::string out = fmt::format("{:<24} {:>8} {:>14} {:>11} {:>11} {:>9} {:>9}\n", "tenant", "sections", "cycles",
                                "time", "analytic", "sim/ana", "slowdown");
  for (const auto& t : r.tenants) {
    out += fmt::format("{:<24} {:>8} {:>14.0f} {:>11} {:>11} {:>8.2f}x {:>8}\n", core::printable(t.name, 24),
                       t.sections.size(), t.cycles, core::format_si(t.seconds, "s", 4),
                       core::format_si(t.analytic_cycles / r.clock_hz, "s", 4),
                       t.analytic_cycles > 0 ? t.cycles / t.analytic_cycles : 0.0,
                       t.alone_cycles > 0 ? fmt::format("{:.2f}x", t.slowdown) : std::string("-"));
  }
  double busy = 0;
  int pcus = 0;
  for (const auto& u : r.units) {
    if (u.kind == "pcu") {
      busy += u.busy;
      ++pcus;
    }
  }
  out += fmt::format("\n{} on {} ({}): {} ({} cycles), analytic {} ({:.2f}x)\n", r.workload, r.arch, to_string(r.mode),
                     core::format_si(r.seconds, "s"), fmt::format("{:.0f}", r.cycles),
                     core::format_si(r.analytic_cycles / r.clock_hz, "s"),
                     r.analytic_cycles > 0 ? r.cycles / r.analytic_cycles : 0.0);
  out += fmt::format("  {} = {:.1f}% of peak; PCUs in use busy {:.0f}% of the time\n",
                     core::format_si(r.flops_per_s, "FLOP/s"), 100.0 * r.peak_fraction,
                     pcus > 0 ? 100.0 * busy / pcus : 0.0);
  for (const auto& m : r.memory) {
    out += fmt::format("  {}: {} read, {} written, busy {:.0f}%\n", m.name, core::format_si(m.read_bytes, "B"),
                       core::format_si(m.write_bytes, "B"), 100.0 * m.utilization);
  }
  const auto& e = r.energy;
  out += fmt::format("  energy {} (compute {}, PMU {}, network {}, DRAM {}, static {}), average power {}\n",
                     core::format_si(e.total_j(), "J"), core::format_si(e.compute_j, "J"),
                     core::format_si(e.pmu_j, "J"), core::format_si(e.network_j, "J"), core::format_si(e.dram_j, "J"),
                     core::format_si(e.static_j, "J"), core::format_si(r.average_power_w, "W"));
  out += fmt::format(
      "  tokens of {} vectors (at least {} and at most {} per section); {:.3g} firings in {:.2f} s, {} simulated "
      "cycles/s\n",
      r.chunk, r.min_tokens, r.max_tokens, r.events, r.wall_seconds,
      core::format_si(r.cycles_per_host_second(), "", 3));
  return out;
}

}  // namespace rdasim::sim
