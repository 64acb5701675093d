// Models on a system of RDAs: see tools/pipeline/system_run.h.
#include "tools/pipeline/system_run.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "arch/summary.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "core/worker.h"
#include "graphs/op_registry.h"
#include "graphs/training.h"
#include "graphs/verify.h"
#include "mapper/report.h"
#include "sim/cycle/simulate.h"
#include "sim/gpu/system.h"
#include "tools/pipeline/map_inputs.h"

namespace rdasim::tools {

double graph_flops(const graphs::Graph& g) {
  double flops = 0;
  for (graphs::OpId id = 0; id < static_cast<graphs::OpId>(g.ops().size()); ++id) flops += graphs::op_cost(g, id).flops;
  return flops;
}

namespace {

std::size_t at(int i) { return static_cast<std::size_t>(i); }

/// What makes two segments map alike: every op's kind, attributes and tensor shapes and roles,
/// in order; names left out (ranks differ only in names).
std::string structure_key(const graphs::Graph& g) {
  std::string key;
  for (const auto& op : g.ops()) {
    key += op.kind;
    for (const auto& [name, value] : op.attrs.values) {
      key += fmt::format("|{}={}", name, std::visit([](const auto& v) { return fmt::format("{}", v); }, value));
    }
    for (const auto t : op.inputs) {
      if (t == graphs::k_no_tensor) {
        key += fmt::format(";-");
        continue;
      }
      const auto& tensor = g.tensor(t);
      key += fmt::format(";{}{}{}", graphs::to_string(tensor.shape), graphs::to_string(tensor.role),
                         graphs::to_string(tensor.dtype));
    }
    for (const auto t : op.outputs) key += fmt::format(">{}", graphs::to_string(g.tensor(t).shape));
    key += '\n';
  }
  return key;
}

/// The batch of a graph: its `batch` dimension, or the workload's (1 when neither says).
std::int64_t batch_of(const graphs::Graph& g, const Rebatch& rebatch) {
  if (const auto b = g.dims().find("batch"); b != g.dims().end()) return b->second;
  return rebatch.batch > 0 ? rebatch.batch : 1;
}

class Runner {
 public:
  Runner(const arch::SystemSpec& system, const SystemRunOptions& options)
      : m_system(system),
        m_options(options),
        m_fabric(*system.fabric) {}

  /// Maps and times the segment `index` (or a socket's applications), reusing an identical
  /// one. Simulated with several jobs, its simulation runs in a worker process and its time is
  /// filled in by collect().
  SegmentRun run_segment(std::size_t index, int device, std::string name, std::vector<graphs::Graph> apps) {
    SegmentRun run;
    run.device = device;
    run.name = std::move(name);
    std::string key;
    for (const auto& app : apps) {
      run.apps.push_back(app.name());
      run.flops += graph_flops(app);
      key += fmt::format("{}\n--\n", structure_key(app));
    }
    if (m_options.reuse_identical) {
      if (const auto found = m_done.find(key); found != m_done.end()) {
        const SegmentRun& same = found->second.run;
        run.mapping = same.mapping;  // the same layout, of this segment's applications
        run.seconds = same.seconds;
        run.dram_bytes = same.dram_bytes;
        run.energy_j = same.energy_j;
        run.reconfig_s = same.reconfig_s;
        run.structure = same.structure;
        run.pcus = same.pcus;
        run.pmus = same.pmus;
        run.reused = true;
        m_copies.emplace_back(index, found->second.index);
        return run;
      }
    }
    run.mapping = std::make_shared<const mapper::Mapping>(
        map_graphs(std::move(apps), {}, m_fabric, m_options.mode, m_options.seed));
    const double clock = m_fabric.spec().clock_ghz() * 1e9;
    for (const auto& tenant : run.mapping->tenants) {
      run.dram_bytes += mapper::totals(tenant.sections).dram_bytes;
      for (const auto& section : tenant.sections) {
        run.reconfig_s += section.reconfig_cycles / clock;
        run.pcus = std::max(run.pcus, section.pcus);
        run.pmus = std::max(run.pmus, section.pmus);
      }
    }
    run.structure = std::hash<std::string>{}(key);
    if (m_options.simulate && m_options.jobs > 1) {
      if (static_cast<int>(m_running.size()) >= m_options.jobs) finish_oldest();
      // The child inherits the mapping as it is now; only the report's figures come back.
      m_running.push_back(
          {index, std::make_unique<core::Worker>([this, &run] {
             sim::SimOptions sim_options;
             sim_options.alone = false;
             sim_options.tokens = m_options.tokens;
             const auto result = sim::simulate_here(*run.mapping, m_fabric, sim_options);
             return core::Json{{"seconds", result.report.seconds}, {"energy_j", result.report.energy.total_j()}};
           })});
    } else if (m_options.simulate) {
      sim::SimOptions sim_options;
      sim_options.alone = false;
      sim_options.tokens = m_options.tokens;
      const auto result = sim::simulate(*run.mapping, m_fabric, sim_options);
      run.seconds = result.report.seconds;
      run.energy_j = result.report.energy.total_j();
    } else {
      run.seconds = mapper::analytic_cycles(*run.mapping, m_fabric.spec()) / clock;
    }
    if (m_options.reuse_identical) m_done.emplace(std::move(key), Done{index, run});
    return run;
  }

