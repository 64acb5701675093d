// Serving runs on a system (`rdasim serve`): the figures sim/serve needs from the hardware (each
// device's share of a model's weights and KV cache, the memory tier that holds them, what loads
// a model into it) and the step timer that times each prefill and decode step on the system:
// an RDA system's sockets mapped and simulated (tools/pipeline/system_run.h), or a GPU system's
// kernels on the GPU model, the framework's launch mode and kernel fusion applied.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arch/system.h"
#include "core/config.h"
#include "core/json.h"
#include "graphs/parallel.h"
#include "sim/cycle/dataflow.h"
#include "sim/serve/framework.h"
#include "sim/serve/requests.h"
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
  int jobs = 1;  ///< a step's distinct segments simulated at once, each in a worker process
  int max_tokens = sim::TokenOptions{}.max_tokens;  ///< the simulator's tokens per section at most
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

/// A serving run as `rdasim serve` and the Python module give it.
struct ServeInputs {
  std::vector<std::string> models;  ///< shipped names or config.json paths; several: model switching
  std::string system;               ///< configs/systems/*.yaml
  std::vector<core::Override> system_sets;
  std::optional<int> devices;
  std::optional<int> tp;  ///< default: every device over pp
  int pp = 1;
  std::string framework;  ///< a name or a file; "": the system's
  std::vector<core::Override> framework_sets;
  // One of: a static batch ...
  std::optional<int> batch;
  std::int64_t input_len = 0, output_len = 0;
  // ... a requests file ...
  std::string requests;
  // ... or Poisson arrivals.
  std::optional<double> rate;
  int num_requests = 100;
  std::uint64_t seed = 1;
  serve::LengthRange input_range{128, 1024}, output_range{128, 1024};
  std::optional<int> max_batch;  ///< default: the static batch, else 64
  int chunked_prefill = 0;
  double slo_ttft = 0, slo_tpot = 0;
  std::string precision = "bf16";
  bool analytic = false;
  bool every_step = false;
  int jobs = 1;
  int max_tokens = sim::TokenOptions{}.max_tokens;
  std::vector<std::string> vs;  ///< systems of GPUs to compare model switching with
  bool log_steps = false;       ///< log each step the system times (progress on long runs)
  /// Steps timed by earlier runs of the same system, split, framework kernels and model: read
  /// first, added to (`rdasim validate`); null: this run's own.
  serve::StepMemo* step_memo = nullptr;
  bool bounds = true;  ///< the report's bounds (a prefill's FLOPs build its graph)
  /// When set, no step is timed: each distinct step the run needs is listed here (taking a
  /// placeholder millisecond), as `rdasim validate` gathers steps to time side by side.
  std::vector<std::pair<std::string, workloads::LlmStep>>* list_steps = nullptr;
};

/// The system a serving run's inputs name and the setup its steps are timed with (the
/// framework, the split, the precision); throws core::InputError as run_serving does.
struct ServedSystem {
  arch::SystemSpec system;
  ServeSetup setup;
};
[[nodiscard]] ServedSystem served_system(const ServeInputs& inputs);

struct ServeOutcome {
  core::Json report;  ///< report.json: totals, spreads, time split, bounds, every request
  serve::ServeResult result;
  int devices = 1;
  std::string summary;  ///< what `rdasim serve` prints
};

/// Runs the requests on the system. Throws core::InputError for bad input and
/// serve::DoesNotFit when a model or the batch does not fit the memory tier.
[[nodiscard]] ServeOutcome run_serving(const ServeInputs& inputs);

}  // namespace rdasim::tools
