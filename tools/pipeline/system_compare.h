// The comparison harness on systems (`rdasim compare --system`): each case laid out on a system
// of RDAs and on systems of GPUs in the same way (tools/pipeline/system_run.h: the same shards,
// or the same applications per device, and the same timeline for the links), one row per case,
// batch and GPU system.
#pragma once

#include <string>
#include <vector>

#include "arch/system.h"
#include "tools/pipeline/compare.h"
#include "tools/pipeline/system_run.h"

namespace rdasim::tools {

struct SystemCompareRow {
  std::string case_name;
  int batch = 0;
  std::string rda_system, gpu_system;
  std::string layout;  ///< sharded (tp x pp x dp) or spread
  std::string split;   ///< "tp 1 x pp 1 x dp 8", "8 applications per device"
  int devices = 0;
  double rda_s = 0, rda_link_s = 0, rda_j = 0;
  double gpu_s = 0, gpu_link_s = 0, gpu_j = 0, gpu_wait_s = 0;
  [[nodiscard]] double speedup() const { return gpu_s / rda_s; }
};

/// The cases the system comparison runs by default: the ones whose layout a system changes
/// (data-parallel lensing and inversion, the ensemble and GP-DCRNN's parts spread).
[[nodiscard]] const std::vector<std::string>& system_compare_cases();

/// Runs every case and batch on `rda` and on every system of `gpus`; `run` sets the split,
/// micro-batches and whether the RDA segments are simulated (else the mapper's analytic time).
[[nodiscard]] std::vector<SystemCompareRow> run_system_comparison(const arch::SystemSpec& rda,
                                                                  const std::vector<arch::SystemSpec>& gpus,
                                                                  const CompareOptions& options,
                                                                  const SystemRunOptions& run);

[[nodiscard]] std::string system_compare_csv(const std::vector<SystemCompareRow>& rows);
[[nodiscard]] std::string system_compare_markdown(const std::vector<SystemCompareRow>& rows, const std::string& command,
                                                  bool simulated);

}  // namespace rdasim::tools
