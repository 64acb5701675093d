// The system timeline of sim/system/timeline.h.
#include "sim/system/timeline.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/op_registry.h"

namespace rdasim::sim {

namespace {

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

/// S of a link op's closed form: the gathered buffer of an all-gather, else one rank's buffer.
double link_bytes(const graphs::Graph& graph, graphs::OpId id, double element_bytes) {
  const graphs::Op& op = graph.op(id);
  const bool gathered = graphs::op_traits(graph, id).link == graphs::LinkKind::all_gather;
  const graphs::TensorId t = gathered ? op.outputs.at(0) : op.inputs.at(0);
  return static_cast<double>(graph.tensor(t).elements()) * element_bytes;
}

std::size_t at(int i) { return static_cast<std::size_t>(i); }

}  // namespace

double Timeline::link_s() const {
  double longest = 0;
  for (const auto& d : devices) longest = std::max(longest, d.link_s);
  return longest;
}

core::Json Timeline::to_json() const {
  core::Json devs = core::Json::array();
  for (const auto& d : devices) {
    devs.push_back({{"device", d.device},
                    {"busy_s", d.busy_s},
                    {"link_s", d.link_s},
                    {"wait_s", d.wait_s},
                    {"early_s", d.early_s},
                    {"link_bytes_sent", d.link_bytes_sent}});
  }
  core::Json runs = core::Json::array();
  for (const auto& l : links) {
    runs.push_back({{"op", l.op},
                    {"collective", arch::to_string(l.collective)},
                    {"algorithm", arch::to_string(l.algorithm)},
                    {"devices", l.devices},
                    {"bytes", l.bytes},
                    {"start_s", l.start_s},
                    {"end_s", l.end_s},
                    {"closed_form_s", l.closed_form_s},
                    {"micro_batch", l.micro_batch}});
  }
  return {{"seconds", seconds}, {"link_s", link_s()}, {"devices", devs}, {"links", runs}};
}

std::vector<double> simulate_collective(const arch::CollectivePlan& plan, const std::vector<double>& start) {
  const std::size_t n = start.size();
  if (plan.steps == 0) return start;
  const double step_s = plan.latency_s + plan.step_bytes_per_device / plan.device_bytes_per_s;
  std::vector<double> ready = start;  // when each rank may start its next step
  std::vector<double> sent(n);        // when each rank's chunk of the current step arrives
  for (int k = 0; k < plan.steps; ++k) {
    for (std::size_t i = 0; i < n; ++i) sent[i] = ready[i] + step_s;
    for (std::size_t i = 0; i < n; ++i) {
      if (plan.algorithm == arch::CollectiveAlgorithm::ring) {
        ready[i] = std::max(sent[i], sent[(i + n - 1) % n]);  // its own send done, the predecessor's chunk in
      } else {
        ready[i] = *std::max_element(sent.begin(), sent.end());  // every peer's part in
      }
    }
  }
  return ready;
}

int devices_used(const graphs::Graph& sharded) {
  int devices = 1;
  for (graphs::OpId id = 0; id < static_cast<graphs::OpId>(sharded.ops().size()); ++id) {
    devices = std::max(devices, sharded.op(id).device + 1);
    if (graphs::op_traits(sharded, id).engine == graphs::Engine::link) {
      for (const int d : graphs::link_devices(sharded, id)) devices = std::max(devices, d + 1);
    }
  }
  return devices;
}

Timeline run_timeline(const graphs::Graph& sharded, const graphs::SystemSchedule& plan,
                      const std::vector<double>& segment_s, const arch::SystemSpec& system,
                      const TimelineOptions& options) {
  RDASIM_ASSERT(segment_s.size() == plan.segments.size(), "a time per segment");
  RDASIM_ASSERT(options.micro_batches >= 1, "micro-batches >= 1");
  if (plan.devices > system.devices) {
    throw core::InputError(fmt::format("the sharded graph '{}' runs on {} devices; the system '{}' has {}",
                                       sharded.name(), plan.devices, system.name, system.devices));
  }
  Timeline result;
  result.devices.resize(at(plan.devices));
  for (int d = 0; d < plan.devices; ++d) result.devices[at(d)].device = d;
  RDASIM_ASSERT(options.early_s.empty() || options.early_s.size() == segment_s.size(), "early work per segment");
  std::vector<double> clock(at(plan.devices), 0.0);
  std::vector<double> free(at(plan.devices), 0.0);      // when each device's last segment ended
  std::vector<double> started(at(plan.devices), -1.0);  // when it began, while nothing has run after it
  for (int mb = 0; mb < options.micro_batches; ++mb) {
    std::map<graphs::OpId, double> arrival;  // a send's data at its receiver
    for (const auto& step : plan.steps) {
      if (step.segment >= 0) {
        const int d = plan.segments[at(step.segment)].device;
        const double seconds = segment_s[at(step.segment)];
        const double early = options.early_s.empty()
                                 ? 0.0
                                 : std::min({options.early_s[at(step.segment)], seconds, clock[at(d)] - free[at(d)]});
        result.spans.push_back({step.segment, d, mb, clock[at(d)] - early, clock[at(d)] + seconds - early});
        clock[at(d)] += seconds - early;
        free[at(d)] = clock[at(d)];
        started[at(d)] = clock[at(d)] - seconds;
        result.devices[at(d)].busy_s += seconds;
        result.devices[at(d)].early_s += early;
        continue;
      }
      const graphs::LinkKind link = graphs::op_traits(sharded, step.link_op).link;
      const auto involved = graphs::link_devices(sharded, step.link_op);
      if (link == graphs::LinkKind::recv) {
        auto& c = clock[at(involved[0])];
        const double ready = arrival.at(sharded.tensor(sharded.op(step.link_op).inputs.at(0)).producer);
        result.devices[at(involved[0])].wait_s += std::max(0.0, ready - c);
        c = std::max(c, ready);
        continue;
      }
      LinkRun run;
      run.op = sharded.op(step.link_op).name;
      run.collective = collective_of(link);
      run.devices = involved;
      run.bytes = link_bytes(sharded, step.link_op, options.element_bytes);
      run.micro_batch = mb;
      const int ranks = link == graphs::LinkKind::send ? 2 : static_cast<int>(involved.size());
      const arch::CollectivePlan cost = arch::plan_collective(system, run.collective, run.bytes, ranks);
      run.algorithm = cost.algorithm;
      run.closed_form_s = cost.seconds;
      // Each device launches the op when its segment is done; the steps run from there. A
      // streamed collective starts with the segment that produces its input, reducing tokens as
      // they come, and ends no sooner than one step after the segment's last token.
      const bool streamed = options.streamed_collectives && link != graphs::LinkKind::send &&
                            std::all_of(involved.begin(), involved.end(), [&](int d) { return started[at(d)] >= 0; });
      std::vector<double> start;
      for (const int d : involved) start.push_back((streamed ? started[at(d)] : clock[at(d)]) + options.launch_s);
      auto end = simulate_collective(cost, start);
      if (streamed) {
        for (std::size_t i = 0; i < involved.size(); ++i) {
          end[i] = std::max(end[i], clock[at(involved[i])] + cost.latency_s);
        }
      }
      run.start_s = *std::min_element(start.begin(), start.end());
      run.end_s = *std::max_element(end.begin(), end.end());
      for (std::size_t i = 0; i < involved.size(); ++i) {
        auto& dev = result.devices[at(involved[i])];
        const double own = options.launch_s + cost.seconds;    // its own share of the time
        const double spent = end[i] - clock[at(involved[i])];  // after the segment
        if (streamed) {
          // Its time under the segment is the segment's too (early_s); what runs after it, the
          // last tokens' reduction, is the link's alone.
          const double under = std::min(own, clock[at(involved[i])] - (start[i] - options.launch_s));
          dev.link_s += under + spent;
          dev.early_s += under;
        } else {
          dev.link_s += std::min(own, spent);
          dev.wait_s += std::max(0.0, spent - own);
        }
        dev.link_bytes_sent += cost.bytes_sent_per_device();
        clock[at(involved[i])] = end[i];
      }
      for (const int d : involved) started[at(d)] = -1.0;
      if (link == graphs::LinkKind::send) arrival[step.link_op] = end.front();
      result.links.push_back(std::move(run));
    }
  }
  result.seconds = *std::max_element(clock.begin(), clock.end());
  for (auto& dev : result.devices) dev.wait_s += result.seconds - clock[at(dev.device)];  // idle at the end
  return result;
}

}  // namespace rdasim::sim
