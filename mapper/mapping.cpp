#include "mapper/mapping.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "graphs/op_registry.h"
#include "mapper/place.h"

namespace rdasim::mapper {

double MappedSection::cycles() const {
  return std::max({compute_cycles, memory_cycles, network_cycles}) + reconfig_cycles;
}

double analytic_cycles(const Mapping& m, const arch::Spec& spec) {
  double slowest = 0, dram = 0;
  for (const auto& t : m.tenants) {
    slowest = std::max(slowest, t.cycles());
    for (const auto& s : t.sections) dram += s.dram_read_bytes + s.dram_write_bytes;
  }
  return m.tenants.size() > 1 ? std::max(slowest, dram / dram_bytes_per_cycle(spec)) : slowest;
}

double Tenant::cycles() const {
  double c = 0;
  for (const auto& s : sections) c += s.cycles();
  return c;
}

arch::Region Tenant::region(const arch::Fabric& fabric) const {
  if (end_row > 0) {
    if (tiles.size() != 1) {
      throw core::InputError(core::Location(fmt::format("tenant '{}'", name)),
                             "a band of rows must lie in exactly one tile");
    }
    return fabric.band(name, tiles[0], first_row, end_row);
  }
  return fabric.region(name, tiles);
}

Mapping map_applications(const std::vector<graphs::Graph>& apps, const arch::Fabric& fabric,
                         const MapOptions& options) {
  const arch::Spec& spec = fabric.spec();
  std::vector<std::string> names;
  for (const auto& g : apps) names.push_back(g.name());
  const auto regions = allocate_regions(fabric, names, options.regions);
  const int apps_n = static_cast<int>(apps.size());
  Mapping m;
  m.arch = spec.name();
  m.arch_hash = spec.hash();
  m.mode = to_string(options.mode);
  m.dram_tier = spec.memory_tiers().at(dram_tier(spec)).name;
  for (int a = 0; a < apps_n; ++a) {
    const graphs::Graph& g = apps[static_cast<std::size_t>(a)];
    const arch::Region& r = regions[static_cast<std::size_t>(a)];
    const Budget budget{fabric.count(r, arch::UnitKind::pcu), fabric.count(r, arch::UnitKind::pmu)};
    const auto demands = lower(g, spec);
    auto plan = plan_sections(g, demands, spec, budget, options.mode, static_cast<int>(options.seed));
    Tenant t;
    t.name = g.name();
    t.tiles = r.tiles;
    t.first_row = r.first_row;
    t.end_row = r.end_row;
    t.method = plan.method;
    t.sectioning = plan.candidates;
    const RegionIndex region(fabric, r);
    for (std::size_t k = 0; k < plan.sections.size(); ++k) {
      auto& s = plan.sections[k];
      SectionLayout placed;
      if (options.place) {
        placed = place_and_route(g, demands, s, region, std::max(s.compute_cycles, s.memory_cycles), options.seed + k);
        s.network_cycles = placed.max_link_bytes / spec.network().link_bytes_per_cycle;
      }
      MappedSection ms;
      ms.pcus = s.pcus;
      ms.pmus = s.pmus;
      ms.weight_bytes = s.weight_bytes;
      ms.state_bytes = s.state_bytes;
      ms.streamed_weight_bytes = s.streamed_weight_bytes;
      ms.dram_read_bytes = s.dram_read_bytes;
      ms.dram_write_bytes = s.dram_write_bytes;
      ms.flops = s.flops;
      ms.compute_cycles = s.compute_cycles;
      ms.memory_cycles = s.memory_cycles;
      ms.network_cycles = s.network_cycles;
      ms.reconfig_cycles = s.reconfig_cycles;
      for (std::size_t i = 0; i < s.ops.size(); ++i) {
        const auto& so = s.ops[i];
        const auto& d = demands[static_cast<std::size_t>(so.op)];
        const graphs::Op& op = g.op(so.op);
        const bool on_pcus = uses_pcus(d.engine);
        ms.ops.push_back({op.name, op.kind, d.engine, so.parallel, so.buffer_pmus, so.output_pmus, so.weights_streamed,
                          d.flops, d.cycles, on_pcus ? static_cast<int>(split_of(d, so.parallel).reduction) : 1,
                          on_pcus ? stage_cycles(d, so.parallel) : d.cycles / std::max(so.parallel, 1),
                          options.place ? placed.units[i] : std::vector<int>{}});
      }
      ms.placement_start = placed.start;
      ms.start_cost = placed.start_cost;
      ms.placement_cost = placed.placement_cost;
      ms.route_rounds = placed.route_rounds;
      ms.overused_links = placed.overused_links;
      for (auto& st : placed.streams) ms.streams.push_back({st.src, st.dst, st.bytes, std::move(st.links), st.group});
      if (options.place) ms.dram = dram_streams(g, demands, s, placed.units, element_bytes(spec));
      t.sections.push_back(std::move(ms));
    }
    m.tenants.push_back(std::move(t));
    if (options.progress) options.progress(m.tenants.size(), apps.size());
  }
  return m;
}

namespace {
constexpr const char* k_mapping_format = "rdasim.mapping/2";
}  // namespace

core::Json to_json(const Mapping& m) {
  core::Json tenants = core::Json::array();
  for (const auto& t : m.tenants) {
    core::Json sections = core::Json::array();
    for (const auto& s : t.sections) {
      core::Json ops = core::Json::array();
      for (const auto& o : s.ops) {
        ops.push_back({{"name", o.name},
                       {"kind", o.kind},
                       {"engine", graphs::to_string(o.engine)},
                       {"parallel", o.parallel},
                       {"buffer_pmus", o.buffer_pmus},
                       {"output_pmus", o.output_pmus},
                       {"weights_streamed", o.weights_streamed},
                       {"flops", o.flops},
                       {"cycles", o.cycles},
                       {"reduction_split", o.reduction_split},
                       {"stage_cycles", o.stage_cycles},
                       {"units", o.units}});
      }
      core::Json streams = core::Json::array();
      for (const auto& st : s.streams) {
        streams.push_back(
            {{"src", st.src}, {"dst", st.dst}, {"bytes", st.bytes}, {"links", st.links}, {"group", st.group}});
      }
      core::Json dram = core::Json::array();
      for (const auto& d : s.dram) {
        dram.push_back({{"unit", d.unit}, {"bytes", d.bytes}, {"write", d.write}, {"preload", d.preload}});
      }
      sections.push_back({{"pcus", s.pcus},
                          {"pmus", s.pmus},
                          {"weight_bytes", s.weight_bytes},
                          {"dram_read_bytes", s.dram_read_bytes},
                          {"dram_write_bytes", s.dram_write_bytes},
                          {"flops", s.flops},
                          {"compute_cycles", s.compute_cycles},
                          {"memory_cycles", s.memory_cycles},
                          {"network_cycles", s.network_cycles},
                          {"reconfig_cycles", s.reconfig_cycles},
                          {"placement_start", s.placement_start},
                          {"start_cost", s.start_cost},
                          {"placement_cost", s.placement_cost},
                          {"route_rounds", s.route_rounds},
                          {"overused_links", s.overused_links},
                          {"ops", ops},
                          {"streams", streams},
                          {"dram", dram}});
      // Written only when there is some, so that inference mappings read as before.
      if (s.state_bytes > 0) sections.back()["state_bytes"] = s.state_bytes;
      if (s.streamed_weight_bytes > 0) sections.back()["streamed_weight_bytes"] = s.streamed_weight_bytes;
    }
    core::Json sectioning = core::Json::array();
    for (const auto& c : t.sectioning) {
      sectioning.push_back(
          {{"method", c.method}, {"sections", c.sections}, {"cycles", c.cycles}, {"dram_bytes", c.dram_bytes}});
    }
    tenants.push_back({{"name", t.name},
                       {"tiles", t.tiles},
                       {"rows", {t.first_row, t.end_row}},
                       {"method", t.method},
                       {"sectioning", sectioning},
                       {"sections", sections}});
  }
  return {{"format", k_mapping_format}, {"arch", m.arch},    {"arch_hash", m.arch_hash}, {"mode", m.mode},
          {"dram_tier", m.dram_tier},   {"tenants", tenants}};
}

namespace {

/// Typed reads with the key path in the error.
class Reader {
 public:
  explicit Reader(std::string source) : m_source(std::move(source)) {}