  /// Waits for the simulations still running and fills in their segments' times, and those of
  /// the segments that took their results.
  void collect(std::vector<SegmentRun>& segments) {
    while (!m_running.empty()) finish_oldest();
    for (const auto& [index, figures] : m_finished) {
      segments[index].seconds = figures.first;
      segments[index].energy_j = figures.second;
    }
    for (const auto& [copy, source] : m_copies) {
      segments[copy].seconds = segments[source].seconds;
      segments[copy].energy_j = segments[source].energy_j;
    }
  }

 private:
  struct Done {
    std::size_t index;  ///< the first segment with this structure
    SegmentRun run;
  };
  struct Running {
    std::size_t index;
    std::unique_ptr<core::Worker> worker;
  };

  void finish_oldest() {
    const core::Json figures = m_running.front().worker->wait();
    m_finished[m_running.front().index] = {figures.at("seconds").get<double>(), figures.at("energy_j").get<double>()};
    m_running.pop_front();
  }

  const arch::SystemSpec& m_system;
  const SystemRunOptions& m_options;
  arch::Fabric m_fabric;
  std::map<std::string, Done> m_done;
  std::deque<Running> m_running;
  std::map<std::size_t, std::pair<double, double>> m_finished;  ///< index -> seconds, energy
  std::vector<std::pair<std::size_t, std::size_t>> m_copies;    ///< a reused segment and its source
};

std::string workload_name(const workloads::Workload& workload) {
  if (workload.apps.size() == 1) return workload.apps.front().name();
  return fmt::format("{} applications", workload.apps.size());
}

SystemRun base_run(const SystemWork& work, const arch::SystemSpec& system) {
  SystemRun run;
  run.workload = work.workload;
  run.system = system.name;
  run.device = system.device_name();
  run.devices = work.devices;
  run.parallelism = work.parallelism;
  run.micro_batches = work.micro_batches;
  run.layout = work.layout;
  return run;
}

/// Calls `run(device, name, applications)` for every segment of the work: each socket's
/// applications (spread), or each segment of the schedule as a graph of its own (sharded).
void for_each_segment(const SystemWork& work,
                      const std::function<void(int, const std::string&, std::vector<graphs::Graph>)>& run) {
  if (work.layout == "spread") {
    for (std::size_t d = 0; d < work.spread.size(); ++d) {
      core::log::debug("socket {} of {}: {} application(s)", d + 1, work.spread.size(), work.spread[d].size());
      run(static_cast<int>(d), fmt::format("socket{}", d), work.spread[d]);
    }
    return;
  }
  for (std::size_t s = 0; s < work.plan.segments.size(); ++s) {
    const auto& seg = work.plan.segments[s];
    const std::string name = fmt::format("socket{}/segment{}", seg.device, s);
    core::log::debug("segment {} of {} (socket {})", s + 1, work.plan.segments.size(), seg.device);
    run(seg.device, name, {graphs::subgraph(work.sharded->graph, seg.ops, fmt::format("{}/{}", work.workload, name))});
  }
}

/// The timeline of the work from its segments' times: spread sockets side by side, sharded
/// segments and link ops on the system timeline.
void finish(SystemRun& run, const SystemWork& work, const std::vector<double>& segment_s,
            const arch::SystemSpec& system, double element_bytes, double launch_s, std::vector<double> early_s = {},
            bool streamed_collectives = false) {
  for (const auto& seg : run.segments) run.flops += work.micro_batches * seg.flops;
  if (work.layout == "spread") {
    run.timeline.devices.resize(at(work.devices));
    for (int d = 0; d < work.devices; ++d) {
      auto& dev = run.timeline.devices[at(d)];
      dev.device = d;
      dev.busy_s = segment_s[at(d)];
      run.timeline.spans.push_back({d, d, 0, 0.0, dev.busy_s});
      run.timeline.seconds = std::max(run.timeline.seconds, dev.busy_s);
    }
    for (auto& dev : run.timeline.devices) dev.wait_s = run.timeline.seconds - dev.busy_s;
    return;
  }
  sim::TimelineOptions timing;
  timing.element_bytes = element_bytes;
  timing.launch_s = launch_s;
  timing.micro_batches = work.micro_batches;
  timing.early_s = std::move(early_s);
  timing.streamed_collectives = streamed_collectives;
  run.timeline = sim::run_timeline(work.sharded->graph, work.plan, segment_s, system, timing);
}

/// The applications of `workload` on the least loaded socket first, the longest first (by FLOPs).
std::vector<std::vector<graphs::Graph>> spread_apps(const workloads::Workload& workload, int devices) {
  const int sockets = std::min<int>(devices, static_cast<int>(workload.apps.size()));
  std::vector<std::size_t> order(workload.apps.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> flops(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) flops[i] = graph_flops(workload.apps[i]);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return flops[a] > flops[b]; });
  std::vector<std::vector<std::size_t>> on(at(sockets));
  std::vector<double> load(at(sockets), 0.0);
  for (const auto i : order) {
    const auto d = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    on[d].push_back(i);
    load[d] += flops[i];
  }
  std::vector<std::vector<graphs::Graph>> apps(at(sockets));
  for (int d = 0; d < sockets; ++d) {
    std::sort(on[at(d)].begin(), on[at(d)].end());  // the workload's order within a socket
    for (const auto i : on[at(d)]) apps[at(d)].push_back(workload.apps[i]);
  }
  return apps;
}

}  // namespace

