#include "mapper/verify.h"

#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace rdasim::mapper {

bool verifying_stages() {
#ifdef RDASIM_VERIFY_STAGES
  return true;
#else
  return false;
#endif
}

std::vector<std::string> check_sections(const graphs::Graph& g, const std::vector<OpDemand>& demands,
                                        const std::vector<Section>& sections, const Budget& budget) {
  std::vector<std::string> problems;
  std::vector<int> section_of(g.ops().size(), -1);
  for (std::size_t k = 0; k < sections.size(); ++k) {
    int pcus = 0, pmus = 0;
    for (const auto& so : sections[k].ops) {
      if (so.op < 0 || static_cast<std::size_t>(so.op) >= g.ops().size()) {
        problems.push_back(fmt::format("section {}: op id {} is not in graph '{}'", k, so.op, g.name()));
        continue;
      }
      auto& at = section_of[static_cast<std::size_t>(so.op)];
      if (at >= 0) problems.push_back(fmt::format("op '{}' is in sections {} and {}", g.op(so.op).name, at, k));
      at = static_cast<int>(k);
      if (uses_pcus(demands[static_cast<std::size_t>(so.op)].engine)) pcus += so.parallel;
      pmus += so.buffer_pmus;
    }
    const auto& s = sections[k];
    if (pcus != s.pcus || pmus != s.pmus) {
      problems.push_back(fmt::format("section {}: its ops use {} PCUs and {} PMUs, the section says {} and {}", k, pcus,
                                     pmus, s.pcus, s.pmus));
    }
    if (s.pcus > budget.pcus || s.pmus > budget.pmus) {
      problems.push_back(fmt::format("section {}: {} PCUs and {} PMUs exceed the budget of {} and {}", k, s.pcus,
                                     s.pmus, budget.pcus, budget.pmus));
    }
  }
  for (std::size_t id = 0; id < g.ops().size(); ++id) {
    const graphs::Op& op = g.ops()[id];
    if (section_of[id] < 0) {
      problems.push_back(fmt::format("op '{}' is in no section", op.name));
      continue;
    }
    for (graphs::TensorId t : op.inputs) {
      if (t == graphs::k_no_tensor) continue;
      const auto producer = g.tensor(t).producer;
      if (producer < 0 || section_of[static_cast<std::size_t>(producer)] <= section_of[id]) continue;
      problems.push_back(fmt::format("op '{}' (section {}) reads '{}', which section {} makes later", op.name,
                                     section_of[id], g.tensor(t).name, section_of[static_cast<std::size_t>(producer)]));
    }
  }
  return problems;
}

std::vector<std::string> check_placement(const VirtualSection& vs, const RegionIndex& region, const Placement& where) {
  std::vector<std::string> problems;
  if (where.size() != vs.size()) {
    problems.push_back(fmt::format("{} virtual units, {} places", vs.size(), where.size()));
    return problems;
  }
  std::set<int> pcus(region.pool(true).begin(), region.pool(true).end());
  std::set<int> pmus(region.pool(false).begin(), region.pool(false).end());
  std::set<int> used;
  for (std::size_t v = 0; v < where.size(); ++v) {
    const bool pcu = vs.is_pcu[v];
    if (!(pcu ? pcus : pmus).contains(where[v])) {
      problems.push_back(fmt::format("virtual unit {} (a {}) sits on unit {}, not a {} of region '{}'", v,
                                     pcu ? "PCU" : "PMU", where[v], pcu ? "PCU" : "PMU", region.region().name));
    } else if (!used.insert(where[v]).second) {
      problems.push_back(fmt::format("unit {} holds two virtual units (one is {})", where[v], v));
    }
  }
  return problems;
}

std::vector<std::string> check_routing(const RegionIndex& region, const std::vector<RouteDemand>& demands,
                                       const Routing& routing) {
  std::vector<std::string> problems;
  if (routing.paths.size() != demands.size()) {
    problems.push_back(fmt::format("{} demands, {} paths", demands.size(), routing.paths.size()));
    return problems;
  }
  const auto links = region.fabric().links();
  for (std::size_t s = 0; s < demands.size(); ++s) {
    const auto& d = demands[s];
    int at = d.src;
    for (int l : routing.paths[s]) {
      if (l < 0 || static_cast<std::size_t>(l) >= links.size() || !region.usable(l) ||
          links[static_cast<std::size_t>(l)].src != at) {
        problems.push_back(fmt::format("the path from unit {} to {} breaks at link {}", d.src, d.dst, l));
        break;
      }
      at = links[static_cast<std::size_t>(l)].dst;
    }
    if (at != d.dst) problems.push_back(fmt::format("the path from unit {} ends at unit {}, not {}", d.src, at, d.dst));
  }
  return problems;
}

void fail_stage(std::string_view stage, const std::vector<std::string>& problems) {
  std::string text = fmt::format("the mapper's {} stage produced an invalid result:", stage);
  for (const auto& p : problems) text += "\n  " + p;
  throw core::InternalError(text);
}

void verify_stage(std::string_view stage, const std::function<std::vector<std::string>()>& check) {
  if (!verifying_stages()) return;
  if (const auto problems = check(); !problems.empty()) fail_stage(stage, problems);
}

}  // namespace rdasim::mapper
