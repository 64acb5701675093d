// mapper::Mapping, the contract between the mapper and the simulator (DESIGN.md): tenants on
// their tiles, each with its sections in execution order, and per section the ops with their
// parallelization, PMU buffers, DRAM traffic and analytic time. Serializable to JSON and back;
// check() validates any Mapping against a fabric, one read from JSON included.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "arch/fabric.h"
#include "core/json.h"
#include "graphs/graph.h"
#include "graphs/op_traits.h"
#include "mapper/dram.h"
#include "mapper/sections.h"
#include "mapper/tenants.h"

namespace rdasim::mapper {

struct MappedOp {
  std::string name;
  std::string kind;
  graphs::Engine engine = graphs::Engine::none;
  int parallel = 0;
  int buffer_pmus = 0;  ///< all its PMUs: output buffers first, then weights
  int output_pmus = 0;
  bool weights_streamed = false;
  double flops = 0;
  double cycles = 0;        ///< on one unit
  int reduction_split = 1;  ///< copies of its output split sharing the reduction (split_of)
  double stage_cycles = 0;  ///< its pipeline stage on `parallel` units, partial-sum tree included
  std::vector<int> units;   ///< fabric unit ids: its PCUs (parallel of them, for PCU ops) then its PMUs
  /// The PCUs it holds: `parallel` for matrix and vector ops, none otherwise.
  [[nodiscard]] int pcus() const { return uses_pcus(engine) ? parallel : 0; }
};

/// Data between two placed units, and the links it travels. Streams of one multicast group
/// (same source, same data) cross each link of their paths once.
struct MappedStream {
  int src = -1, dst = -1;
  double bytes = 0;
  std::vector<int> links;
  int group = 0;
};

struct MappedSection {
  std::vector<MappedOp> ops;
  int pcus = 0;
  int pmus = 0;
  double weight_bytes = 0;
  double state_bytes = 0;            ///< optimizer state among weight_bytes (training steps)
  double streamed_weight_bytes = 0;  ///< weights of ops that stream them from DRAM (too big for PMUs)
  double dram_read_bytes = 0;
  double dram_write_bytes = 0;
  double flops = 0;
  double compute_cycles = 0;
  double memory_cycles = 0;
  double network_cycles = 0;
  double reconfig_cycles = 0;
  std::string placement_start;  ///< the start annealing refined: "greedy" or "bisection"
  double start_cost = 0;        ///< its bytes x hops
  double placement_cost = 0;    ///< bytes x hops of all streams
  int route_rounds = 0;
  int overused_links = 0;  ///< links over their bandwidth when routing stopped
  std::vector<MappedStream> streams;
  std::vector<DramStream> dram;  ///< off-chip traffic per unit: bytes add up to dram_read/write_bytes
  [[nodiscard]] double cycles() const;
};

struct Tenant {
  std::string name;        ///< the application's graph name
  std::vector<int> tiles;  ///< its region: whole tiles, or one tile's band of rows
  int first_row = 0;       ///< a band: rows [first_row, end_row); end_row 0 for whole tiles
  int end_row = 0;
  std::vector<SectioningCandidate> sectioning;  ///< the cuts tried; the one kept is named by `method`
  std::string method;
  std::vector<MappedSection> sections;
  [[nodiscard]] double cycles() const;
  /// Its region on `fabric`; throws core::InputError when the tiles or rows do not exist.
  [[nodiscard]] arch::Region region(const arch::Fabric& fabric) const;
};

struct Mapping {
  std::string arch;
  std::string arch_hash;
  std::string mode;
  std::string dram_tier;  ///< the memory tier holding the tensors (dram_tier())
  std::vector<Tenant> tenants;
};

/// The analytic time of the whole mapping, in cycles: tenants run side by side, so the slowest
/// tenant, but never less than all tenants' DRAM traffic at the chip's bandwidth (they share it).
[[nodiscard]] double analytic_cycles(const Mapping& mapping, const arch::Spec& spec);

struct MapOptions {
  Mode mode = Mode::o1;
  std::vector<RegionRequest> regions;  ///< per application; empty: the fabric shared out evenly
  std::uint64_t seed = 1;              ///< placement's annealing
  bool place = true;                   ///< place and route (off: sections and analytic compute/memory only)
  /// Called after each application is mapped with (done, total), for progress on long runs.
  std::function<void(std::size_t, std::size_t)> progress;
};

/// Maps applications (tenants) onto disjoint regions of the fabric (allocate_regions): each is
/// lowered, cut into sections within its region's units, placed, routed and estimated. Throws
/// core::InputError when the regions do not fit the fabric, and Infeasible when ops cannot fit
/// their region.
[[nodiscard]] Mapping map_applications(const std::vector<graphs::Graph>& apps, const arch::Fabric& fabric,
                                       const MapOptions& options);

[[nodiscard]] core::Json to_json(const Mapping& mapping);
/// Reads a mapping written by to_json; throws core::InputError naming the missing or mistyped key.
[[nodiscard]] Mapping mapping_from_json(const core::Json& json, const std::string& source);

/// What is wrong with a mapping on this fabric: tiles out of range or shared between tenants
/// (isolation), sections using more PCUs or PMUs than their tenant's region holds, units of the
/// wrong kind, outside the region or used twice, routes that are not connected from source to
/// destination or leave the region. Empty when it is sound.
[[nodiscard]] std::vector<std::string> check(const Mapping& mapping, const arch::Fabric& fabric);

}  // namespace rdasim::mapper
