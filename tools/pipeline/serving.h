// Serving runs on a system (`rdasim serve`): the figures sim/serve needs from the hardware (each
// device's share of a model's weights and KV cache, the memory tier that holds them, what loads
// a model into it) and the step timer that times each prefill and decode step on the system:
// an RDA system's sockets mapped and simulated (tools/pipeline/system_run.h), or a GPU system's
// kernels on the GPU model, the framework's launch mode and kernel fusion applied.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "arch/system.h"
#include "graphs/parallel.h"
#include "sim/serve/framework.h"
#include "sim/serve/server.h"
#include "sim/serve/steps.h"
#include "workloads/llm.h"

namespace rdasim::tools {

struct ServeSetup {
  graphs::Parallelism parallelism;  ///< tp x pp (one replica serves)
  serve::Framework framework;
  double element_bytes = 2;  ///< weights, KV cache and activations: bf16 or fp16 2, fp32 4
  bool simulate = true;      ///< RDA steps on the SystemC model (else the mapper's analytic time)
  std::uint64_t seed = 1;
  /// Called after each step the system times, with what it was and how long it took.
  std::function<void(const workloads::LlmStep&, const serve::StepTime&)> progress;
};

/// Checks that the framework runs on the system's devices and the split fits the system.
/// Throws core::InputError otherwise.
void check_serve_setup(const arch::SystemSpec& system, const ServeSetup& setup);

/// What one device holds of a model: its shard of the weights and of the KV cache per token.
[[nodiscard]] serve::ServedModel served_model(const workloads::LlmConfig& config, const ServeSetup& setup);

/// The memory tier that holds weights and KV cache (an RDA's first off-chip tier, a GPU's
/// memory) with the framework's utilization, and what loads a model into it: an RDA's next
/// tier (DDR) at its sustained bandwidth, a GPU's host link.
void set_memory(serve::ServeOptions& options, const arch::SystemSpec& system);

/// Times steps of the given models on the system.
[[nodiscard]] serve::StepTimer step_timer(const arch::SystemSpec& system, const ServeSetup& setup,
                                          std::map<std::string, workloads::LlmConfig> models);

/// Model switching as the SN40L paper compares it: the time to bring one model's weights into
/// device memory on an RDA system (each socket its shard from its DDR), and on a GPU system over
/// one host link (the paper's figure for a DGX) and over every GPU's host link in parallel.
struct SwitchComparison {
  std::string model;
  double bytes = 0;  ///< the whole model's weights
  double rda_s = 0;
  std::string gpu_system;
  double gpu_one_link_s = 0;
  double gpu_all_links_s = 0;
};
[[nodiscard]] SwitchComparison compare_switching(const workloads::LlmConfig& config, double element_bytes,
                                                 const arch::SystemSpec& rda, int rda_devices,
                                                 const arch::SystemSpec& gpus);

}  // namespace rdasim::tools
