// sim::Report (DESIGN.md): the one machine-readable result of a simulation. Total and per-section
// time per tenant (and each tenant's time alone, for the slowdown sharing causes), per-unit
// busy/stall/idle fractions, per-link bytes and peak utilization, bytes per memory tier, energy
// by category and achieved FLOP/s. Written as report.json; read back by report_from_json.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "arch/fabric.h"
#include "core/json.h"
#include "core/json_fields.h"
#include "mapper/mapping.h"

namespace rdasim::sim {

struct SectionResult {
  double start = 0;  ///< cycle the section's reconfiguration began
  double end = 0;
  double reconfig_cycles = 0;
  double load_cycles = 0;  ///< DRAM traffic no unit holds, before streaming (weights stream in with the tokens)
  double run_cycles = 0;   ///< streaming, first token in to last result out
  std::int64_t tokens = 0;
  double analytic_cycles = 0;                    ///< the mapper's estimate
  mapper::Bound bound = mapper::Bound::compute;  ///< the mapper's limiting resource
  [[nodiscard]] double cycles() const { return end - start; }

  static constexpr auto json_fields() {
    using core::field;
    using T = SectionResult;
    return std::tuple{field("start", &T::start),
                      field("end", &T::end),
                      core::derived("cycles", [](const T& r) { return r.cycles(); }),
                      field("reconfig_cycles", &T::reconfig_cycles),
                      field("load_cycles", &T::load_cycles),
                      field("run_cycles", &T::run_cycles),
                      field("tokens", &T::tokens),
                      field("analytic_cycles", &T::analytic_cycles),
                      field("bound", &T::bound)};
  }
};

struct TenantResult {
  std::string name;
  double cycles = 0;
  double seconds = 0;
  double alone_cycles = 0;  ///< the tenant by itself on the chip; 0 when not simulated
  double slowdown = 1;      ///< cycles / alone_cycles
  double analytic_cycles = 0;
  double flops = 0;
  double dram_bytes = 0;
  std::vector<SectionResult> sections;

  static constexpr auto json_fields() {
    using core::field;
    using T = TenantResult;
    return std::tuple{field("name", &T::name),         field("cycles", &T::cycles),
                      field("seconds", &T::seconds),   field("alone_cycles", &T::alone_cycles),
                      field("slowdown", &T::slowdown), field("analytic_cycles", &T::analytic_cycles),
                      field("flops", &T::flops),       field("dram_bytes", &T::dram_bytes),
                      field("sections", &T::sections)};
  }
};

/// Fractions of the whole run.
struct UnitResult {
  int unit = 0;
  std::string kind;
  int tile = 0, x = 0, y = 0;
  std::string tenant;
  double busy = 0, stalled_input = 0, stalled_output = 0, idle = 0;

  static constexpr auto json_fields() {
    using core::field;
    using T = UnitResult;
    return std::tuple{field("unit", &T::unit),
                      field("kind", &T::kind),
                      field("tile", &T::tile),
                      field("x", &T::x),
                      field("y", &T::y),
                      field("tenant", &T::tenant),
                      field("busy", &T::busy),
                      field("stalled_input", &T::stalled_input),
                      field("stalled_output", &T::stalled_output),
                      field("idle", &T::idle)};
  }
};

struct LinkResult {
  int link = 0;
  int src = 0, dst = 0;
  std::string tenant;
  double bytes = 0;
  double peak_utilization = 0;  ///< the busiest section's busy time over its streaming time

  static constexpr auto json_fields() {
    using core::field;
    using T = LinkResult;
    return std::tuple{field("link", &T::link),   field("src", &T::src),
                      field("dst", &T::dst),     field("tenant", &T::tenant),
                      field("bytes", &T::bytes), field("peak_utilization", &T::peak_utilization)};
  }
};

struct TierResult {
  std::string name;
  double read_bytes = 0;
  double write_bytes = 0;
  double utilization = 0;  ///< busy over the whole run

