#include "tools/pipeline/map_inputs.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "graphs/transforms.h"
#include "mapper/infeasible.h"
#include "tools/pipeline/deployment.h"
#include "tools/pipeline/models.h"

namespace rdasim::tools {

namespace {

/// Every MODEL argument's applications; a deployment file brings its own sizes, the others get
/// --tiles-per-app or --rows-per-app (or an even share).
Deployment load_applications(const MapInputs& in) {
  Deployment all;
  const mapper::RegionRequest request{in.tiles_per_app, in.rows_per_app};
  for (const auto& model : in.models) {
    Deployment part;
    if (is_deployment_file(model)) {
      part = load_deployment(model);
      for (auto& r : part.regions) {
        if (r.tiles == 0 && r.rows == 0) r = request;
      }
    } else {
      auto w = load_model_argument(model, in.params);
      for (auto& app : w.apps) {
        part.apps.push_back(std::move(app));
        part.regions.push_back(request);
      }
    }
    append(all, std::move(part));
  }
  return all;
}

}  // namespace

arch::Fabric load_fabric(const MapInputs& in) {
  if (in.arch.empty()) throw core::InputError("give the fabric with --arch FILE (or a system with --system FILE)");
  std::vector<core::Override> overrides;
  for (const auto& text : in.sets) overrides.push_back(core::Override::parse(text));
  return arch::Fabric(arch::Spec::load_file(in.arch, overrides));
}

arch::SystemSpec load_system(const MapInputs& in) {
  std::vector<core::Override> overrides;
  for (const auto& text : in.sets) overrides.push_back(core::Override::parse(text));
  return arch::SystemSpec::load_file(in.system, overrides, in.split.devices);
}

SystemRun run_inputs_on_system(const MapInputs& in, bool simulate) {
  const arch::SystemSpec system = load_system(in);
  Deployment deployment = load_applications(in);
  workloads::Workload workload;
  workload.apps = std::move(deployment.apps);
  SystemRunOptions options;
  options.parallelism = in.split.parallelism;
  options.micro_batches = in.split.micro_batches;
  options.mode = in.mode;
  options.seed = in.seed;
  options.simulate = simulate;
  options.jobs = in.jobs;
  if (system.fabric) {
    options.element_bytes = system.fabric->pcu().precision == arch::Precision::bf16_fp32acc ? 2.0 : 4.0;
  }
  return run_on_system(workload, system, options,
                       in.models.size() == 1 ? batch_rebuilder(in.models.front(), in.params) : Rebatch{});
}

mapper::Mapping map_inputs(const MapInputs& in, const arch::Fabric& fabric) {
  auto deployment = load_applications(in);
  return map_graphs(std::move(deployment.apps), deployment.regions, fabric, in.mode, in.seed, in.jobs);
}

mapper::Mapping map_graphs(const std::vector<graphs::Graph>& apps, const std::vector<mapper::RegionRequest>& regions,
                           const arch::Fabric& fabric, const std::string& mode, std::uint64_t seed, int jobs) {
  // The mapper places primitives: recurrences are unrolled first. Most workloads have none, and
  // copying GP-DCRNN's 64 graphs took half a second.
  std::vector<graphs::Graph> unrolled;
  const bool recurrent = std::any_of(apps.begin(), apps.end(), graphs::has_recurrent);
  if (recurrent) {
    for (const auto& app : apps) unrolled.push_back(graphs::expand_recurrent(app));
  }
  mapper::MapOptions options;
  options.mode = mode == "o0" ? mapper::Mode::o0 : mapper::Mode::o1;
  options.regions = regions;
  options.seed = seed;
  options.jobs = jobs;
  if (apps.size() > 1) {
    core::log::info("mapping {} applications onto {}", apps.size(), fabric.spec().name());
    options.progress = progress_logger("mapped", "applications");  // many tenants take seconds
  }
  return mapper::map_applications(recurrent ? unrolled : apps, fabric, options);
}

std::function<void(std::size_t, std::size_t)> progress_logger(std::string verb, std::string things) {
  return [verb = std::move(verb), things = std::move(things), start = std::chrono::steady_clock::now(),
          last = std::chrono::steady_clock::now()](std::size_t done, std::size_t total) mutable {
    const auto now = std::chrono::steady_clock::now();
    if (done == total || now - last < std::chrono::seconds(3)) return;
    last = now;
    core::log::info("{} {} of {} {} ({:.0f} s)", verb, done, total, things,
                    std::chrono::duration<double>(now - start).count());
  };
}

}  // namespace rdasim::tools
