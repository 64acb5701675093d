// A serving run (DESIGN.md, "Systems, LLMs and serving"): requests arrive, wait for room in the
// batch and in the KV cache, are prefilled and then decoded a token per step until they have
// their output, batched statically (a batch runs to its longest request) or continuously
// (requests join and leave at every step), one model at a time on the whole system. Each step
// takes the time the system's simulator gives it (sim/serve/steps.h) plus the framework's
// overheads; a model not in device memory is loaded first (model switching: Composition of
// Experts on an RDA's DDR, host memory for a GPU), evicting the least recently used.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/json.h"
#include "sim/serve/framework.h"
#include "sim/serve/requests.h"
#include "sim/serve/steps.h"

namespace rdasim::serve {

/// A model as one device of the system holds it: its shard of the weights and of the KV cache.
struct ServedModel {
  std::string name;
  double weight_bytes = 0;        ///< per device
  double kv_bytes_per_token = 0;  ///< per device, all layers it holds
};

/// Service-level objectives; 0: none.
struct Slo {
  double ttft_s = 0;
  double tpot_s = 0;
};

struct ServeOptions {
  Framework framework;
  int max_batch = 1;
  int chunked_prefill_tokens = 0;  ///< 0: a request's prompt is prefilled in one step
  std::string tier = "hbm";        ///< where weights and KV cache live
  double memory_bytes = 0;         ///< per device: the tier's capacity x the framework's utilization
  double load_bytes_per_s = 0;     ///< per device: a model's weights into the tier (switching)
  std::string load_path;           ///< what carries them, for reports ("ddr -> hbm", "host link")
  int ranks = 1;                   ///< tensor-parallel ranks whose hosts agree on each step
  Slo slo;
};

/// A model, or a batch of requests, that cannot fit the tier at all (exit status 1).
class DoesNotFit : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RequestRecord {
  int id = 0;
  std::string model;
  std::int64_t input_len = 0, output_len = 0;
  double arrival_s = 0;      ///< as given
  double admitted_s = 0;     ///< joined a batch
  double first_token_s = 0;  ///< its prefill finished
  double end_s = 0;          ///< its last token
  [[nodiscard]] double ttft_s() const { return first_token_s - arrival_s; }
  [[nodiscard]] double e2e_s() const { return end_s - arrival_s; }
  /// Time per output token after the first (0 for a single-token request).
  [[nodiscard]] double tpot_s() const {
    return output_len > 1 ? (end_s - first_token_s) / static_cast<double>(output_len - 1) : 0;
  }
};

enum class StepKind { prefill, decode, mixed, load };
[[nodiscard]] const char* to_string(StepKind kind);

struct StepRecord {
  StepKind kind = StepKind::decode;
  std::string model;
  double start_s = 0, end_s = 0;
  std::int64_t batch = 0;   ///< sequences
  std::int64_t length = 0;  ///< prefill: prompt tokens (the mean); decode: context (the mean)
  StepTime device;          ///< the simulator's part
  double overhead_s = 0;    ///< the framework's part (step overhead, graph launch)
};

/// Percentiles of a set of times.
struct Spread {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  static Spread of(std::vector<double> values);
  [[nodiscard]] core::Json to_json() const;
};

struct ServeResult {
  std::vector<RequestRecord> requests;
  std::vector<StepRecord> steps;
  std::vector<double> token_gaps;  ///< every inter-token latency every request saw
  double seconds = 0;              ///< first arrival to last token
  /// Where the time went (the devices' timeline; overlapping nothing): prefill, decode and
  /// mixed steps on the devices, of which link ops (some of it overlapped by work that needs
  /// none of their results) and launch or reconfiguration; loading models; the framework's
  /// per-step overhead; idle, waiting for requests.
  double prefill_s = 0, decode_s = 0, collective_s = 0, overlapped_s = 0, launch_s = 0, switching_s = 0, overhead_s = 0,
         idle_s = 0;
  double energy_j = 0;
  std::int64_t input_tokens = 0, output_tokens = 0;
  int switches = 0;  ///< model loads
  int steps_timed = 0;
};

/// Runs the requests. Throws DoesNotFit when a model's weights and one request's KV cache do
/// not fit the tier even alone, core::InputError for a request naming an unknown model.
[[nodiscard]] ServeResult serve(const std::vector<Request>& requests, const std::vector<ServedModel>& models,
                                const ServeOptions& options, StepTable& steps);

/// Throws DoesNotFit naming the tier and the shortfall when `batch` requests of `tokens` each
/// do not fit next to the model's weights.
void check_batch_fits(const ServedModel& model, int batch, std::int64_t tokens, const ServeOptions& options);

/// The report: totals, latency spreads (TTFT, time per output token, end to end, inter-token),
/// throughputs, the time split and, with `with_requests`, one record per request.
[[nodiscard]] core::Json to_json(const ServeResult& result, const ServeOptions& options, bool with_requests);

/// A Chrome trace (Perfetto): a track per request (queued, prefill, decode) and per device
/// (its steps and model loads).
[[nodiscard]] core::Json serve_trace(const ServeResult& result, int devices);

}  // namespace rdasim::serve
