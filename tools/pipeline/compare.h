// The comparison harness behind `rdasim compare`: each science workload (and lensing's stages)
// mapped and simulated on a fabric, modelled on GPUs (and read from measured CSVs where they
// exist), one row per case, batch, GPU and way of running it on the GPU; every verdict is read
// off the reports (the slowest section and its bound, reconfiguration, DRAM sharing; launches,
// compute- or memory-limited kernel time), never from constants.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arch/fabric.h"
#include "sim/gpu/model.h"

namespace rdasim::tools {

/// One workload configuration the harness compares.
struct CompareCase {
  std::string name;                 ///< "lensing-denoise", "ensemble-5", ...
  std::string workload;             ///< the built-in workload
  std::vector<std::string> params;  ///< "-p" values besides the batch
  std::vector<int> batches;         ///< default batches
  std::string summary;
  int members = 0;  ///< ensembles: members (GPU: sequential, concurrent, batched)
};

[[nodiscard]] const std::vector<CompareCase>& compare_cases();

/// Measured GPU times (tools/gpu/measure.py's CSV), keyed by case, batch, precision, mode
/// (eager | compile) and strategy (single | sequential | concurrent | batched).
class MeasuredTimes {
 public:
  /// Reads `file`; a missing file gives no rows. Throws core::InputError for a malformed one.
  static MeasuredTimes load(const std::filesystem::path& file);
  [[nodiscard]] std::optional<double> seconds(const std::string& case_name, int batch, const std::string& precision,
                                              const std::string& mode, const std::string& strategy) const;
  [[nodiscard]] bool empty() const { return m_rows.empty(); }
  [[nodiscard]] const std::filesystem::path& source() const { return m_source; }

 private:
  std::filesystem::path m_source;
  std::map<std::string, double> m_rows;
};

struct CompareOptions {
  std::vector<std::string> cases;  ///< empty: all
  std::vector<int> batches;        ///< empty: each case's defaults
  gpu::Precision precision = gpu::Precision::bf16;
  std::filesystem::path measured_dir;  ///< results/gpu
  std::uint64_t seed = 1;
  int jobs = 1;  ///< worker processes: points (case x batch) mapped and simulated side by side
};

/// One row of compare.csv.
struct CompareRow {
  std::string case_name;
  int batch = 0;
  std::string gpu;      ///< spec id
  std::string gpu_run;  ///< eager | fused | sequential | concurrent | batched
  // RDA side
  double rda_s = 0, rda_j = 0;
  std::string rda_bound, rda_why;
  double rda_reconfig_s = 0, rda_load_s = 0, rda_compute_s = 0, rda_memory_s = 0, rda_network_s = 0;
  // GPU side
  double gpu_model_s = 0;
  std::optional<double> gpu_measured_s;
  double gpu_j = 0;
  std::string gpu_bound, gpu_why;
  double gpu_wait_s = 0, gpu_compute_s = 0, gpu_memory_s = 0, gpu_switch_s = 0;
  int gpu_launches = 0;

  [[nodiscard]] double gpu_s() const { return gpu_measured_s.value_or(gpu_model_s); }
  [[nodiscard]] double speedup() const { return gpu_s() / rda_s; }
};

/// Runs every case and batch: maps and simulates on `fabric`, models on every GPU.
[[nodiscard]] std::vector<CompareRow> run_comparison(const arch::Fabric& fabric, const std::vector<arch::GpuSpec>& gpus,
                                                     const CompareOptions& options);

[[nodiscard]] std::string compare_csv(const std::vector<CompareRow>& rows, const std::string& precision);
[[nodiscard]] std::string compare_markdown(const std::vector<CompareRow>& rows, const arch::Fabric& fabric,
                                           const std::vector<arch::GpuSpec>& gpus, const std::string& precision,
                                           const std::string& command);

}  // namespace rdasim::tools