  static constexpr auto json_fields() {
    using core::field;
    using T = TierResult;
    return std::tuple{field("name", &T::name), field("read_bytes", &T::read_bytes),
                      field("write_bytes", &T::write_bytes), field("utilization", &T::utilization)};
  }
};

struct EnergyResult {
  double compute_j = 0, pmu_j = 0, network_j = 0, dram_j = 0, static_j = 0;
  [[nodiscard]] double total_j() const { return compute_j + pmu_j + network_j + dram_j + static_j; }

  static constexpr auto json_fields() {
    using core::field;
    using T = EnergyResult;
    return std::tuple{
        field("compute_j", &T::compute_j), field("pmu_j", &T::pmu_j),
        field("network_j", &T::network_j), field("dram_j", &T::dram_j),
        field("static_j", &T::static_j),   core::derived("total_j", [](const T& e) { return e.total_j(); })};
  }
};

struct Report {
  std::string tool_version;
  std::string arch;
  std::string arch_hash;
  std::string workload;  ///< the tenants' names
  mapper::Mode mode = mapper::Mode::o1;
  int chunk = 0;  ///< vectors per token
  int min_tokens = 0;
  int max_tokens = 0;
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

  /// Fabric cycles simulated per second of host time (0 when no time was measured).
  [[nodiscard]] double cycles_per_host_second() const { return wall_seconds > 0 ? cycles / wall_seconds : 0.0; }

  static constexpr auto json_fields() {
    using core::field;
    using T = Report;
    return std::tuple{field("tool_version", &T::tool_version),
                      field("arch", &T::arch),
                      field("arch_hash", &T::arch_hash),
                      field("workload", &T::workload),
                      field("mode", &T::mode),
                      field("chunk", &T::chunk),
                      field("min_tokens", &T::min_tokens),
                      field("max_tokens", &T::max_tokens),
                      field("clock_hz", &T::clock_hz),
                      field("cycles", &T::cycles),
                      field("seconds", &T::seconds),
                      field("analytic_cycles", &T::analytic_cycles),
                      field("flops", &T::flops),
                      field("flops_per_s", &T::flops_per_s),
                      field("peak_fraction", &T::peak_fraction),
                      field("average_power_w", &T::average_power_w),
                      field("energy", &T::energy),
                      field("events", &T::events),
                      field("wall_seconds", &T::wall_seconds),
                      field("tenants", &T::tenants),
                      field("memory", &T::memory),
                      field("units", &T::units),
                      field("links", &T::links)};
  }
};

/// What a simulation measured, before any figure is derived from it: the SystemC side fills
/// it in, make_report turns it into a Report.
struct Measurements {
  struct Tenant {
    double cycles = 0;        ///< when its last section ended
    double alone_cycles = 0;  ///< by itself on the chip; 0 when not simulated
    std::vector<SectionResult> sections;
    std::vector<std::pair<int, double>> link_peaks;  ///< links it used, with their peak utilization
    double pmu_bytes = 0;                            ///< read and written in PMUs
    double hop_bytes = 0;                            ///< bytes x switch hops
  };
  struct Unit {
    int id = 0;
    double busy_cycles = 0, stalled_input_cycles = 0, stalled_output_cycles = 0;
  };
  std::vector<Tenant> tenants;  ///< in the mapping's order
  std::vector<Unit> units;
  std::map<int, double> link_bytes;  ///< per link id, every tenant's
  std::size_t tier = 0;              ///< the memory tier holding the tensors
  double read_bytes = 0, write_bytes = 0, tier_busy_cycles = 0;
  int chunk = 0, min_tokens = 0, max_tokens = 0;
  double events = 0;
  double wall_seconds = 0;
};

/// The report of a simulation of `mapping` on `fabric`: the measurements, and every figure
/// derived from them (seconds, per-tenant totals, unit fractions, energy, power, FLOP/s).
[[nodiscard]] Report make_report(const mapper::Mapping& mapping, const arch::Fabric& fabric, const Measurements& m);

[[nodiscard]] core::Json to_json(const Report& report);
/// Reads a report written by to_json; throws core::InputError naming a missing key.
[[nodiscard]] Report report_from_json(const core::Json& json, const std::string& source);

/// The summary table `rdasim sim` prints: per tenant and in total.
[[nodiscard]] std::string summary_text(const Report& report);

}  // namespace rdasim::sim
