#include "mapper/mapping.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "mapper/place.h"
#include "graphs/op_registry.h"

namespace rdasim::mapper {

double MappedSection::cycles() const {
  return std::max({compute_cycles, memory_cycles, network_cycles}) + reconfig_cycles;
}

double Tenant::cycles() const {
  double c = 0;
  for (const auto& s : sections) c += s.cycles();
  return c;
}

Mapping map_applications(const std::vector<graphs::Graph>& apps, const arch::Fabric& fabric, const MapOptions& options) {
  const arch::Spec& spec = fabric.spec();
  const int tiles = spec.tiles();
  const int apps_n = static_cast<int>(apps.size());
  const int per_app = options.tiles_per_app > 0 ? options.tiles_per_app : std::max(1, tiles / std::max(apps_n, 1));
  if (per_app * apps_n > tiles) {
    throw core::InputError(core::Location(spec.name()),
                           fmt::format("{} of {} each need {} tiles; '{}' has {}",
                                       core::plural(static_cast<std::size_t>(apps_n), "application"),
                                       core::plural(static_cast<std::size_t>(per_app), "tile"), per_app * apps_n,
                                       spec.name(), tiles));
  }
  const Budget budget{fabric.count(arch::UnitKind::pcu) / tiles * per_app, fabric.count(arch::UnitKind::pmu) / tiles * per_app};
  Mapping m;
  m.arch = spec.name();
  m.arch_hash = spec.hash();
  m.mode = to_string(options.mode);
  for (int a = 0; a < apps_n; ++a) {
    const graphs::Graph& g = apps[static_cast<std::size_t>(a)];
    const auto demands = lower(g, spec);
    auto plan = plan_sections(g, demands, spec, budget, options.mode);
    Tenant t;
    t.name = g.name();
    for (int k = 0; k < per_app; ++k) t.tiles.push_back(a * per_app + k);
    const RegionIndex region(fabric, fabric.region(t.name, t.tiles));
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
        ms.ops.push_back({op.name, op.kind, to_string(d.engine), so.parallel, so.buffer_pmus, so.output_pmus,
                          so.weights_streamed, d.flops, d.cycles, options.place ? placed.units[i] : std::vector<int>{}});
      }
      ms.placement_cost = placed.placement_cost;
      ms.route_rounds = placed.route_rounds;
      ms.overused_links = placed.overused_links;
      for (auto& st : placed.streams) ms.streams.push_back({st.src, st.dst, st.bytes, std::move(st.links)});
      t.sections.push_back(std::move(ms));
    }
    m.tenants.push_back(std::move(t));
  }
  return m;
}

core::Json to_json(const Mapping& m) {
  core::Json tenants = core::Json::array();
  for (const auto& t : m.tenants) {
    core::Json sections = core::Json::array();
    for (const auto& s : t.sections) {
      core::Json ops = core::Json::array();
      for (const auto& o : s.ops) {
        ops.push_back({{"name", o.name}, {"kind", o.kind}, {"engine", o.engine}, {"parallel", o.parallel},
                       {"buffer_pmus", o.buffer_pmus}, {"output_pmus", o.output_pmus},
                       {"weights_streamed", o.weights_streamed}, {"flops", o.flops},
                       {"cycles", o.cycles}, {"units", o.units}});
      }
      core::Json streams = core::Json::array();
      for (const auto& st : s.streams) {
        streams.push_back({{"src", st.src}, {"dst", st.dst}, {"bytes", st.bytes}, {"links", st.links}});
      }
      sections.push_back({{"pcus", s.pcus}, {"pmus", s.pmus}, {"weight_bytes", s.weight_bytes},
                          {"dram_read_bytes", s.dram_read_bytes}, {"dram_write_bytes", s.dram_write_bytes},
                          {"flops", s.flops}, {"compute_cycles", s.compute_cycles}, {"memory_cycles", s.memory_cycles},
                          {"network_cycles", s.network_cycles}, {"reconfig_cycles", s.reconfig_cycles},
                          {"placement_cost", s.placement_cost}, {"route_rounds", s.route_rounds},
                          {"overused_links", s.overused_links}, {"ops", ops},
                          {"streams", streams}});
    }
    tenants.push_back({{"name", t.name}, {"tiles", t.tiles}, {"sections", sections}});
  }
  return {{"format", "rdasim.mapping/1"}, {"arch", m.arch}, {"arch_hash", m.arch_hash}, {"mode", m.mode}, {"tenants", tenants}};
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
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw core::InputError(core::Location(m_source, 0, 0, path), fmt::format("{} {}", path, what));
  }

 private:
  std::string m_source;
};

}  // namespace