SystemWork prepare_system_work(const workloads::Workload& workload, const arch::SystemSpec& system,
                               const SystemRunOptions& options, const Rebatch& rebatch) {
  SystemWork work;
  work.micro_batches = options.micro_batches;
  work.workload = workload_name(workload);
  graphs::Parallelism p = options.parallelism;
  const bool split_given = p.tp > 1 || p.pp > 1 || p.dp > 1;
  if (!split_given && workload.apps.size() > 1) {
    work.layout = "spread";
    work.spread = spread_apps(workload, system.devices);
    work.devices = static_cast<int>(work.spread.size());
    return work;
  }
  if (workload.apps.size() != 1) {
    throw core::InputError(
        fmt::format("tensor, pipeline and data parallelism split one application; this model has "
                    "{} (give no split to spread them over the sockets)",
                    workload.apps.size()));
  }
  if (p.devices() > system.devices) {
    throw core::InputError(core::Location(system.source),
                           fmt::format("tp {} x pp {} x dp {} needs {} devices; the system '{}' has {} (--devices N)",
                                       p.tp, p.pp, p.dp, p.devices(), system.name, system.devices));
  }
  // The graph each pass of the pipeline runs: the whole batch, or one micro-batch of it.
  auto graph_at = [&](std::int64_t batch) {
    const graphs::Graph& g = workload.apps.front();
    if (batch == batch_of(g, rebatch)) return g;
    if (g.dims().contains("batch")) {
      graphs::Graph copy = g;
      copy.set_dim("batch", batch);
      graphs::infer_shapes(copy);
      return copy;
    }
    if (!rebatch.build) {
      throw core::InputError(fmt::format("'{}' has no batch to split (no `batch` dimension)", g.name()));
    }
    return rebatch.build(batch).apps.at(0);
  };
  const std::int64_t batch = batch_of(workload.apps.front(), rebatch);
  if (!split_given) p.dp = static_cast<int>(std::min<std::int64_t>(system.devices, batch));  // data parallel on all
  if (batch < p.dp) {
    throw core::InputError(fmt::format("data parallel {} needs a sample per replica; the batch is {}", p.dp, batch));
  }
  if (options.micro_batches > 1 && batch / p.dp < options.micro_batches) {
    throw core::InputError(fmt::format("{} micro-batches need as many samples per replica; a replica has {}",
                                       options.micro_batches, batch / p.dp));
  }
  const std::int64_t pass_batch = options.micro_batches > 1 ? batch / options.micro_batches : batch;
  const graphs::Graph graph = graph_at(pass_batch);
  graphs::ShardOptions shard_options;
  if (p.dp > 1) shard_options.gradients = graphs::gradient_inputs(graph);  // a training step's
  if (p.dp > 1 && !graph.dims().contains("batch")) {
    shard_options.batch = pass_batch;
    for (const auto share : graphs::even_split(pass_batch, p.dp)) shard_options.replicas.push_back(graph_at(share));
  }
  work.layout = "sharded";
  work.parallelism = p;
  work.devices = p.devices();
  work.sharded = graphs::shard(graph, p, shard_options);
  work.plan = graphs::schedule(work.sharded->graph, p.devices());
  return work;
}

