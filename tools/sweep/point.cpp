#include "tools/sweep/point.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "arch/summary.h"
#include "mapper/mapping.h"
#include "sim/cycle/simulate.h"
#include "sim/gpu/model.h"
#include "tools/pipeline/deployment.h"
#include "tools/pipeline/map_inputs.h"
#include "tools/pipeline/models.h"
#include "tools/pipeline/serving.h"

namespace rdasim::tools::sweep {

namespace {

std::string number(double v) { return fmt::format("{:.9g}", v); }

/// The limiting resource of the mapping's longest section, over every tenant.
std::string longest_section_bound(const mapper::Mapping& mapping) {
  const mapper::MappedSection* longest = nullptr;
  for (const auto& t : mapping.tenants) {
    for (const auto& s : t.sections) {
      if (!longest || s.cycles() > longest->cycles()) longest = &s;
    }
  }
  return longest ? to_string(longest->bound()) : "";
}

/// The GPU's time and energy for the point's workload: one application alone, several as
/// processes sharing the GPU.
gpu::Estimate gpu_estimate(const Spec& spec, const workloads::Workload& workload) {
  const auto gpu = arch::GpuSpec::load_file(*spec.gpu);
  gpu::Options options;
  options.precision = spec.precision == "fp32" ? gpu::Precision::fp32 : gpu::Precision::bf16;
  std::vector<gpu::Estimate> apps;
  for (const auto& app : workload.apps) apps.push_back(gpu::estimate(app, gpu, options));
  return apps.size() == 1 ? apps.front() : gpu::concurrent(apps, gpu);
}

/// A serving sweep's point: the LLM served as a static batch on the point's system.
Values evaluate_serving(const Spec& spec, const Point& point, bool fast) {
  ServeInputs in;
  in.models = {point.workload->model};
  in.system = spec.system->string();
  in.system_sets = system_overrides(point.sets(spec));
  in.batch = point.batch;
  in.analytic = fast;
  for (const auto& param : point.workload->params) {
    const auto eq = param.find('=');
    const std::string key = param.substr(0, eq), value = param.substr(eq + 1);
    if (key == "framework") in.framework = value;
    else if (key == "input_len") in.input_len = std::stoll(value);
    else if (key == "output_len") in.output_len = std::stoll(value);
    else if (key == "tp") in.tp = std::stoi(value);
    else if (key == "pp") in.pp = std::stoi(value);
  }
  const core::Json r = run_serving(in).report;
  Values v;
  const double latency = r.at("latency_s").get<double>();
  v["seconds"] = number(latency);
  v["seconds_per_sample"] = number(latency / point.batch);
  v["samples_per_s"] = number(point.batch / latency);
  v["energy_j"] = number(r.at("energy_j").get<double>());
  v["ttft_s"] = number(r.at("ttft_s").get<double>());
  v["itl_s"] = number(r.at("itl_s").at("mean").get<double>());
  v["output_tok_s"] = number(r.at("output_tok_s").get<double>());
  v["throughput_tok_s"] = number(r.at("throughput_tok_s").get<double>());
  v["energy_per_token_j"] = number(r.at("energy_per_token_j").get<double>());
  return v;
}

}  // namespace

Values evaluate(const Spec& spec, const Point& point, bool fast) {
  const auto start = std::chrono::steady_clock::now();
  if (spec.system) {
    Values v = evaluate_serving(spec, point, fast);
    v["wall_s"] =
        fmt::format("{:.3f}", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return v;
  }
  MapInputs in;
  in.models = {point.workload->model};
  in.params = point.params();
  in.arch = spec.arch.string();
  in.sets = point.sets(spec);
  in.mode = spec.mode;
  in.seed = spec.seed;
  const arch::Fabric fabric = load_fabric(in);
  // A workload is built once for the mapper and the GPU (building DCRNN's graph and weights
  // twice was a twelfth of a point); a deployment file goes through map_inputs as given.
  std::optional<workloads::Workload> workload;
  if (!is_deployment_file(in.models.front())) workload = load_model_argument(in.models.front(), in.params);
  const mapper::Mapping mapping =
      workload ? map_graphs(workload->apps, std::vector<mapper::RegionRequest>(workload->apps.size()), fabric, in.mode,
                            in.seed)
               : map_inputs(in, fabric);
  const arch::Summary chip = arch::summarize(fabric);

  Values v;
  const double samples = point.batch > 0 ? point.batch : 1;
  double seconds = 0;
  double flops = 0;
  if (fast) {
    const double cycles = mapper::analytic_cycles(mapping, fabric.spec());
    seconds = cycles / chip.clock_hz;
    for (const auto& t : mapping.tenants) flops += mapper::totals(t.sections).flops;
    v["cycles"] = number(cycles);
    v["energy_j"] = v["energy_per_sample_j"] = v["power_w"] = "";
  } else {
    sim::SimOptions options;
    options.alone = false;  // a sweep wants each point's time, not every tenant's slowdown
    const auto report = sim::simulate_here(mapping, fabric, options).report;
    seconds = report.seconds;
    flops = report.flops;
    v["cycles"] = number(report.cycles);
    v["energy_j"] = number(report.energy.total_j());
    v["energy_per_sample_j"] = number(report.energy.total_j() / samples);
    v["power_w"] = number(report.average_power_w);
  }
  v["seconds"] = number(seconds);
  v["seconds_per_sample"] = number(seconds / samples);
  v["samples_per_s"] = number(samples / seconds);
  v["tflops"] = number(flops / seconds / 1e12);
  v["peak_fraction"] = number(flops / seconds / chip.peak_flops);
  v["area_mm2"] = number(chip.area_mm2);
  v["peak_tflops"] = number(chip.peak_flops / 1e12);
  v["sram_mib"] = number(chip.sram_bytes / (1 << 20));
  v["dram_gbps"] = number(chip.offchip_bytes_per_s / 1e9);
  int pcus = 0, pmus = 0, sections = 0;
  for (const auto& t : mapping.tenants) {
    int tenant_pcus = 0, tenant_pmus = 0;
    for (const auto& s : t.sections) {
      tenant_pcus = std::max(tenant_pcus, s.pcus);
      tenant_pmus = std::max(tenant_pmus, s.pmus);
    }
    pcus += tenant_pcus;  // tenants hold their units at the same time
    pmus += tenant_pmus;
    sections += static_cast<int>(t.sections.size());
  }
  v["pcus_used"] = std::to_string(pcus);
  v["pmus_used"] = std::to_string(pmus);
  v["sections"] = std::to_string(sections);
  v["bound"] = longest_section_bound(mapping);
  if (spec.gpu) {
    const auto g = gpu_estimate(spec, workload ? *workload : load_model_argument(in.models.front(), in.params));
    v["gpu"] = spec.gpu->stem().string();
    v["gpu_seconds_per_sample"] = number(g.seconds / samples);
    v["gpu_energy_per_sample_j"] = number(g.energy_j / samples);
    v["speedup"] = number(g.seconds / seconds);
  } else {
    v["gpu"] = v["gpu_seconds_per_sample"] = v["gpu_energy_per_sample_j"] = v["speedup"] = "";
  }
  v["wall_s"] = fmt::format("{:.3f}", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return v;
}

std::vector<std::string> record(const Spec& spec, const Point& point, bool fast, const Values& values,
                                const std::string& error) {
  std::vector<std::string> r{point.key, point.workload->label, point.batch > 0 ? std::to_string(point.batch) : ""};
  r.insert(r.end(), point.values.begin(), point.values.end());
  r.push_back(fast ? "analytic" : "sim");
  r.push_back(error.empty() ? "ok" : "error");
  r.push_back(error);
  for (const auto& column : spec.keep) {
    const auto it = values.find(column);
    r.push_back(it == values.end() ? "" : it->second);
  }
  return r;
}

}  // namespace rdasim::tools::sweep
