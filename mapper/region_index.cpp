#include "mapper/region_index.h"

namespace rdasim::mapper {

RegionIndex::RegionIndex(const arch::Fabric& fabric, const arch::Region& region) : m_fabric(fabric), m_region(region) {
  const auto units = fabric.units();
  m_x.assign(units.size(), 0);
  m_y.assign(units.size(), 0);
  m_forwards.assign(units.size(), false);
  for (const arch::Unit& u : units) {
    m_forwards[static_cast<std::size_t>(u.id)] = u.kind == arch::UnitKind::switch_box;
    if (u.kind == arch::UnitKind::memory) continue;
    m_x[static_cast<std::size_t>(u.id)] = fabric.global_x(u);
    m_y[static_cast<std::size_t>(u.id)] = fabric.global_y(u);
    if (u.kind != arch::UnitKind::pcu && u.kind != arch::UnitKind::pmu) continue;
    if (!fabric.contains(region, u)) continue;
    (u.kind == arch::UnitKind::pcu ? m_pcus : m_pmus).push_back(u.id);
  }
  m_usable.assign(fabric.links().size(), false);
  for (const auto& l : fabric.links()) m_usable[static_cast<std::size_t>(l.id)] = fabric.contains(region, l);
}

}  // namespace rdasim::mapper