SystemRun run_on_system(const workloads::Workload& workload, const arch::SystemSpec& system,
                        const SystemRunOptions& options, const Rebatch& rebatch) {
  if (system.is_gpu()) {
    throw core::InputError(core::Location(system.source),
                           fmt::format("system '{}' holds GPUs; the RDA side needs a system of RDAs (the GPU side "
                                       "runs on `rdasim gpu --system`)",
                                       system.name));
  }
  return run_work_on_system(prepare_system_work(workload, system, options, rebatch), system, options);
}

/// Kernel looping (SystemRunOptions::looped_layers): on each socket whose distinct one-section
/// segments fit the chip together, a one-section segment alike to one the socket ran before is
/// an iteration of the looped kernel and is not reconfigured.
void loop_layers(std::vector<SegmentRun>& segments, const arch::Fabric& fabric) {
  const auto& tier = fabric.spec().memory_tiers().front();
  const double offchip_bytes_per_s = tier.bandwidth_gbps * 1e9 * tier.efficiency;
  std::map<int, std::map<std::size_t, std::pair<int, int>>> body;  // per socket: its one-section kinds' units
  for (const auto& seg : segments) {
    if (seg.mapping->tenants.size() == 1 && seg.mapping->tenants.front().sections.size() == 1) {
      body[seg.device].emplace(seg.structure, std::pair{seg.pcus, seg.pmus});
    }
  }
  std::erase_if(body, [&](const auto& socket) {  // a loop body that does not fit the chip is not looped
    int pcus = 0, pmus = 0;
    for (const auto& [structure, units] : socket.second) {
      pcus += units.first;
      pmus += units.second;
    }
    return pcus > fabric.count(arch::UnitKind::pcu) || pmus > fabric.count(arch::UnitKind::pmu);
  });
  std::map<int, std::set<std::size_t>> seen;
  for (auto& seg : segments) {
    const auto kinds = body.find(seg.device);
    if (kinds == body.end() || !kinds->second.contains(seg.structure)) continue;
    if (!seen[seg.device].insert(seg.structure).second) {
      seg.seconds -= seg.reconfig_s;
      seg.looped = true;
      double weights = 0;  // held in its PMUs or streamed through them: either way read from off-chip memory
      for (const auto& section : seg.mapping->tenants.front().sections) weights += section.weight_bytes;
      seg.early_s = std::min(seg.seconds, weights / offchip_bytes_per_s);
    }
  }
}

double looped_saving_s(const SystemRun& run) {
  std::map<int, double> per_device;
  for (const auto& s : run.segments) {
    if (s.looped) per_device[s.device] += s.reconfig_s;
  }
  double most = 0;
  for (const auto& [device, seconds] : per_device) most = std::max(most, seconds);
  return most;
}

SystemRun run_work_on_system(const SystemWork& work, const arch::SystemSpec& system, const SystemRunOptions& options) {
  Runner runner(system, options);
  SystemRun run = base_run(work, system);
  run.clock_hz = system.fabric->clock_ghz() * 1e9;
  for_each_segment(work, [&](int device, const std::string& name, std::vector<graphs::Graph> apps) {
    run.segments.push_back(runner.run_segment(run.segments.size(), device, name, std::move(apps)));
  });
  runner.collect(run.segments);
  if (options.looped_layers) loop_layers(run.segments, arch::Fabric(*system.fabric));
  std::vector<double> segment_s, early_s;
  for (const auto& seg : run.segments) {
    segment_s.push_back(seg.seconds);
    early_s.push_back(seg.early_s);
  }
  finish(run, work, segment_s, system, options.element_bytes, 0.0, std::move(early_s), options.looped_layers);
  for (const auto& seg : run.segments) run.energy_j += work.micro_batches * seg.energy_j;
  return run;
}

