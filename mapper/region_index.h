// What placement and routing need to know of a tenant's region, computed once per tenant.
#pragma once

#include <cstdlib>
#include <vector>

#include "arch/fabric.h"

namespace rdasim::mapper {

/// What placement and routing need to know of a region, computed once per tenant: its PCUs and
/// PMUs, every unit's chip coordinates, the links it may use and the units that forward.
class RegionIndex {
 public:
  RegionIndex(const arch::Fabric& fabric, const arch::Region& region);

  [[nodiscard]] const arch::Region& region() const { return m_region; }

  [[nodiscard]] const arch::Fabric& fabric() const { return m_fabric; }
  [[nodiscard]] int distance(int a, int b) const { return std::abs(x(a) - x(b)) + std::abs(y(a) - y(b)); }
  [[nodiscard]] int x(int unit) const { return m_x[static_cast<std::size_t>(unit)]; }
  [[nodiscard]] int y(int unit) const { return m_y[static_cast<std::size_t>(unit)]; }
  [[nodiscard]] const std::vector<int>& pool(bool pcu) const { return pcu ? m_pcus : m_pmus; }
  [[nodiscard]] bool usable(int link) const { return m_usable[static_cast<std::size_t>(link)]; }
  [[nodiscard]] bool forwards(int unit) const { return m_forwards[static_cast<std::size_t>(unit)]; }

 private:
  const arch::Fabric& m_fabric;
  arch::Region m_region;
  std::vector<int> m_pcus, m_pmus;
  std::vector<int> m_x, m_y;
  std::vector<bool> m_usable, m_forwards;
};

}  // namespace rdasim::mapper