Mapping mapping_from_json(const core::Json& j, const std::string& source) {
  const Reader r(source);
  if (r.get<std::string>(j, "format", "mapping") != "rdasim.mapping/1") {
    r.fail("mapping.format", "is not rdasim.mapping/1");
  }
  Mapping m;
  m.arch = r.get<std::string>(j, "arch", "mapping");
  m.arch_hash = r.get<std::string>(j, "arch_hash", "mapping");
  m.mode = r.get<std::string>(j, "mode", "mapping");
  const auto& tenants = r.array(j, "tenants", "mapping");
  for (std::size_t ti = 0; ti < tenants.size(); ++ti) {
    const std::string tp = fmt::format("mapping.tenants[{}]", ti);
    Tenant t;
    t.name = r.get<std::string>(tenants[ti], "name", tp);
    t.tiles = r.get<std::vector<int>>(tenants[ti], "tiles", tp);
    const auto& sections = r.array(tenants[ti], "sections", tp);
    for (std::size_t si = 0; si < sections.size(); ++si) {
      const std::string sp = fmt::format("{}.sections[{}]", tp, si);
      const auto& sj = sections[si];
      MappedSection s;
      s.pcus = r.get<int>(sj, "pcus", sp);
      s.pmus = r.get<int>(sj, "pmus", sp);
      s.weight_bytes = r.get<double>(sj, "weight_bytes", sp);
      s.dram_read_bytes = r.get<double>(sj, "dram_read_bytes", sp);
      s.dram_write_bytes = r.get<double>(sj, "dram_write_bytes", sp);
      s.flops = r.get<double>(sj, "flops", sp);
      s.compute_cycles = r.get<double>(sj, "compute_cycles", sp);
      s.memory_cycles = r.get<double>(sj, "memory_cycles", sp);
      s.network_cycles = r.get<double>(sj, "network_cycles", sp);
      s.placement_cost = r.get<double>(sj, "placement_cost", sp);
      s.route_rounds = r.get<int>(sj, "route_rounds", sp);
      s.overused_links = r.get<int>(sj, "overused_links", sp);
      s.reconfig_cycles = r.get<double>(sj, "reconfig_cycles", sp);
      const auto& ops = r.array(sj, "ops", sp);
      for (std::size_t oi = 0; oi < ops.size(); ++oi) {
        const std::string op = fmt::format("{}.ops[{}]", sp, oi);
        s.ops.push_back({r.get<std::string>(ops[oi], "name", op), r.get<std::string>(ops[oi], "kind", op),
                         r.get<std::string>(ops[oi], "engine", op), r.get<int>(ops[oi], "parallel", op),
                         r.get<int>(ops[oi], "buffer_pmus", op), r.get<int>(ops[oi], "output_pmus", op),
                         r.get<bool>(ops[oi], "weights_streamed", op),
                         r.get<double>(ops[oi], "flops", op), r.get<double>(ops[oi], "cycles", op),
                         r.get<std::vector<int>>(ops[oi], "units", op)});
      }
      const auto& streams = r.array(sj, "streams", sp);
      for (std::size_t i = 0; i < streams.size(); ++i) {
        const std::string stp = fmt::format("{}.streams[{}]", sp, i);
        s.streams.push_back({r.get<int>(streams[i], "src", stp), r.get<int>(streams[i], "dst", stp),
                             r.get<double>(streams[i], "bytes", stp), r.get<std::vector<int>>(streams[i], "links", stp)});
      }
      t.sections.push_back(std::move(s));
    }
    m.tenants.push_back(std::move(t));
  }
  return m;
}