  const core::Json& at(const core::Json& j, const std::string& key, const std::string& path) const {
    if (!j.is_object() || !j.contains(key)) fail(path + "." + key, "is missing");
    return j.at(key);
  }
  template <class T>
  T get(const core::Json& j, const std::string& key, const std::string& path) const {
    const auto& v = at(j, key, path);
    try {
      return v.get<T>();
    } catch (const core::Json::exception&) {
      fail(path + "." + key, fmt::format("has the wrong type ({})", v.type_name()));
    }
  }
  const core::Json& array(const core::Json& j, const std::string& key, const std::string& path) const {
    const auto& v = at(j, key, path);
    if (!v.is_array()) fail(path + "." + key, "must be an array");
    return v;
  }
  /// An op's kind, which the simulator looks up in the op registry.
  std::string kind(const core::Json& j, const std::string& path) const {
    auto kind = get<std::string>(j, "kind", path);
    if (graphs::OpRegistry::instance().find(kind) == nullptr)
      fail(path + ".kind", fmt::format("'{}' is not an op kind rdasim knows", kind));
    return kind;
  }
  graphs::Engine engine(const core::Json& j, const std::string& path) const {
    const auto name = get<std::string>(j, "engine", path);
    const auto engine = graphs::engine_from_string(name);
    if (!engine) fail(path + ".engine", fmt::format("is '{}'; expected none, matrix, vector or memory", name));
    return *engine;
  }
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw core::InputError(core::Location(m_source), fmt::format("{} {}", path, what));
  }

