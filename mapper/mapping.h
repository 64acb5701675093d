// mapper::Mapping, the contract between the mapper and the simulator (DESIGN.md): tenants on
// their tiles, each with its sections in execution order, and per section the ops with their
// parallelization, PMU buffers, DRAM traffic and analytic time. Serializable to JSON and back;
// check() validates any Mapping against a fabric, one read from JSON included.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "arch/fabric.h"
#include "core/json.h"
#include "core/json_fields.h"
#include "graphs/graph.h"
#include "graphs/op_traits.h"
#include "mapper/dram.h"
#include "mapper/layout.h"
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

  static constexpr auto json_fields() {
    using core::field;
    using T = MappedOp;
    return std::tuple{field("name", &T::name),
                      field("kind", &T::kind),
                      field("engine", &T::engine),
                      field("parallel", &T::parallel),
                      field("buffer_pmus", &T::buffer_pmus),
                      field("output_pmus", &T::output_pmus),
                      field("weights_streamed", &T::weights_streamed),
                      field("flops", &T::flops),
                      field("cycles", &T::cycles),
                      field("reduction_split", &T::reduction_split),
                      field("stage_cycles", &T::stage_cycles),
                      field("units", &T::units)};
  }
};

/// One section as the simulator runs it: sectioning's figures, the placement's, and per op its
/// units; the streams between units with their routes and the off-chip traffic per unit.
struct MappedSection : SectionFigures, PlacementFigures {
  std::vector<MappedOp> ops;
  std::vector<Stream> streams;
  std::vector<DramStream> dram;  ///< off-chip traffic per unit: bytes add up to dram_read/write_bytes

  static constexpr auto json_fields() {
    using core::field;
    using core::optional_field;
    using T = MappedSection;
    return std::tuple{field("pcus", &T::pcus), field("pmus", &T::pmus), field("weight_bytes", &T::weight_bytes),
                      field("dram_read_bytes", &T::dram_read_bytes), field("dram_write_bytes", &T::dram_write_bytes),
                      field("flops", &T::flops), field("compute_cycles", &T::compute_cycles),
                      field("memory_cycles", &T::memory_cycles), field("network_cycles", &T::network_cycles),
                      field("reconfig_cycles", &T::reconfig_cycles), field("placement_start", &T::start),
                      field("start_cost", &T::start_cost), field("placement_cost", &T::placement_cost),
                      field("route_rounds", &T::route_rounds), field("overused_links", &T::overused_links),
                      field("ops", &T::ops), field("streams", &T::streams), field("dram", &T::dram),
                      // Written only when there is some, so inference mappings read as before.
                      optional_field("state_bytes", &T::state_bytes),
                      optional_field("streamed_weight_bytes", &T::streamed_weight_bytes),
                      optional_field("barriers", &T::barriers), optional_field("streamed", &T::streamed)};
  }
};

struct Tenant {
  std::string name;        ///< the application's graph name
  std::vector<int> tiles;  ///< its region: whole tiles, or one tile's band of rows
  int first_row = 0;       ///< a band: rows [first_row, end_row); end_row 0 for whole tiles
  int end_row = 0;
  std::vector<SectioningCandidate> sectioning;  ///< the cuts tried; the one kept is named by `method`
  std::string method;
  std::vector<MappedSection> sections;
  Footprint memory;  ///< what it keeps in the off-chip tier (mapper/dram.h)
  [[nodiscard]] double cycles() const;
  /// Its region on `fabric`; throws core::InputError when the tiles or rows do not exist.
  [[nodiscard]] arch::Region region(const arch::Fabric& fabric) const;

  static constexpr auto json_fields() {
    using core::field;
    using T = Tenant;
    return std::tuple{field("name", &T::name),
                      field("tiles", &T::tiles),
                      core::custom("rows", &Tenant::rows_json, &Tenant::read_rows),
                      field("method", &T::method),
                      field("sectioning", &T::sectioning),
                      field("sections", &T::sections),
                      core::optional_field("memory", &T::memory)};
  }
  /// Its band as [first_row, end_row].
  static core::Json rows_json(const Tenant& t) { return {t.first_row, t.end_row}; }
  static void read_rows(Tenant& t, const core::Json& j, const core::JsonReader& reader, const std::string& path);
};

struct Mapping {
  std::string arch;
  std::string arch_hash;
  Mode mode = Mode::o1;
  std::string dram_tier;  ///< the memory tier holding the tensors (dram_tier())
  std::vector<Tenant> tenants;

  static constexpr auto json_fields() {
    using core::field;
    using T = Mapping;
    return std::tuple{field("arch", &T::arch), field("arch_hash", &T::arch_hash), field("mode", &T::mode),
                      field("dram_tier", &T::dram_tier), field("tenants", &T::tenants)};
  }
};

/// The analytic time of the whole mapping, in cycles: tenants run side by side, so the slowest
/// tenant, but never less than all tenants' DRAM traffic at the chip's bandwidth (they share it).
[[nodiscard]] double analytic_cycles(const Mapping& mapping, const arch::Spec& spec);

struct MapOptions {
  Mode mode = Mode::o1;
  std::vector<RegionRequest> regions;  ///< per application; empty: the fabric shared out evenly
  std::uint64_t seed = 1;              ///< placement's annealing
  bool place = true;                   ///< place and route (off: sections and analytic compute/memory only)
  int jobs = 1;                        ///< worker processes placing one application's distinct sections side by side
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
