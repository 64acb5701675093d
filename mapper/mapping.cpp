#include "mapper/mapping.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "graphs/op_registry.h"
#include "mapper/place.h"
#include "mapper/verify.h"

namespace rdasim::mapper {

double analytic_cycles(const Mapping& m, const arch::Spec& spec) {
  double slowest = 0, dram = 0;
  for (const auto& t : m.tenants) {
    const auto sum = totals(t.sections);
    slowest = std::max(slowest, sum.cycles);
    dram += sum.dram_bytes;
  }
  return m.tenants.size() > 1 ? std::max(slowest, dram / dram_bytes_per_cycle(spec)) : slowest;
}

double Tenant::cycles() const { return totals(sections).cycles; }

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
  m.mode = options.mode;
  m.dram_tier = spec.memory_tiers().at(dram_tier(spec)).name;
  check_capacity(apps, spec);
  graphs::PartitionMemo cuts;  // tenants alike (an ensemble's members) repeat each other's cuts
  // Forking a worker copies the process's page tables, which grow with every tenant mapped, and
  // a worker's cuts are not remembered here: for many tenants the workers cost more than they
  // save (GP-DCRNN's 64: 7.3 s with one process, 11.5 s with two workers per tenant).
  const int place_jobs = apps_n == 1 ? options.jobs : 1;
  for (int a = 0; a < apps_n; ++a) {
    const graphs::Graph& g = apps[static_cast<std::size_t>(a)];
    const arch::Region& r = regions[static_cast<std::size_t>(a)];
    const Budget budget{fabric.count(r, arch::UnitKind::pcu), fabric.count(r, arch::UnitKind::pmu)};
    const auto demands = lower(g, spec);
    auto plan = plan_sections(g, demands, spec, budget, options.mode, static_cast<int>(options.seed), &cuts);
    verify_stage("sectioning", [&] { return check_sections(g, demands, plan.sections, budget); });
    Tenant t;
    t.name = g.name();
    t.tiles = r.tiles;
    t.first_row = r.first_row;
    t.end_row = r.end_row;
    t.method = plan.method;
    t.sectioning = plan.candidates;
    t.memory = footprint(g, element_bytes(spec));
    const RegionIndex region(fabric, r);
    auto placed_sections = options.place
                               ? place_sections(demands, plan.sections, region, options.seed, place_jobs, &cuts)
                               : PlacedSections{};
    for (std::size_t k = 0; k < plan.sections.size(); ++k) {
      auto& s = plan.sections[k];
      SectionLayout placed;
      if (options.place) {
        placed = std::move(placed_sections.layouts[k]);
        s.network_cycles = placed.max_link_bytes / spec.network().link_bytes_per_cycle;
      }
      MappedSection ms;
      static_cast<SectionFigures&>(ms) = s;
      static_cast<PlacementFigures&>(ms) = placed;
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
      ms.streams = std::move(placed.streams);
      if (options.place) ms.dram = dram_streams(g, demands, s, placed.units, element_bytes(spec));
      t.sections.push_back(std::move(ms));
    }
    if (placed_sections.reused > 0) {
      core::log::debug("{}: {} of {} took the layout of an alike section", g.name(), placed_sections.reused,
                       core::plural(plan.sections.size(), "section"));
    }
    m.tenants.push_back(std::move(t));
    if (options.progress) options.progress(m.tenants.size(), apps.size());
  }
  core::log::debug("METIS: {} of {} cuts computed, the others remembered", cuts.computed(), cuts.calls());
  verify_stage("mapping", [&] { return check(m, fabric); });
  return m;
}

namespace {
constexpr const char* k_mapping_format = "rdasim.mapping/2";
}  // namespace

core::Json to_json(const Mapping& m) {
  core::Json j{{"format", k_mapping_format}};
  j.update(core::to_json_value(m));
  return j;
}

void Tenant::read_rows(Tenant& t, const core::Json& j, const core::JsonReader& reader, const std::string& path) {
  std::vector<int> rows;
  core::from_json_value(j, rows, reader, path);
  if (rows.size() != 2) reader.fail(path, "must be [first_row, end_row]");
  t.first_row = rows[0];
  t.end_row = rows[1];
}

Mapping mapping_from_json(const core::Json& j, const std::string& source) {
  const core::JsonReader r(source);
  std::string format;
  if (!j.is_object() || !j.contains("format")) r.fail("mapping.format", "is missing");
  core::from_json_value(j.at("format"), format, r, "mapping.format");
  if (format != k_mapping_format) {
    r.fail("mapping.format", fmt::format("is '{}', expected '{}' (a mapping from another rdasim version: map the model "
                                         "again)",
                                         format, k_mapping_format));
  }
  Mapping m;
  core::from_json_value(j, m, r, "mapping");
  // The simulator looks each op's kind up in the registry.
  for (std::size_t ti = 0; ti < m.tenants.size(); ++ti) {
    for (std::size_t si = 0; si < m.tenants[ti].sections.size(); ++si) {
      const auto& ops = m.tenants[ti].sections[si].ops;
      for (std::size_t oi = 0; oi < ops.size(); ++oi) {
        if (graphs::OpRegistry::instance().find(ops[oi].kind) == nullptr) {
          r.fail(fmt::format("mapping.tenants[{}].sections[{}].ops[{}].kind", ti, si, oi),
                 fmt::format("'{}' is not an op kind rdasim knows", ops[oi].kind));
        }
      }
    }
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

namespace {

/// Whether a section's streams, unit to unit, loop back on themselves: each unit of the loop
/// would wait on its own output, and no token could ever flow.
bool streams_cycle(const MappedSection& s) {
  std::map<int, std::vector<int>> readers;
  std::map<int, int> pending;
  for (const auto& st : s.streams) {
    if (st.src == st.dst) continue;
    readers[st.src].push_back(st.dst);
    ++pending[st.dst];
    pending.try_emplace(st.src, 0);
  }
  std::vector<int> ready;
  for (const auto& [unit, count] : pending) {
    if (count == 0) ready.push_back(unit);
  }
  std::size_t seen = 0;
  while (!ready.empty()) {
    const int unit = ready.back();
    ready.pop_back();
    ++seen;
    for (int r : readers[unit]) {
      if (--pending[r] == 0) ready.push_back(r);
    }
  }
  return seen != pending.size();
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
      if (streams_cycle(s)) {
        problems.push_back(
            fmt::format("tenant '{}' section {}: its streams form a cycle (each unit on it would wait "
                        "on its own output)",
                        t.name, k));
      }
    }
  }
  return problems;
}

}  // namespace rdasim::mapper
