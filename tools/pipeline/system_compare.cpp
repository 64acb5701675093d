// The comparison harness on systems: see tools/pipeline/system_compare.h.
#include "tools/pipeline/system_compare.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "tools/pipeline/models.h"

namespace rdasim::tools {

const std::vector<std::string>& system_compare_cases() {
  static const std::vector<std::string> cases{"lensing", "inversion", "dcrnn-sparse", "gp-dcrnn", "ensemble-32"};
  return cases;
}

namespace {

std::string split_text(const SystemRun& run) {
  if (run.layout == "spread") return fmt::format("applications spread over {}", run.devices);
  return fmt::format("tp {} x pp {} x dp {}", run.parallelism.tp, run.parallelism.pp, run.parallelism.dp);
}

}  // namespace

std::vector<SystemCompareRow> run_system_comparison(const arch::SystemSpec& rda,
                                                    const std::vector<arch::SystemSpec>& gpus,
                                                    const CompareOptions& options, const SystemRunOptions& run) {
  const auto& names = options.cases.empty() ? system_compare_cases() : options.cases;
  std::vector<SystemCompareRow> rows;
  for (const auto& name : names) {
    const auto found = std::find_if(compare_cases().begin(), compare_cases().end(),
                                    [&](const CompareCase& c) { return c.name == name; });
    RDASIM_ASSERT(found != compare_cases().end(), fmt::format("unknown case '{}'", name));
    const CompareCase& c = *found;
    const auto batches = options.batches.empty() ? c.batches : options.batches;
    for (const int batch : batches) {
      auto params = c.params;
      params.push_back(fmt::format("batch={}", batch));
      core::log::info("{} at batch {} on {}", c.name, batch, rda.name);
      const workloads::Workload w = load_model_argument(c.workload, params);
      const auto rebuild = batch_rebuilder(c.workload, params);
      const SystemRun on_rda = run_on_system(w, rda, run, rebuild);
      for (const auto& g : gpus) {
        gpu::Options gpu_options;
        gpu_options.precision = options.precision;
        const SystemRun on_gpu = estimate_on_gpu_system(w, g, run, gpu_options, rebuild);
        SystemCompareRow row;
        row.case_name = c.name;
        row.batch = batch;
        row.rda_system = rda.name;
        row.gpu_system = g.name;
        row.layout = on_rda.layout;
        row.split = split_text(on_rda);
        row.devices = on_rda.devices;
        row.rda_s = on_rda.timeline.seconds;
        row.rda_link_s = on_rda.timeline.link_s();
        row.rda_j = on_rda.energy_j;
        row.gpu_s = on_gpu.timeline.seconds;
        row.gpu_link_s = on_gpu.timeline.link_s();
        row.gpu_j = on_gpu.energy_j;
        double wait = 0;
        for (const auto& d : on_gpu.timeline.devices) wait = std::max(wait, d.wait_s);
        row.gpu_wait_s = wait;
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

std::string system_compare_csv(const std::vector<SystemCompareRow>& rows) {
  std::string out =
      "case,batch,rda_system,gpu_system,layout,split,devices,rda_s,rda_link_s,rda_j,gpu_s,gpu_link_s,gpu_j,speedup\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},\"{}\",\"{}\",{},\"{}\",{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.4g}\n",
                       r.case_name, r.batch, r.rda_system, r.gpu_system, r.layout, r.split, r.devices, r.rda_s,
                       r.rda_link_s, r.rda_j, r.gpu_s, r.gpu_link_s, r.gpu_j, r.speedup());
  }
  return out;
}

std::string system_compare_markdown(const std::vector<SystemCompareRow>& rows, const std::string& command,
                                    bool simulated) {
  std::string out = "# Systems: RDAs against GPUs\n\n";
  out += fmt::format(
      "Made by `{}`. RDA side: every distinct segment {}; GPU side: the GPU model per segment "
      "(PyTorch eager); collectives and transfers on both sides on the same timeline "
      "(sim/system), with the algorithm a library picks for each system's links.\n\n",
      command, simulated ? "simulated on the SystemC model of its chip" : "timed by the mapper's analytic model");
  out +=
      "| case | batch | RDA system | GPU system | split | RDA / sample | GPU / sample | speedup | RDA links | GPU "
      "links |\n";
  out += "|---|---:|---|---|---|---:|---:|---:|---:|---:|\n";
  for (const auto& r : rows) {
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.2f}x | {} | {} |\n", r.case_name, r.batch, r.rda_system,
                       r.gpu_system, r.split, core::format_si(r.rda_s / r.batch, "s"),
                       core::format_si(r.gpu_s / r.batch, "s"), r.speedup(), core::format_si(r.rda_link_s, "s"),
                       core::format_si(r.gpu_link_s, "s"));
  }
  return out;
}

}  // namespace rdasim::tools