 private:
  std::string m_source;
};

}  // namespace

Mapping mapping_from_json(const core::Json& j, const std::string& source) {
  const Reader r(source);
  if (const auto format = r.get<std::string>(j, "format", "mapping"); format != k_mapping_format) {
    r.fail("mapping.format",
           fmt::format("is '{}', expected '{}' (a mapping from another rdasim version: map the model again)", format,
                       k_mapping_format));
  }
  Mapping m;
  m.arch = r.get<std::string>(j, "arch", "mapping");
  m.arch_hash = r.get<std::string>(j, "arch_hash", "mapping");
  m.mode = r.get<std::string>(j, "mode", "mapping");
  m.dram_tier = r.get<std::string>(j, "dram_tier", "mapping");
  const auto& tenants = r.array(j, "tenants", "mapping");
  for (std::size_t ti = 0; ti < tenants.size(); ++ti) {
    const std::string tp = fmt::format("mapping.tenants[{}]", ti);
    Tenant t;
    t.name = r.get<std::string>(tenants[ti], "name", tp);
    t.tiles = r.get<std::vector<int>>(tenants[ti], "tiles", tp);
    const auto rows = r.get<std::vector<int>>(tenants[ti], "rows", tp);
    if (rows.size() != 2) r.fail(tp + ".rows", "must be [first_row, end_row]");
    t.first_row = rows[0];
    t.end_row = rows[1];
    t.method = r.get<std::string>(tenants[ti], "method", tp);
    const auto& sectioning = r.array(tenants[ti], "sectioning", tp);
    for (std::size_t ci = 0; ci < sectioning.size(); ++ci) {
      const std::string cp = fmt::format("{}.sectioning[{}]", tp, ci);
      t.sectioning.push_back(
          {r.get<std::string>(sectioning[ci], "method", cp), r.get<std::size_t>(sectioning[ci], "sections", cp),
           r.get<double>(sectioning[ci], "cycles", cp), r.get<double>(sectioning[ci], "dram_bytes", cp)});
    }
    const auto& sections = r.array(tenants[ti], "sections", tp);
    for (std::size_t si = 0; si < sections.size(); ++si) {
      const std::string sp = fmt::format("{}.sections[{}]", tp, si);
      const auto& sj = sections[si];
      MappedSection s;
      s.pcus = r.get<int>(sj, "pcus", sp);
      s.pmus = r.get<int>(sj, "pmus", sp);
      s.weight_bytes = r.get<double>(sj, "weight_bytes", sp);
      if (sj.contains("state_bytes")) s.state_bytes = r.get<double>(sj, "state_bytes", sp);
      if (sj.contains("streamed_weight_bytes"))
        s.streamed_weight_bytes = r.get<double>(sj, "streamed_weight_bytes", sp);
      s.dram_read_bytes = r.get<double>(sj, "dram_read_bytes", sp);
      s.dram_write_bytes = r.get<double>(sj, "dram_write_bytes", sp);
      s.flops = r.get<double>(sj, "flops", sp);
      s.compute_cycles = r.get<double>(sj, "compute_cycles", sp);
      s.memory_cycles = r.get<double>(sj, "memory_cycles", sp);
      s.network_cycles = r.get<double>(sj, "network_cycles", sp);
      s.placement_start = r.get<std::string>(sj, "placement_start", sp);
      s.start_cost = r.get<double>(sj, "start_cost", sp);
      s.placement_cost = r.get<double>(sj, "placement_cost", sp);
      s.route_rounds = r.get<int>(sj, "route_rounds", sp);
      s.overused_links = r.get<int>(sj, "overused_links", sp);
      s.reconfig_cycles = r.get<double>(sj, "reconfig_cycles", sp);
      const auto& ops = r.array(sj, "ops", sp);
      for (std::size_t oi = 0; oi < ops.size(); ++oi) {
        const std::string op = fmt::format("{}.ops[{}]", sp, oi);
        s.ops.push_back({r.get<std::string>(ops[oi], "name", op), r.kind(ops[oi], op), r.engine(ops[oi], op),
                         r.get<int>(ops[oi], "parallel", op), r.get<int>(ops[oi], "buffer_pmus", op),
                         r.get<int>(ops[oi], "output_pmus", op), r.get<bool>(ops[oi], "weights_streamed", op),
                         r.get<double>(ops[oi], "flops", op), r.get<double>(ops[oi], "cycles", op),
                         r.get<int>(ops[oi], "reduction_split", op), r.get<double>(ops[oi], "stage_cycles", op),
                         r.get<std::vector<int>>(ops[oi], "units", op)});
      }
      const auto& streams = r.array(sj, "streams", sp);
      for (std::size_t i = 0; i < streams.size(); ++i) {
        const std::string stp = fmt::format("{}.streams[{}]", sp, i);
        s.streams.push_back({r.get<int>(streams[i], "src", stp), r.get<int>(streams[i], "dst", stp),
                             r.get<double>(streams[i], "bytes", stp), r.get<std::vector<int>>(streams[i], "links", stp),
                             r.get<int>(streams[i], "group", stp)});
      }
      const auto& dram = r.array(sj, "dram", sp);
      for (std::size_t i = 0; i < dram.size(); ++i) {
        const std::string dp = fmt::format("{}.dram[{}]", sp, i);
        s.dram.push_back({r.get<int>(dram[i], "unit", dp), r.get<double>(dram[i], "bytes", dp),
                          r.get<bool>(dram[i], "write", dp), r.get<bool>(dram[i], "preload", dp)});
      }
      t.sections.push_back(std::move(s));
    }
    m.tenants.push_back(std::move(t));
  }
  return m;
}