SystemRun estimate_on_gpu_system(const workloads::Workload& workload, const arch::SystemSpec& system,
                                 const SystemRunOptions& options, const gpu::Options& gpu_options,
                                 const Rebatch& rebatch) {
  if (!system.is_gpu()) {
    throw core::InputError(core::Location(system.source),
                           fmt::format("system '{}' holds RDAs; the GPU side needs a system of GPUs", system.name));
  }
  const SystemWork work = prepare_system_work(workload, system, options, rebatch);
  SystemRun run = base_run(work, system);
  if (work.layout == "sharded") {
    // The GPU model's own system estimate: segments, collectives after the host's launch, energy.
    const gpu::SystemEstimate e = gpu::estimate_system(work.sharded->graph, system, gpu_options, work.micro_batches);
    for (std::size_t s = 0; s < work.plan.segments.size(); ++s) {
      SegmentRun seg;
      seg.device = work.plan.segments[s].device;
      seg.name = fmt::format("socket{}/segment{}", seg.device, s);
      seg.apps = {fmt::format("{}/{}", work.workload, seg.name)};
      seg.seconds = e.segments[s].seconds;
      seg.flops = e.segments[s].flops;
      seg.dram_bytes = e.segments[s].bytes;
      run.segments.push_back(std::move(seg));
    }
    run.timeline = e.timeline;
    run.flops = e.flops;
    run.energy_j = e.energy_j;
    return run;
  }
  std::vector<double> segment_s;
  for_each_segment(work, [&](int device, const std::string& name, std::vector<graphs::Graph> apps) {
    SegmentRun seg;
    seg.device = device;
    seg.name = name;
    for (const auto& app : apps) {
      const gpu::Estimate e = gpu::estimate(app, *system.gpu, gpu_options);  // one after another
      seg.apps.push_back(app.name());
      seg.seconds += e.seconds;
      seg.flops += e.flops;
      seg.dram_bytes += e.bytes;
    }
    run.segments.push_back(std::move(seg));
    segment_s.push_back(run.segments.back().seconds);
  });
  finish(run, work, segment_s, system, 0.0, 0.0);  // spread: no link ops
  for (const auto& d : run.timeline.devices) {
    run.energy_j += system.gpu->energy_j(run.timeline.seconds, d.busy_s + d.link_s);
  }
  return run;
}

mapper::Mapping SegmentRun::named_mapping() const {
  if (!mapping) return {};
  mapper::Mapping named = *mapping;
  for (std::size_t i = 0; i < named.tenants.size() && i < apps.size(); ++i) named.tenants[i].name = apps[i];
  return named;
}

core::Json SystemRun::to_json() const {
  core::Json segs = core::Json::array();
  for (const auto& s : segments) {
    std::size_t sections = 0;
    if (s.mapping) {  // GPU segments have no layout
      for (const auto& t : s.mapping->tenants) sections += t.sections.size();
    }
    segs.push_back({{"device", s.device},
                    {"name", s.name},
                    {"apps", s.apps},
                    {"seconds", s.seconds},
                    {"flops", s.flops},
                    {"dram_bytes", s.dram_bytes},
                    {"sections", sections},
                    {"energy_j", s.energy_j},
                    {"reused", s.reused},
                    {"reconfig_s", s.reconfig_s},
                    {"looped", s.looped},
                    {"early_s", s.early_s}});
  }
  core::Json j = timeline.to_json();
  return {{"seconds", timeline.seconds},
          {"cycles", timeline.seconds * clock_hz},
          {"clock_hz", clock_hz},
          {"flops", flops},
          {"system", system},
          {"device", device},
          {"devices", devices},
          {"parallelism", {{"tp", parallelism.tp}, {"pp", parallelism.pp}, {"dp", parallelism.dp}}},
          {"micro_batches", micro_batches},
          {"layout", layout},
          {"energy_j", energy_j},
          {"sockets", j["devices"]},
          {"links", j["links"]},
          {"segments", segs}};
}

