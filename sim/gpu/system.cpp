// The GPU system estimate of sim/gpu/system.h.
#include "sim/gpu/system.h"

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/parallel.h"

namespace rdasim::gpu {

core::Json SystemEstimate::to_json() const {
  core::Json j = timeline.to_json();
  j["seconds"] = seconds;
  j["flops"] = flops;
  j["launches"] = launches;
  j["energy_j"] = energy_j;
  return j;
}

SystemEstimate estimate_system(const graphs::Graph& sharded, const arch::SystemSpec& system, const Options& options,
                               int micro_batches) {
  RDASIM_ASSERT(system.gpu.has_value(), "estimate_system needs a system of GPUs");
  const graphs::SystemSchedule plan = graphs::schedule(sharded, sim::devices_used(sharded));
  SystemEstimate result;
  std::vector<double> segment_s;
  for (std::size_t s = 0; s < plan.segments.size(); ++s) {
    const graphs::Graph g =
        graphs::subgraph(sharded, plan.segments[s].ops, fmt::format("{}/segment{}", sharded.name(), s));
    result.segments.push_back(estimate(g, *system.gpu, options));
    segment_s.push_back(result.segments.back().seconds);
    result.flops += micro_batches * result.segments.back().flops;
    result.launches += micro_batches * result.segments.back().launches;
  }
  sim::TimelineOptions timing;
  timing.element_bytes = options.precision == Precision::bf16 ? 2.0 : 4.0;
  // A collective is one more kernel to launch (inside the graph with CUDA graphs).
  timing.launch_s = options.cuda_graph ? 0.0 : system.gpu->framework.op_us * 1e-6;
  timing.micro_batches = micro_batches;
  result.timeline = sim::run_timeline(sharded, plan, segment_s, system, timing);
  result.seconds = result.timeline.seconds;
  for (const auto& d : result.timeline.devices) {
    result.energy_j += system.gpu->energy_j(result.seconds, d.busy_s + d.link_s);
  }
  result.launches += static_cast<int>(result.timeline.links.size());
  return result;
}

}  // namespace rdasim::gpu