namespace {

/// Placement and routes of one section: units of the right kind inside the tenant's region and
/// used once; every route a chain of links inside the region from its source to its sink.
void check_layout(const Tenant& t, const arch::Region& region, std::size_t k, const arch::Fabric& fabric,
                  std::vector<std::string>& problems) {
  const auto& s = t.sections[k];
  const auto where = [&](const std::string& what) {
    return fmt::format("tenant '{}' section {}: {}", t.name, k, what);
  };
  const auto units = fabric.units();
  const auto links = fabric.links();
  auto in_region = [&](int unit) {
    return unit >= 0 && unit < static_cast<int>(units.size()) &&
           fabric.contains(region, units[static_cast<std::size_t>(unit)]);
  };
  std::set<int> used;
  for (const auto& o : s.ops) {
    if (o.units.empty()) continue;
    const int pcus = o.pcus();
    if (static_cast<int>(o.units.size()) != pcus + o.buffer_pmus) {
      problems.push_back(
          where(fmt::format("op '{}' has {} units placed, expected {}", o.name, o.units.size(), pcus + o.buffer_pmus)));
      continue;
    }
    for (std::size_t i = 0; i < o.units.size(); ++i) {
      const int u = o.units[i];
      const auto want = static_cast<int>(i) < pcus ? arch::UnitKind::pcu : arch::UnitKind::pmu;
      if (!in_region(u)) {
        problems.push_back(where(fmt::format("op '{}' sits on unit {}, outside its region", o.name, u)));
      } else if (units[static_cast<std::size_t>(u)].kind != want) {
        problems.push_back(
            where(fmt::format("op '{}' needs a {} but sits on unit {}, a {}", o.name, arch::to_string(want), u,
                              arch::to_string(units[static_cast<std::size_t>(u)].kind))));
      } else if (!used.insert(u).second) {
        problems.push_back(where(fmt::format("unit {} holds two virtual units (op '{}')", u, o.name)));
      }
    }
  }
  for (const auto& st : s.streams) {
    int at = st.src;
    for (int l : st.links) {
      if (l < 0 || l >= static_cast<int>(links.size())) {
        problems.push_back(where(fmt::format("a route uses link {}, which the fabric does not have", l)));
        break;
      }
      const auto& link = links[static_cast<std::size_t>(l)];
      if (link.src != at) {
        problems.push_back(where(fmt::format("the route from unit {} to {} breaks at link {}", st.src, st.dst, l)));
        break;
      }
      if (!fabric.contains(region, link)) {
        problems.push_back(where(
            fmt::format("the route from unit {} to {} leaves the tenant's region at link {}", st.src, st.dst, l)));
        break;
      }
      at = link.dst;
    }
    if (at != st.dst && st.src != st.dst) {
      problems.push_back(where(fmt::format("the route from unit {} ends at unit {}, not at {}", st.src, at, st.dst)));
    }
  }
  // Off-chip traffic: from and to the section's own units, adding up to its DRAM bytes.
  if (s.dram.empty()) return;  // mapped without placement
  double read = 0, written = 0;
  for (const auto& d : s.dram) {
    (d.write ? written : read) += d.bytes;
    if (d.unit >= 0 && used.count(d.unit) == 0) {
      problems.push_back(where(fmt::format("DRAM traffic goes to unit {}, which holds none of its ops", d.unit)));
    }
  }
  const auto differs = [](double a, double b) { return std::abs(a - b) > 1e-9 * std::max({1.0, a, b}); };
  if (differs(read, s.dram_read_bytes) || differs(written, s.dram_write_bytes)) {
    problems.push_back(where(fmt::format("its DRAM streams read {} B and write {} B, the section says {} B and {} B",
                                         read, written, s.dram_read_bytes, s.dram_write_bytes)));
  }
}

}  // namespace

