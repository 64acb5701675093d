// The SN40L paper's same-chip figures (Prabhakar et al., MICRO 2024, arXiv 2405.07518) as
// checks `rdasim validate` runs next to the measured rows (configs/validation/sn40l-paper.yaml):
// fused sections against one kernel per operator, sections started by the RDA's scheduler
// against kernel calls from the host, decode's share of HBM bandwidth, and model switching on
// its own and against a DGX's host links. Each is computed from the same machinery `rdasim
// serve` uses (tools/pipeline/serving.h), never from the published figure.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/json.h"

namespace rdasim::tools {

struct PaperCheck {
  std::string name;
  /// fusion: a step's time one kernel per operator over fused; launch: kernel calls from the
  /// host over the RDA's scheduler (neither looped); hbm_share: a decode step's weights and
  /// cache over (its time x one socket's HBM bandwidth); switch_s: a model's weights into HBM;
  /// switch_ratio: the same over a GPU system's one host link, over the RDA's time.
  std::string kind;
  std::string phase = "decode";  ///< fusion, launch, hbm_share: prefill or decode
  std::string model;             ///< an LLM config name
  std::string system;            ///< a system name or file (RDAs)
  std::string vs;                ///< switch_ratio: the system of GPUs
  int batch = 1;
  std::int64_t length = 1024;  ///< prefill: prompt tokens; decode: context
  double published_lo = 0, published_hi = 0;
  std::string source;
  // Filled by run_paper_checks:
  double rdasim = 0;
  std::string detail;  ///< the figures the ratio comes from
  [[nodiscard]] bool inside() const { return rdasim >= published_lo && rdasim <= published_hi; }
};

/// Reads the checks; throws core::InputError naming file:line.
[[nodiscard]] std::vector<PaperCheck> load_paper_checks(const std::filesystem::path& path);

/// Computes each check's figure (`jobs`: a step's segments simulated at once; `max_tokens`: the
/// simulator's tokens per section at most).
void run_paper_checks(std::vector<PaperCheck>& checks, int jobs, int max_tokens);

[[nodiscard]] core::Json to_json(const PaperCheck& c);

}  // namespace rdasim::tools