namespace {

/// Placement and routes of one section: units of the right kind inside the tenant's tiles and
/// used once; every route a chain of links inside the region from its source to its sink.
void check_layout(const Tenant& t, std::size_t k, const arch::Fabric& fabric, std::vector<std::string>& problems) {
  const auto& s = t.sections[k];
  const auto where = [&](const std::string& what) { return fmt::format("tenant '{}' section {}: {}", t.name, k, what); };
  const auto units = fabric.units();
  const auto links = fabric.links();
  auto in_region = [&](int unit) {
    return unit >= 0 && unit < static_cast<int>(units.size()) &&
           std::find(t.tiles.begin(), t.tiles.end(), units[static_cast<std::size_t>(unit)].tile) != t.tiles.end();
  };
  std::set<int> used;
  for (const auto& o : s.ops) {
    if (o.units.empty()) continue;
    const int pcus = (o.engine == "matrix" || o.engine == "vector") ? o.parallel : 0;
    if (static_cast<int>(o.units.size()) != pcus + o.buffer_pmus) {
      problems.push_back(where(fmt::format("op '{}' has {} units placed, expected {}", o.name, o.units.size(), pcus + o.buffer_pmus)));
      continue;
    }
    for (std::size_t i = 0; i < o.units.size(); ++i) {
      const int u = o.units[i];
      const auto want = static_cast<int>(i) < pcus ? arch::UnitKind::pcu : arch::UnitKind::pmu;
      if (!in_region(u)) {
        problems.push_back(where(fmt::format("op '{}' sits on unit {}, outside its tiles", o.name, u)));
      } else if (units[static_cast<std::size_t>(u)].kind != want) {
        problems.push_back(where(fmt::format("op '{}' needs a {} but sits on unit {}, a {}", o.name, arch::to_string(want), u,
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
      if (!in_region(link.src) && fabric.unit(link.src).kind != arch::UnitKind::switch_box) {
        problems.push_back(where(fmt::format("the route from unit {} to {} leaves the tenant's tiles", st.src, st.dst)));
        break;
      }
      if (std::find(t.tiles.begin(), t.tiles.end(), units[static_cast<std::size_t>(link.dst)].tile) == t.tiles.end()) {
        problems.push_back(where(fmt::format("the route from unit {} to {} leaves the tenant's tiles at link {}", st.src, st.dst, l)));
        break;
      }
      at = link.dst;
    }
    if (at != st.dst && st.src != st.dst) {
      problems.push_back(where(fmt::format("the route from unit {} ends at unit {}, not at {}", st.src, at, st.dst)));
    }
  }
}

}  // namespace

std::vector<std::string> check(const Mapping& m, const arch::Fabric& fabric) {
  std::vector<std::string> problems;
  const int tiles = fabric.spec().tiles();
  if (m.arch_hash != fabric.spec().hash()) {
    problems.push_back(fmt::format("the mapping is for fabric '{}' ({}), not '{}' ({})", m.arch, m.arch_hash,
                                   fabric.spec().name(), fabric.spec().hash()));
  }
  const int pcus_per_tile = fabric.count(arch::UnitKind::pcu) / tiles;
  const int pmus_per_tile = fabric.count(arch::UnitKind::pmu) / tiles;
  std::set<int> owned;
  for (const auto& t : m.tenants) {
    if (t.tiles.empty()) problems.push_back(fmt::format("tenant '{}' has no tiles", t.name));
    for (int tile : t.tiles) {
      if (tile < 0 || tile >= tiles) problems.push_back(fmt::format("tenant '{}' claims tile {}; the fabric has 0..{}", t.name, tile, tiles - 1));
      else if (!owned.insert(tile).second) problems.push_back(fmt::format("tile {} is shared: tenant '{}' is not isolated", tile, t.name));
    }
    const int region_pcus = pcus_per_tile * static_cast<int>(t.tiles.size());
    const int region_pmus = pmus_per_tile * static_cast<int>(t.tiles.size());
    for (std::size_t k = 0; k < t.sections.size(); ++k) {
      const auto& s = t.sections[k];
      int pcus = 0, pmus = 0;
      for (const auto& o : s.ops) {
        if (o.engine == "matrix" || o.engine == "vector") pcus += o.parallel;
        pmus += o.buffer_pmus;
        if ((o.engine == "matrix" || o.engine == "vector") && o.parallel < 1) {
          problems.push_back(fmt::format("tenant '{}' section {}: op '{}' has no PCU", t.name, k, o.name));
        }
      }
      if (pcus != s.pcus || pmus != s.pmus) {
        problems.push_back(fmt::format("tenant '{}' section {}: its ops use {} PCUs and {} PMUs, the section says {} and {}",
                                       t.name, k, pcus, pmus, s.pcus, s.pmus));
      }
      if (pcus > region_pcus || pmus > region_pmus) {
        problems.push_back(fmt::format("tenant '{}' section {}: {} PCUs and {} PMUs exceed its {} tiles' {} and {}", t.name, k,
                                       pcus, pmus, t.tiles.size(), region_pcus, region_pmus));
      }
      check_layout(t, k, fabric, problems);
    }
  }
  return problems;
}

}  // namespace rdasim::mapper
