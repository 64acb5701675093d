// arch::Spec: every fabric parameter, read once from YAML, validated, immutable afterwards.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/json.h"
#include "core/schema.h"

namespace rdasim::arch {

/// How PCUs and PMUs are arranged on a tile's grid.
enum class Layout {
  checkerboard,  ///< PCU where (x + y) is even, PMU elsewhere (Plasticine)
  columns,       ///< alternating columns: PCU column, PMU column, ...
  custom,        ///< `tile.pattern`: one string per row, 'C' = PCU, 'M' = PMU, '.' = empty
};

/// The arithmetic a PCU performs.
enum class Precision {
  fp32,          ///< 32-bit floating point throughout
  bf16_fp32acc,  ///< bf16 operands, fp32 accumulation (SambaNova RDU)
};

[[nodiscard]] const char* to_string(Layout layout);
[[nodiscard]] const char* to_string(Precision precision);

struct TileSpec {
  int rows = 0;  ///< unit rows per tile
  int cols = 0;  ///< unit columns per tile
  Layout layout = Layout::checkerboard;
  std::vector<std::string> pattern;  ///< rows of 'C'/'M'/'.', only for Layout::custom
  std::optional<int> pcus;           ///< expected PCUs per tile, checked against the layout
  std::optional<int> pmus;           ///< expected PMUs per tile, checked against the layout
};

struct PcuSpec {
  int lanes = 0;   ///< SIMD lanes
  int stages = 0;  ///< pipeline stages of functional units per lane
  Precision precision = Precision::fp32;
};

struct PmuSpec {
  double capacity_kib = 0;  ///< scratchpad capacity
  int banks = 0;            ///< banks; each serves one 4-byte word per cycle
};

struct NetworkSpec {
  double link_bytes_per_cycle = 0;  ///< bytes per cycle per direction of one link
  int hop_latency_cycles = 0;       ///< cycles through one switch hop
};

struct AgcuSpec {
  int count = 0;  ///< address-generation and coalescing units per tile, on the tile's edges
};

enum class MemoryKind { ddr, hbm };
[[nodiscard]] const char* to_string(MemoryKind kind);

/// One off-chip memory tier, shared by every AGCU and every tenant of the chip.
struct MemoryTier {
  std::string name;
  MemoryKind kind = MemoryKind::ddr;
  double capacity_gib = 0;
  int channels = 0;
  double bandwidth_gbps = 0;  ///< peak, GB/s (1e9 bytes per second), all channels together
  double efficiency = 1.0;    ///< sustained fraction of the peak bandwidth
  double latency_ns = 0;      ///< unloaded access latency
  double pj_per_byte = 0;     ///< access energy; energy.pj_per_dram_byte unless the tier sets it
};

struct EnergySpec {
  double pj_per_flop = 0;       ///< per floating-point operation (a multiply-add is two)
  double pj_per_pmu_byte = 0;   ///< per byte read from or written to a PMU
  double pj_per_hop_byte = 0;   ///< per byte moved over one switch hop
  double pj_per_dram_byte = 0;  ///< per off-chip byte, for tiers that do not set their own
  double static_w = 0;          ///< leakage and clocks of the whole chip
};

struct AreaSpec {
  double pcu_mm2 = 0;
  double pmu_mm2 = 0;
  double switch_mm2 = 0;
  double agcu_mm2 = 0;
  double uncore_mm2 = 0;  ///< memory controllers, I/O and everything not counted per unit
  /// The sizes pcu_mm2 and pmu_mm2 are given for (0: fixed areas). A design-space sweep that
  /// widens a PCU or grows a PMU pays in proportion: to first order FUs and SRAM are the area.
  double pcu_sized_for_fus = 0;
  double pmu_sized_for_kib = 0;
  /// One PCU's area at `lanes` x `stages`, one PMU's at `capacity_kib`.
  [[nodiscard]] double pcu_area(int lanes, int stages) const {
    return pcu_sized_for_fus > 0 ? pcu_mm2 * lanes * stages / pcu_sized_for_fus : pcu_mm2;
  }
  [[nodiscard]] double pmu_area(double capacity_kib) const {
    return pmu_sized_for_kib > 0 ? pmu_mm2 * capacity_kib / pmu_sized_for_kib : pmu_mm2;
  }
};

/// A validated fabric description. Build it with load() or load_file(); it cannot change.
class Spec {
 public:
  /// Reads and validates a spec from a YAML root; throws core::InputError with the location of
  /// the offending value.
  static Spec load(const core::ConfigNode& root);
  /// `path` may name a preset instead (core::preset_path): "sn10" is <data dir>/arch/sn10.yaml.
  static Spec load_file(const std::filesystem::path& path, std::span<const core::Override> overrides = {});
  /// Every key of the format, with type, unit, range, default and meaning.
  static const core::Schema& schema();

  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] const std::string& description() const { return m_description; }
  [[nodiscard]] const std::string& source() const { return m_source; }
  [[nodiscard]] double clock_ghz() const { return m_clock_ghz; }
  [[nodiscard]] int tiles() const { return m_tiles; }
  [[nodiscard]] const TileSpec& tile() const { return m_tile; }
  [[nodiscard]] const PcuSpec& pcu() const { return m_pcu; }
  [[nodiscard]] const PmuSpec& pmu() const { return m_pmu; }
  [[nodiscard]] const NetworkSpec& network() const { return m_network; }
  [[nodiscard]] const AgcuSpec& agcu() const { return m_agcu; }
  [[nodiscard]] const std::vector<MemoryTier>& memory_tiers() const { return m_tiers; }
  [[nodiscard]] long reconfig_cycles() const { return m_reconfig_cycles; }
  [[nodiscard]] const EnergySpec& energy() const { return m_energy; }
  [[nodiscard]] const AreaSpec& area() const { return m_area; }

  /// Valid but doubtful choices, in words: a vector wider than a link, AGCU links slower than
  /// the memory behind them. Programs show them as warnings.
  [[nodiscard]] const std::vector<std::string>& warnings() const { return m_warnings; }

  /// The unit kind at (x, y) of a tile: 'C' (PCU), 'M' (PMU) or '.' (empty).
  [[nodiscard]] char unit_at(int x, int y) const;

  /// The fully resolved configuration (defaults filled in), loadable again as YAML.
  [[nodiscard]] core::Json to_json() const;
  /// A stable hash of to_json(): equal specs have equal hashes.
  [[nodiscard]] std::string hash() const;

 private:
  Spec() = default;

  std::string m_name;
  std::string m_description;
  std::string m_source;
  double m_clock_ghz = 0;
  int m_tiles = 0;
  TileSpec m_tile;
  PcuSpec m_pcu;
  PmuSpec m_pmu;
  NetworkSpec m_network;
  AgcuSpec m_agcu;
  std::vector<MemoryTier> m_tiers;
  long m_reconfig_cycles = 0;
  EnergySpec m_energy;
  AreaSpec m_area;
  std::vector<std::string> m_warnings;
};

}  // namespace rdasim::arch
