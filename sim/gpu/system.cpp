// The GPU system estimate of sim/gpu/system.h.
#include "sim/gpu/system.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/op_registry.h"
#include "graphs/parallel.h"

namespace rdasim::gpu {

arch::Collective collective_of(graphs::LinkKind link) {
  switch (link) {
    case graphs::LinkKind::all_reduce: return arch::Collective::all_reduce;
    case graphs::LinkKind::all_gather: return arch::Collective::all_gather;
    case graphs::LinkKind::reduce_scatter: return arch::Collective::reduce_scatter;
    case graphs::LinkKind::none:
    case graphs::LinkKind::send:
    case graphs::LinkKind::recv: break;
  }
  return arch::Collective::send;
}

double link_bytes(const graphs::Graph& graph, graphs::OpId id, double element_bytes) {
  // All-gather: S is the gathered buffer; the others: one rank's buffer.
  const graphs::Op& op = graph.op(id);
  const bool gathered = graphs::op_traits(graph, id).link == graphs::LinkKind::all_gather;
  const graphs::TensorId t = gathered ? op.outputs.at(0) : op.inputs.at(0);
  return static_cast<double>(graph.tensor(t).elements()) * element_bytes;
}

core::Json SystemEstimate::to_json() const {
  core::Json devs = core::Json::array();
  for (const auto& d : devices) {
    devs.push_back({{"device", d.device},
                    {"kernel_s", d.kernel_s},
                    {"link_s", d.link_s},
                    {"wait_s", d.wait_s},
                    {"launches", d.launches},
                    {"flops", d.flops},
                    {"energy_j", d.energy_j}});
  }
  core::Json link_runs = core::Json::array();
  for (const auto& l : links) {
    link_runs.push_back({{"op", l.op},
                         {"collective", arch::to_string(l.collective)},
                         {"algorithm", arch::to_string(l.algorithm)},
                         {"devices", l.devices},
                         {"bytes", l.bytes},
                         {"start_s", l.start_s},
                         {"end_s", l.end_s},
                         {"micro_batch", l.micro_batch}});
  }
  return {{"seconds", seconds}, {"link_s", link_s}, {"energy_j", energy_j}, {"devices", devs}, {"links", link_runs}};
}

SystemEstimate estimate_system(const graphs::Graph& sharded, const arch::SystemSpec& system, const Options& options,
                               int micro_batches) {
  RDASIM_ASSERT(system.gpu.has_value(), "estimate_system needs a system of GPUs");
  RDASIM_ASSERT(micro_batches >= 1, "micro-batches >= 1");
  int devices = 1;
  for (graphs::OpId id = 0; id < static_cast<graphs::OpId>(sharded.ops().size()); ++id) {
    const graphs::Op& op = sharded.op(id);
    devices = std::max(devices, op.device + 1);
    if (graphs::op_traits(sharded, id).engine == graphs::Engine::link) {
      for (const int d : graphs::link_devices(sharded, id)) devices = std::max(devices, d + 1);
    }
  }
  if (devices > system.devices) {
    throw core::InputError(fmt::format("the sharded graph '{}' runs on {} devices; the system '{}' has {}",
                                       sharded.name(), devices, system.name, system.devices));
  }
  const graphs::SystemSchedule plan = graphs::schedule(sharded, devices);
  // Each segment is a program of its own on its GPU.
  std::vector<Estimate> segment_estimates;
  for (std::size_t s = 0; s < plan.segments.size(); ++s) {
    const auto& seg = plan.segments[s];
    const graphs::Graph g = graphs::subgraph(sharded, seg.ops, fmt::format("{}/segment{}", sharded.name(), s));
    segment_estimates.push_back(estimate(g, *system.gpu, options));
  }
  const double element_bytes = options.precision == Precision::bf16 ? 2.0 : 4.0;
  const double launch_s = system.gpu->framework.op_us * 1e-6;

  SystemEstimate result;
  result.devices.resize(static_cast<std::size_t>(devices));
  for (int d = 0; d < devices; ++d) result.devices[static_cast<std::size_t>(d)].device = d;
  std::vector<double> clock(static_cast<std::size_t>(devices), 0.0);
  for (int mb = 0; mb < micro_batches; ++mb) {
    std::map<graphs::OpId, double> arrival;  // a send's data at its receiver
    for (const auto& step : plan.steps) {
      if (step.segment >= 0) {
        const auto& seg = plan.segments[static_cast<std::size_t>(step.segment)];
        const Estimate& e = segment_estimates[static_cast<std::size_t>(step.segment)];
        auto& dev = result.devices[static_cast<std::size_t>(seg.device)];
        clock[static_cast<std::size_t>(seg.device)] += e.seconds;
        dev.kernel_s += e.seconds;
        dev.launches += e.launches;
        dev.flops += e.flops;
        continue;
      }
      const graphs::Op& op = sharded.op(step.link_op);
      const auto involved = graphs::link_devices(sharded, step.link_op);
      const graphs::LinkKind link = graphs::op_traits(sharded, step.link_op).link;
      LinkRun run;
      run.op = op.name;
      run.collective = collective_of(link);
      run.devices = involved;
      run.bytes = link_bytes(sharded, step.link_op, element_bytes);
      run.micro_batch = mb;
      if (link == graphs::LinkKind::recv) {
        const auto sent = sharded.tensor(op.inputs.at(0)).producer;
        auto& c = clock[static_cast<std::size_t>(involved[0])];
        const double ready = arrival.at(sent);
        result.devices[static_cast<std::size_t>(involved[0])].wait_s += std::max(0.0, ready - c);
        c = std::max(c, ready);
        continue;
      }
      const int ranks = link == graphs::LinkKind::send ? 2 : static_cast<int>(involved.size());
      const arch::CollectivePlan cost = arch::plan_collective(system, run.collective, run.bytes, ranks);
      run.algorithm = cost.algorithm;
      // Each device's host issues the collective's kernel (one more launch), then the
      // collective starts when every rank has; it takes the algorithm's closed form.
      double start = 0;
      for (const int d : involved) start = std::max(start, clock[static_cast<std::size_t>(d)] + launch_s);
      const double duration = cost.seconds;
      for (const int d : involved) {
        auto& dev = result.devices[static_cast<std::size_t>(d)];
        dev.wait_s += start - launch_s - clock[static_cast<std::size_t>(d)];
        dev.link_s += launch_s + duration;
        ++dev.launches;
        clock[static_cast<std::size_t>(d)] = start + duration;
      }
      run.start_s = start;
      run.end_s = start + duration;
      if (link == graphs::LinkKind::send) arrival[step.link_op] = run.end_s;
      result.links.push_back(std::move(run));
    }
  }
  result.seconds = *std::max_element(clock.begin(), clock.end());
  for (auto& dev : result.devices) {
    dev.wait_s += result.seconds - clock[static_cast<std::size_t>(dev.device)];  // idle at the end
    dev.energy_j = system.gpu->energy_j(result.seconds, dev.kernel_s + dev.link_s);
    result.energy_j += dev.energy_j;
    result.link_s = std::max(result.link_s, dev.link_s);
  }
  return result;
}

}  // namespace rdasim::gpu