std::vector<std::string> check(const Mapping& m, const arch::Fabric& fabric) {
  std::vector<std::string> problems;
  if (m.arch_hash != fabric.spec().hash()) {
    problems.push_back(fmt::format("the mapping is for fabric '{}' ({}), not '{}' ({})", m.arch, m.arch_hash,
                                   fabric.spec().name(), fabric.spec().hash()));
  }
  // Isolation: no PCU, PMU, switch or AGCU in two tenants' regions (links follow their ends).
  std::vector<int> owner(fabric.units().size(), -1);
  for (std::size_t ti = 0; ti < m.tenants.size(); ++ti) {
    const auto& t = m.tenants[ti];
    arch::Region region;
    try {
      region = t.region(fabric);
    } catch (const core::InputError& e) {
      problems.push_back(fmt::format("tenant '{}': {}", t.name, e.message()));
      continue;
    }
    int shared = 0, first_shared = -1;
    for (const auto& u : fabric.units()) {
      if (u.kind == arch::UnitKind::memory || !fabric.contains(region, u)) continue;
      auto& o = owner[static_cast<std::size_t>(u.id)];
      if (o >= 0) {
        if (shared++ == 0) first_shared = o;
      } else {
        o = static_cast<int>(ti);
      }
    }
    if (shared > 0) {
      problems.push_back(fmt::format("tenant '{}' shares {} with tenant '{}': it is not isolated", t.name,
                                     core::plural(static_cast<std::size_t>(shared), "unit"),
                                     m.tenants[static_cast<std::size_t>(first_shared)].name));
    }
    const int region_pcus = fabric.count(region, arch::UnitKind::pcu);
    const int region_pmus = fabric.count(region, arch::UnitKind::pmu);
    for (std::size_t k = 0; k < t.sections.size(); ++k) {
      const auto& s = t.sections[k];
      int pcus = 0, pmus = 0;
      for (const auto& o : s.ops) {
        pcus += o.pcus();
        pmus += o.buffer_pmus;
        if (uses_pcus(o.engine) && o.parallel < 1) {
          problems.push_back(fmt::format("tenant '{}' section {}: op '{}' has no PCU", t.name, k, o.name));
        }
      }
      if (pcus != s.pcus || pmus != s.pmus) {
        problems.push_back(
            fmt::format("tenant '{}' section {}: its ops use {} PCUs and {} PMUs, the section says {} and {}", t.name,
                        k, pcus, pmus, s.pcus, s.pmus));
      }
      if (pcus > region_pcus || pmus > region_pmus) {
        problems.push_back(fmt::format("tenant '{}' section {}: {} PCUs and {} PMUs exceed its region's {} and {}",
                                       t.name, k, pcus, pmus, region_pcus, region_pmus));
      }
      check_layout(t, region, k, fabric, problems);
    }
  }
  return problems;
}

}  // namespace rdasim::mapper
