// A serving framework as data (configs/frameworks/*.yaml): how it launches kernels, whether it
// fuses them, how it batches requests and holds the KV cache, and every overhead it adds to the
// device's time, each a named key with its source or ASSUMED. `sambaflow` runs on RDAs,
// `trtllm`, `vllm` and `eager` on GPUs.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/json.h"
#include "core/schema.h"

namespace rdasim::serve {

/// Who starts each kernel of a step.
enum class Launch {
  hardware,  ///< the RDA's own scheduler starts each section (SN40L): no host in the loop
  graph,     ///< a CUDA graph per step: one host launch, no host wait per kernel
  host,      ///< the host issues kernel after kernel (PyTorch eager)
};
[[nodiscard]] const char* to_string(Launch launch);

enum class Batching {
  static_batch,  ///< a batch forms, runs to its longest request, then the next forms
  continuous,    ///< requests join and leave the running batch at every step (in-flight batching)
};
[[nodiscard]] const char* to_string(Batching batching);

struct Framework {
  std::string name;
  std::string description;
  std::string source;    ///< the file it came from
  std::string hardware;  ///< "rda" or "gpu": where it runs
  Launch launch = Launch::hardware;
  bool fused = true;  ///< fused kernels (sections on an RDA, epilogues on a GPU); else one per op
  /// RDA: a decoder layer's kernel loops over the layers with its configuration loaded once
  /// (kernel looping); a segment alike to one its socket ran earlier in the step pays no
  /// reconfiguration.
  bool looped_layers = false;
  Batching batching = Batching::static_batch;
  int kv_block_tokens = 0;          ///< paged KV cache: tokens per block (0: contiguous, exact)
  double memory_utilization = 1.0;  ///< share of the device's memory for weights and KV cache
  double step_overhead_s = 0;       ///< host work per step (scheduler, sampling, bookkeeping)
  double graph_launch_s = 0;        ///< Launch::graph: the host's launch of one step's graph
  double kernel_launch_s = 0;       ///< RDA, Launch::host: the host's call of one section
  double request_overhead_s = 0;    ///< per request, before its first token: endpoint, tokenizer
  double token_overhead_s = 0;      ///< per sequence in a step: the host's handling of its new token
  double rank_sync_s = 0;           ///< per step, per round of the tensor-parallel ranks' synchronisation

  /// Keys that add host time around the devices' steps and change no step the devices run:
  /// the ones `rdasim validate` may fit without timing any step again.
  [[nodiscard]] static const std::vector<std::string>& host_time_keys();

  /// Reads a framework; throws core::InputError naming the file, line and key.
  static Framework load(const core::ConfigNode& root);
  static Framework load_file(const std::filesystem::path& path, std::span<const core::Override> overrides = {});
  static const core::Schema& schema();
  [[nodiscard]] core::Json to_json() const;
};

/// The file `name` names: a path (has a '/' or ends in .yaml) as it is, else
/// <data dir>/frameworks/<name>.yaml (configs/frameworks/ in the source tree).
[[nodiscard]] std::filesystem::path framework_path(const std::string& name);

/// The shipped frameworks' names, sorted.
[[nodiscard]] std::vector<std::string> framework_names();

/// Loads a framework by name or path; an unknown name says which exist.
[[nodiscard]] Framework load_framework(const std::string& name_or_path, std::span<const core::Override> overrides = {});

}  // namespace rdasim::serve
