// Derived peaks and totals of a fabric.
#include "arch/summary.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/units.h"

namespace rdasim::arch {

namespace {
constexpr double k_word_bytes = 4.0;  // a PMU bank word and a vector lane are 32 bits

/// Directed switch-to-switch links that cross a vertical line through the chip's middle,
/// counted in one direction (left to right). The line runs between two switch columns.
int bisection_links(const Fabric& fabric) {
  int lo = std::numeric_limits<int>::max();
  int hi = std::numeric_limits<int>::min();
  for (const auto& u : fabric.units()) {
    if (u.kind != UnitKind::switch_box) continue;  // (memory tiers have no grid position)
    lo = std::min(lo, fabric.global_x(u));
    hi = std::max(hi, fabric.global_x(u));
  }
  double middle = (lo + hi) / 2.0;
  if (middle == std::floor(middle)) middle += 0.5;  // on a column: cut just right of it
  int crossing = 0;
  for (const auto& link : fabric.links()) {
    const Unit& a = fabric.unit(link.src);
    const Unit& b = fabric.unit(link.dst);
    if (a.kind != UnitKind::switch_box || b.kind != UnitKind::switch_box) continue;
    if (fabric.global_x(a) < middle && fabric.global_x(b) > middle) ++crossing;
  }
  return crossing;
}
}  // namespace

Summary summarize(const Fabric& fabric) {
  const Spec& spec = fabric.spec();
  Summary s;
  s.name = spec.name();
  s.source = spec.source();
  s.config_hash = spec.hash();
  s.clock_hz = spec.clock_ghz() * core::k_giga;
  s.tiles = spec.tiles();
  s.pcus = fabric.count(UnitKind::pcu);
  s.pmus = fabric.count(UnitKind::pmu);
  s.switches = fabric.count(UnitKind::switch_box);
  s.agcus = fabric.count(UnitKind::agcu);
  s.links = static_cast<int>(fabric.links().size());

  s.precision = to_string(spec.pcu().precision);
  s.peak_flops = 2.0 * s.pcus * spec.pcu().lanes * spec.pcu().stages * s.clock_hz;
  s.sram_bytes = s.pmus * spec.pmu().capacity_kib * core::k_kib;
  s.sram_bytes_per_s = s.pmus * spec.pmu().banks * k_word_bytes * s.clock_hz;

  for (const auto& tier : spec.memory_tiers()) {
    TierSummary t;
    t.name = tier.name;
    t.kind = to_string(tier.kind);
    t.capacity_bytes = tier.capacity_gib * core::k_gib;
    t.peak_bytes_per_s = tier.bandwidth_gbps * core::k_giga;
    t.sustained_bytes_per_s = t.peak_bytes_per_s * tier.efficiency;
    t.latency_ns = tier.latency_ns;
    t.balance_flop_per_byte = s.peak_flops / t.peak_bytes_per_s;
    s.offchip_bytes_per_s += t.peak_bytes_per_s;
    s.tiers.push_back(std::move(t));
  }
  s.machine_balance = s.peak_flops / s.offchip_bytes_per_s;
  s.bisection_bytes_per_s = bisection_links(fabric) * spec.network().link_bytes_per_cycle * s.clock_hz;

  const AreaSpec& area = spec.area();
  s.area_pcu_mm2 = s.pcus * area.pcu_area(spec.pcu().lanes, spec.pcu().stages);
  s.area_pmu_mm2 = s.pmus * area.pmu_area(spec.pmu().capacity_kib);
  s.area_switch_mm2 = s.switches * area.switch_mm2;
  s.area_agcu_mm2 = s.agcus * area.agcu_mm2;
  s.area_uncore_mm2 = area.uncore_mm2;
  s.area_mm2 = s.area_pcu_mm2 + s.area_pmu_mm2 + s.area_switch_mm2 + s.area_agcu_mm2 + s.area_uncore_mm2;

  const EnergySpec& energy = spec.energy();
  s.power_static_w = energy.static_w;
  s.power_compute_w = s.peak_flops * energy.pj_per_flop * core::k_pico;
  s.power_sram_w = s.sram_bytes_per_s * energy.pj_per_pmu_byte * core::k_pico;
  s.power_peak_w = s.power_static_w + s.power_compute_w + s.power_sram_w;
  return s;
}

core::Json to_json(const Summary& s) {
  core::Json tiers = core::Json::array();
  for (const auto& t : s.tiers) {
    tiers.push_back({{"name", t.name},
                     {"kind", t.kind},
                     {"capacity_gib", t.capacity_bytes / core::k_gib},
                     {"peak_gbps", t.peak_bytes_per_s / core::k_giga},
                     {"sustained_gbps", t.sustained_bytes_per_s / core::k_giga},
                     {"latency_ns", t.latency_ns},
                     {"balance_flop_per_byte", t.balance_flop_per_byte}});
  }
  return {
      {"name", s.name},
      {"source", s.source},
      {"config_hash", s.config_hash},
      {"clock_ghz", s.clock_hz / core::k_giga},
      {"tiles", s.tiles},
      {"units", {{"pcu", s.pcus}, {"pmu", s.pmus}, {"switch", s.switches}, {"agcu", s.agcus}}},
      {"links", s.links},
      {"compute",
       {{"precision", s.precision}, {"peak_flops", s.peak_flops}, {"peak_tflops", s.peak_flops / core::k_tera}}},
      {"sram",
       {{"bytes", s.sram_bytes},
        {"mib", s.sram_bytes / core::k_mib},
        {"bandwidth_tbps", s.sram_bytes_per_s / core::k_tera}}},
      {"memory_tiers", tiers},
      {"offchip_gbps", s.offchip_bytes_per_s / core::k_giga},
      {"machine_balance_flop_per_byte", s.machine_balance},
      {"network", {{"bisection_gbps", s.bisection_bytes_per_s / core::k_giga}}},
      {"area_mm2",
       {{"pcu", s.area_pcu_mm2},
        {"pmu", s.area_pmu_mm2},
        {"switch", s.area_switch_mm2},
        {"agcu", s.area_agcu_mm2},
        {"uncore", s.area_uncore_mm2},
        {"total", s.area_mm2}}},
      {"power_w",
       {{"static", s.power_static_w},
        {"compute_peak", s.power_compute_w},
        {"sram_peak", s.power_sram_w},
        {"peak", s.power_peak_w}}},
  };
}

}  // namespace rdasim::arch