std::string system_report_text(const SystemRun& run) {
  std::string out = fmt::format("{} on {} ({} x {}; {}, tp {} x pp {} x dp {}{}): {}\n\n", run.workload, run.system,
                                run.devices, run.device, run.layout == "spread" ? "applications spread" : "sharded",
                                run.parallelism.tp, run.parallelism.pp, run.parallelism.dp,
                                run.micro_batches > 1 ? fmt::format(", {} micro-batches", run.micro_batches) : "",
                                core::format_si(run.timeline.seconds, "s"));
  out += fmt::format("{:<8} {:>9} {:>11} {:>11} {:>11} {:>12}  {}\n", "device", "segments", "busy", "links", "waiting",
                     "sent", "applications / segments");
  for (const auto& d : run.timeline.devices) {
    std::vector<std::string> names;
    int count = 0;
    for (const auto& s : run.segments) {
      if (s.device != d.device) continue;
      ++count;
      if (names.size() < 4)
        names.push_back(s.apps.size() == 1 ? s.apps.front() : fmt::format("{} apps", s.apps.size()));
    }
    if (count > static_cast<int>(names.size())) names.push_back("...");
    out += fmt::format("{:<8} {:>9} {:>11} {:>11} {:>11} {:>12}  {}\n", d.device, count, core::format_si(d.busy_s, "s"),
                       core::format_si(d.link_s, "s"), core::format_si(d.wait_s, "s"),
                       core::format_si(d.link_bytes_sent, "B"), fmt::format("{}", fmt::join(names, ", ")));
  }
  // Collectives by kind and algorithm.
  std::map<std::pair<std::string, std::string>, std::tuple<int, double, double>> kinds;
  for (const auto& l : run.timeline.links) {
    auto& [count, bytes, seconds] = kinds[{arch::to_string(l.collective), arch::to_string(l.algorithm)}];
    ++count;
    bytes += l.bytes;
    seconds += l.end_s - l.start_s;
  }
  if (!kinds.empty()) {
    out += fmt::format("\n{:<16} {:<16} {:>7} {:>12} {:>11}\n", "link op", "algorithm", "count", "bytes (S)", "time");
    for (const auto& [k, v] : kinds) {
      const auto& [count, bytes, seconds] = v;
      out += fmt::format("{:<16} {:<16} {:>7} {:>12} {:>11}\n", k.first, k.second, count, core::format_si(bytes, "B"),
                         core::format_si(seconds, "s"));
    }
  }
  const std::size_t reused = static_cast<std::size_t>(
      std::count_if(run.segments.begin(), run.segments.end(), [](const auto& s) { return s.reused; }));
  if (reused > 0) {
    out += fmt::format("\n{} of {} segments took the result of an identical one (same ops and shapes)\n", reused,
                       run.segments.size());
  }
  const auto looped = std::count_if(run.segments.begin(), run.segments.end(), [](const auto& s) { return s.looped; });
  if (looped > 0) {
    out += fmt::format("{} segments ran as iterations of a looped kernel (no reconfiguration, {} saved per socket)\n",
                       looped, core::format_si(looped_saving_s(run), "s"));
  }
  return out;
}

core::Json system_trace(const SystemRun& run) {
  core::Json events = core::Json::array();
  for (const auto& d : run.timeline.devices) {
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", d.device},
                      {"args", {{"name", fmt::format("socket {}", d.device)}}}});
  }
  for (const auto& span : run.timeline.spans) {
    const auto& s = run.segments.at(at(span.segment));
    events.push_back({{"name", s.name},
                      {"ph", "X"},
                      {"pid", span.device},
                      {"tid", 0},
                      {"ts", span.start_s * 1e6},
                      {"dur", (span.end_s - span.start_s) * 1e6},
                      {"args", {{"micro_batch", span.micro_batch}, {"apps", s.apps}}}});
  }
  for (const auto& l : run.timeline.links) {
    for (const int d : l.devices) {
      events.push_back({{"name", fmt::format("{} ({})", l.op, arch::to_string(l.algorithm))},
                        {"ph", "X"},
                        {"pid", d},
                        {"tid", 1},
                        {"ts", l.start_s * 1e6},
                        {"dur", (l.end_s - l.start_s) * 1e6},
                        {"args", {{"bytes", l.bytes}, {"micro_batch", l.micro_batch}}}});
    }
  }
  return {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
}

}  // namespace rdasim::tools
