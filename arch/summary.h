// Derived figures of a fabric: unit counts, SRAM, peak FLOP/s, off-chip bandwidth, machine
// balance, network bisection, area and peak power. What `rdasim arch show` prints.
#pragma once

#include <string>
#include <vector>

#include "arch/fabric.h"
#include "core/json.h"

namespace rdasim::arch {

struct TierSummary {
  std::string name;
  std::string kind;
  double capacity_bytes = 0;
  double peak_bytes_per_s = 0;
  double sustained_bytes_per_s = 0;
  double latency_ns = 0;
  double balance_flop_per_byte = 0;  ///< peak FLOP/s over this tier's peak bandwidth
};

struct Summary {
  std::string name;
  std::string source;
  std::string config_hash;
  double clock_hz = 0;
  int tiles = 0;
  int pcus = 0;
  int pmus = 0;
  int switches = 0;
  int agcus = 0;
  int links = 0;  ///< directed links

  std::string precision;
  double peak_flops = 0;  ///< 2 FLOPs per lane per stage per cycle (multiply-add)
  double sram_bytes = 0;
  double sram_bytes_per_s = 0;       ///< every PMU bank serving a 4-byte word each cycle
  double offchip_bytes_per_s = 0;    ///< sum of the tiers' peak bandwidths
  double machine_balance = 0;        ///< peak FLOP/s per off-chip byte/s
  double bisection_bytes_per_s = 0;  ///< across the vertical middle of the chip, one direction
  std::vector<TierSummary> tiers;

  double area_pcu_mm2 = 0;
  double area_pmu_mm2 = 0;
  double area_switch_mm2 = 0;
  double area_agcu_mm2 = 0;
  double area_uncore_mm2 = 0;
  double area_mm2 = 0;

  double power_static_w = 0;
  double power_compute_w = 0;  ///< every FU busy
  double power_sram_w = 0;     ///< every PMU bank busy
  double power_peak_w = 0;     ///< static + compute + SRAM
};

[[nodiscard]] Summary summarize(const Fabric& fabric);
[[nodiscard]] core::Json to_json(const Summary& summary);

}  // namespace rdasim::arch
