// sim::Report (DESIGN.md): the one machine-readable result of a simulation. Total and per-section
// time per tenant (and each tenant's time alone, for the slowdown sharing causes), per-unit
// busy/stall/idle fractions, per-link bytes and peak utilization, bytes per memory tier, energy
// by category and achieved FLOP/s. Written as report.json; read back by report_from_json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"

namespace rdasim::sim {

struct SectionResult {
  double start = 0;  ///< cycle the section's reconfiguration began
  double end = 0;
  double reconfig_cycles = 0;
  double load_cycles = 0;  ///< DRAM traffic no unit holds, before streaming (weights stream in with the tokens)
  double run_cycles = 0;   ///< streaming, first token in to last result out
  std::int64_t tokens = 0;
  double analytic_cycles = 0;  ///< the mapper's estimate
  std::string bound;           ///< the mapper's limiting resource
  [[nodiscard]] double cycles() const { return end - start; }
};

struct TenantResult {
  std::string name;
  double cycles = 0;
  double alone_cycles = 0;  ///< the tenant by itself on the chip; 0 when not simulated
  double slowdown = 1;      ///< cycles / alone_cycles
  double analytic_cycles = 0;
  double flops = 0;
  double dram_bytes = 0;
  std::vector<SectionResult> sections;
};

/// Fractions of the whole run.
struct UnitResult {
  int unit = 0;
  std::string kind;
  int tile = 0, x = 0, y = 0;
  std::string tenant;
  double busy = 0, stalled_input = 0, stalled_output = 0, idle = 0;
};

struct LinkResult {
  int link = 0;
  int src = 0, dst = 0;
  std::string tenant;
  double bytes = 0;
  double peak_utilization = 0;  ///< the busiest section's busy time over its streaming time
};

struct TierResult {
  std::string name;
  double read_bytes = 0;
  double write_bytes = 0;
  double utilization = 0;  ///< busy over the whole run
};

struct EnergyResult {
  double compute_j = 0, pmu_j = 0, network_j = 0, dram_j = 0, static_j = 0;
  [[nodiscard]] double total_j() const { return compute_j + pmu_j + network_j + dram_j + static_j; }
};

struct Report {
  std::string tool_version;
  std::string arch;
  std::string arch_hash;
  std::string workload;  ///< the tenants' names
  std::string mode;
  int chunk = 0;  ///< vectors per token
  int min_tokens = 0;
  double clock_hz = 0;
  double cycles = 0;
  double seconds = 0;
  double analytic_cycles = 0;  ///< mapper::analytic_cycles of the mapping
  double flops = 0;
  double flops_per_s = 0;
  double peak_fraction = 0;
  double average_power_w = 0;
  EnergyResult energy;
  std::vector<TenantResult> tenants;
  std::vector<TierResult> memory;
  std::vector<UnitResult> units;  ///< every unit the mapping uses
  std::vector<LinkResult> links;  ///< every link that carried bytes
  double events = 0;              ///< node firings simulated (all worlds)
  double wall_seconds = 0;        ///< host time of the simulation
};

[[nodiscard]] core::Json to_json(const Report& report);
/// Reads a report written by to_json; throws core::InputError naming a missing key.
[[nodiscard]] Report report_from_json(const core::Json& json, const std::string& source);

/// The summary table `rdasim sim` prints: per tenant and in total.
[[nodiscard]] std::string summary_text(const Report& report);

}  // namespace rdasim::sim
