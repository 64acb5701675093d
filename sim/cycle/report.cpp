#include "sim/cycle/report.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace rdasim::sim {

namespace {

constexpr const char* k_report_format = "rdasim.report/1";

/// Reads fields by name, naming the missing or mistyped one with its path.
class Fields {
 public:
  Fields(const core::Json& j, std::string path, const std::string& source)
      : m_j(j),
        m_path(std::move(path)),
        m_source(source) {}
  template <class T>
  void operator()(const char* key, T& out) const {
    if (!m_j.is_object() || !m_j.contains(key)) fail(key, "is missing");
    try {
      out = m_j.at(key).get<T>();
    } catch (const core::Json::exception&) {
      fail(key, fmt::format("has the wrong type ({})", m_j.at(key).type_name()));
    }
  }
  [[nodiscard]] Fields at(const char* key) const {
    if (!m_j.is_object() || !m_j.contains(key)) fail(key, "is missing");
    return {m_j.at(key), m_path + "." + key, m_source};
  }
  /// The array at `key`, each element read by `read(Fields, T&)`.
  template <class T, class Read>
  void array(const char* key, std::vector<T>& out, Read read) const {
    if (!m_j.is_object() || !m_j.contains(key) || !m_j.at(key).is_array()) fail(key, "is missing or not an array");
    const auto& a = m_j.at(key);
    out.resize(a.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      read(Fields(a[i], fmt::format("{}.{}[{}]", m_path, key, i), m_source), out[i]);
  }

 private:
  [[noreturn]] void fail(const char* key, const std::string& what) const {
    const std::string path = m_path + "." + key;
    throw core::InputError(core::Location(m_source), fmt::format("{} {}", path, what));
  }
  const core::Json& m_j;
  std::string m_path;
  const std::string& m_source;
};

}  // namespace

core::Json to_json(const Report& r) {
  core::Json tenants = core::Json::array();
  for (const auto& t : r.tenants) {
    core::Json sections = core::Json::array();
    for (const auto& s : t.sections) {
      sections.push_back({{"start", s.start},
                          {"end", s.end},
                          {"cycles", s.cycles()},
                          {"reconfig_cycles", s.reconfig_cycles},
                          {"load_cycles", s.load_cycles},
                          {"run_cycles", s.run_cycles},
                          {"tokens", s.tokens},
                          {"analytic_cycles", s.analytic_cycles},
                          {"bound", s.bound}});
    }
    tenants.push_back({{"name", t.name},
                       {"cycles", t.cycles},
                       {"seconds", t.cycles / r.clock_hz},
                       {"alone_cycles", t.alone_cycles},
                       {"slowdown", t.slowdown},
                       {"analytic_cycles", t.analytic_cycles},
                       {"flops", t.flops},
                       {"dram_bytes", t.dram_bytes},
                       {"sections", sections}});
  }
  core::Json memory = core::Json::array();
  for (const auto& m : r.memory) {
    memory.push_back({{"name", m.name},
                      {"read_bytes", m.read_bytes},
                      {"write_bytes", m.write_bytes},
                      {"utilization", m.utilization}});
  }
  core::Json units = core::Json::array();
  for (const auto& u : r.units) {
    units.push_back({{"unit", u.unit},
                     {"kind", u.kind},
                     {"tile", u.tile},
                     {"x", u.x},
                     {"y", u.y},
                     {"tenant", u.tenant},
                     {"busy", u.busy},
                     {"stalled_input", u.stalled_input},
                     {"stalled_output", u.stalled_output},
                     {"idle", u.idle}});
  }
  core::Json links = core::Json::array();
  for (const auto& l : r.links) {
    links.push_back({{"link", l.link},
                     {"src", l.src},
                     {"dst", l.dst},
                     {"tenant", l.tenant},
                     {"bytes", l.bytes},
                     {"peak_utilization", l.peak_utilization}});
  }
  const auto& e = r.energy;
  return {{"format", k_report_format},
          {"tool_version", r.tool_version},
          {"arch", r.arch},
          {"arch_hash", r.arch_hash},
          {"workload", r.workload},
          {"mode", r.mode},
          {"chunk", r.chunk},
          {"min_tokens", r.min_tokens},
          {"clock_hz", r.clock_hz},
          {"cycles", r.cycles},
          {"seconds", r.seconds},
          {"analytic_cycles", r.analytic_cycles},
          {"flops", r.flops},
          {"flops_per_s", r.flops_per_s},
          {"peak_fraction", r.peak_fraction},
          {"average_power_w", r.average_power_w},
          {"energy",
           {{"compute_j", e.compute_j},
            {"pmu_j", e.pmu_j},
            {"network_j", e.network_j},
            {"dram_j", e.dram_j},
            {"static_j", e.static_j},
            {"total_j", e.total_j()}}},
          {"events", r.events},
          {"wall_seconds", r.wall_seconds},
          {"tenants", tenants},
          {"memory", memory},
          {"units", units},
          {"links", links}};
}

Report report_from_json(const core::Json& json, const std::string& source) {
  const Fields f(json, "report", source);
  std::string format;
  f("format", format);
  if (format != k_report_format) {
    throw core::InputError(core::Location(source),
                           fmt::format("report.format is '{}', expected '{}'", format, k_report_format));
  }
  Report r;
  f("tool_version", r.tool_version);
  f("arch", r.arch);
  f("arch_hash", r.arch_hash);
  f("workload", r.workload);
  f("mode", r.mode);
  f("chunk", r.chunk);
  f("min_tokens", r.min_tokens);
  f("clock_hz", r.clock_hz);
  f("cycles", r.cycles);
  f("seconds", r.seconds);
  f("analytic_cycles", r.analytic_cycles);
  f("flops", r.flops);
  f("flops_per_s", r.flops_per_s);
  f("peak_fraction", r.peak_fraction);
  f("average_power_w", r.average_power_w);
  const auto e = f.at("energy");
  e("compute_j", r.energy.compute_j);
  e("pmu_j", r.energy.pmu_j);
  e("network_j", r.energy.network_j);
  e("dram_j", r.energy.dram_j);
  e("static_j", r.energy.static_j);
  f("events", r.events);
  f("wall_seconds", r.wall_seconds);
  f.array("tenants", r.tenants, [](const Fields& t, TenantResult& out) {
    t("name", out.name);
    t("cycles", out.cycles);
    t("alone_cycles", out.alone_cycles);
    t("slowdown", out.slowdown);
    t("analytic_cycles", out.analytic_cycles);
    t("flops", out.flops);
    t("dram_bytes", out.dram_bytes);
    t.array("sections", out.sections, [](const Fields& s, SectionResult& o) {
      s("start", o.start);
      s("end", o.end);
      s("reconfig_cycles", o.reconfig_cycles);
      s("load_cycles", o.load_cycles);
      s("run_cycles", o.run_cycles);
      s("tokens", o.tokens);
      s("analytic_cycles", o.analytic_cycles);
      s("bound", o.bound);
    });
  });
  f.array("memory", r.memory, [](const Fields& m, TierResult& o) {
    m("name", o.name);
    m("read_bytes", o.read_bytes);
    m("write_bytes", o.write_bytes);
    m("utilization", o.utilization);
  });
  f.array("units", r.units, [](const Fields& u, UnitResult& o) {
    u("unit", o.unit);
    u("kind", o.kind);
    u("tile", o.tile);
    u("x", o.x);
    u("y", o.y);
    u("tenant", o.tenant);
    u("busy", o.busy);
    u("stalled_input", o.stalled_input);
    u("stalled_output", o.stalled_output);
    u("idle", o.idle);
  });
  f.array("links", r.links, [](const Fields& l, LinkResult& o) {
    l("link", o.link);
    l("src", o.src);
    l("dst", o.dst);
    l("tenant", o.tenant);
    l("bytes", o.bytes);
    l("peak_utilization", o.peak_utilization);
  });
  return r;
}

std::string summary_text(const Report& r) {
  std::string out = fmt::format("{:<24} {:>8} {:>14} {:>11} {:>11} {:>9} {:>9}\n", "tenant", "sections", "cycles",
                                "time", "analytic", "sim/ana", "slowdown");
  for (const auto& t : r.tenants) {
    out += fmt::format("{:<24} {:>8} {:>14.0f} {:>11} {:>11} {:>8.2f}x {:>8}\n", core::printable(t.name, 24),
                       t.sections.size(), t.cycles, core::format_si(t.cycles / r.clock_hz, "s", 4),
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
  out += fmt::format("\n{} on {} ({}): {} ({} cycles), analytic {} ({:.2f}x)\n", r.workload, r.arch, r.mode,
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
      "  tokens of {} vectors (at least {} per section); {:.3g} firings in {:.2f} s, {} simulated cycles/s\n", r.chunk,
      r.min_tokens, r.events, r.wall_seconds,
      core::format_si(r.wall_seconds > 0 ? r.cycles / r.wall_seconds : 0.0, "", 3));
  return out;
}

}  // namespace rdasim::sim
