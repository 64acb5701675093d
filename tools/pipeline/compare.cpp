#include "tools/pipeline/compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/csv.h"
#include "core/error.h"
#include "core/json_fields.h"
#include "core/log.h"
#include "core/text.h"
#include "core/worker.h"
#include "mapper/infeasible.h"
#include "sim/cycle/simulate.h"
#include "tools/pipeline/map_inputs.h"
#include "tools/pipeline/models.h"

namespace rdasim::tools {

const std::vector<CompareCase>& compare_cases() {
  static const std::vector<CompareCase> cases = {
      {"lensing", "lensing", {"stage=full"}, {1, 4, 16}, "denoise -> deblend -> encoder and heads, 3x111x111 images"},
      {"lensing-denoise", "lensing", {"stage=denoise"}, {1, 4, 16}, "one EDSR (F=256, 16 blocks)"},
      {"lensing-deblend", "lensing", {"stage=deblend"}, {1, 4, 16}, "the second EDSR"},
      {"lensing-encoder", "lensing", {"stage=encoder"}, {1, 4, 16}, "VIB encoder with detection and modeling heads"},
      {"inversion", "inversion", {}, {32, 128, 512}, "nuclear-response inversion, RBF -> 2000 -> 2000 -> Laplace"},
      {"dcrnn-sparse", "dcrnn", {"diffusion=sparse"}, {16, 64, 256}, "DCRNN on METR-LA (207 sensors), CSR diffusion"},
      {"dcrnn-dense", "dcrnn", {"diffusion=dense"}, {16, 64, 256}, "DCRNN on METR-LA, dense diffusion"},
      {"gp-dcrnn", "gp-dcrnn", {}, {64}, "California (11,160 sensors) in 64 METIS parts, one model each"},
      {"ensemble-5", "ensemble", {"members=5"}, {64}, "5 DCRNN members, isolated tenants", 5},
      {"ensemble-32", "ensemble", {"members=32"}, {64}, "32 DCRNN members, isolated tenants", 32},
      // Training steps (forward, loss, backward, optimizer update) with the papers' losses and
      // optimizers (workloads -p mode=train).
      {"lensing-denoise-train",
       "lensing",
       {"stage=denoise", "mode=train"},
       {16},
       "EDSR training step: L1, Adam, 32x32 crops"},
      {"inversion-train", "inversion", {"mode=train"}, {128}, "inversion training step: chi^2 + entropy, Adam"},
      {"dcrnn-sparse-train", "dcrnn", {"diffusion=sparse", "mode=train"}, {64}, "DCRNN training step: masked L1, Adam"},
      {"ensemble-5-train", "ensemble", {"members=5", "mode=train"}, {64}, "5 DCRNN members trained independently", 5},
  };
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Measured times
// ---------------------------------------------------------------------------------------------

namespace {

std::string measured_key(const std::string& c, int batch, const std::string& precision, const std::string& mode,
                         const std::string& strategy) {
  return fmt::format("{}|{}|{}|{}|{}", c, batch, precision, mode, strategy);
}

}  // namespace

MeasuredTimes MeasuredTimes::load(const std::filesystem::path& file) {
  MeasuredTimes times;
  times.m_source = file;
  std::ifstream in(file);
  if (!in) return times;
  std::string line;
  std::getline(in, line);
  const auto header = core::csv_fields(line);
  auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      throw core::InputError(core::Location(file.string(), 1),
                             fmt::format("no column '{}'; expected the header tools/gpu/measure.py writes", name));
    }
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t c_case = column("case"), c_batch = column("batch"), c_prec = column("precision"),
                    c_mode = column("mode"), c_strategy = column("strategy"), c_median = column("median_ms");
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const auto f = core::csv_fields(line);
    if (f.size() != header.size()) {
      throw core::InputError(core::Location(file.string(), number),
                             fmt::format("{} fields where the header has {}", f.size(), header.size()));
    }
    if (f[c_median].empty()) continue;  // a row that failed to run
    try {
      times.m_rows[measured_key(f[c_case], std::stoi(f[c_batch]), f[c_prec], f[c_mode], f[c_strategy])] =
          std::stod(f[c_median]) * 1e-3;
    } catch (const std::exception&) {
      throw core::InputError(core::Location(file.string(), number),
                             fmt::format("batch '{}' or median_ms '{}' is not a number", f[c_batch], f[c_median]));
    }
  }
  return times;
}

std::optional<double> MeasuredTimes::seconds(const std::string& case_name, int batch, const std::string& precision,
                                             const std::string& mode, const std::string& strategy) const {
  const auto it = m_rows.find(measured_key(case_name, batch, precision, mode, strategy));
  if (it == m_rows.end()) return std::nullopt;
  return it->second;
}

// ---------------------------------------------------------------------------------------------
// Running the cases
// ---------------------------------------------------------------------------------------------

namespace {

struct RdaSide {
  double seconds = 0, energy_j = 0;
  std::string bound, why;
  double reconfig_s = 0, load_s = 0, compute_s = 0, memory_s = 0, network_s = 0;
  // Sent back from the worker process that mapped and simulated it.
  static constexpr auto json_fields() {
    using core::field;
    using T = RdaSide;
    return std::tuple{field("seconds", &T::seconds),       field("energy_j", &T::energy_j),
                      field("bound", &T::bound),           field("why", &T::why),
                      field("reconfig_s", &T::reconfig_s), field("load_s", &T::load_s),
                      field("compute_s", &T::compute_s),   field("memory_s", &T::memory_s),
                      field("network_s", &T::network_s)};
  }
};

std::string pct(double part, double whole) { return fmt::format("{:.0f}%", whole > 0 ? 100.0 * part / whole : 0.0); }

/// What limits the RDA, read off the report: the slowest tenant's longest section and its bound,
/// the time spent reconfiguring and loading, and how much sharing the memory slowed tenants.
RdaSide rda_side(const sim::Report& report) {
  RdaSide side;
  side.seconds = report.seconds;
  side.energy_j = report.energy.total_j();
  const auto slowest = std::max_element(report.tenants.begin(), report.tenants.end(),
                                        [](const auto& a, const auto& b) { return a.cycles < b.cycles; });
  if (slowest == report.tenants.end() || slowest->sections.empty() || report.clock_hz <= 0) {
    side.bound = "none";
    side.why = "RDA: nothing ran";
    return side;
  }
  const double hz = report.clock_hz;
  std::map<mapper::Bound, double> by_bound;
  const sim::SectionResult* longest = nullptr;
  std::size_t longest_index = 0;
  for (std::size_t i = 0; i < slowest->sections.size(); ++i) {
    const auto& s = slowest->sections[i];
    side.reconfig_s += s.reconfig_cycles / hz;
    side.load_s += s.load_cycles / hz;
    by_bound[s.bound] += s.run_cycles / hz;
    if (longest == nullptr || s.cycles() > longest->cycles()) {
      longest = &s;
      longest_index = i;
    }
  }
  side.compute_s = by_bound[mapper::Bound::compute];
  side.memory_s = by_bound[mapper::Bound::memory];
  side.network_s = by_bound[mapper::Bound::network];
  const double total = slowest->cycles / hz;
  const double overhead = side.reconfig_s + side.load_s;
  side.bound = "compute";
  double most = side.compute_s;
  for (const auto& [bound, s] : std::map<std::string, double>{{"memory", side.memory_s}, {"network", side.network_s}}) {
    if (s > most) {
      most = s;
      side.bound = bound;
    }
  }
  if (overhead > most) side.bound = "reconfiguration";
  // One section that dominates is named; otherwise the bound that holds most of the time.
  std::string why =
      longest->cycles() >= 0.25 * slowest->cycles
          ? fmt::format("RDA: {}-bound in section {} of {} ({} of time)", to_string(longest->bound), longest_index + 1,
                        slowest->sections.size(), pct(longest->cycles(), slowest->cycles))
          : fmt::format("RDA: {}-bound sections hold {} of time ({} sections, none over {})", side.bound,
                        pct(side.bound == "reconfiguration" ? overhead : most, total), slowest->sections.size(),
                        pct(longest->cycles(), slowest->cycles));
  if (overhead > 0.05 * total) why += fmt::format("; reconfiguring and loading {}", pct(overhead, total));
  if (report.tenants.size() > 1) {
    double worst = 1;
    for (const auto& t : report.tenants) worst = std::max(worst, t.slowdown);
    why += fmt::format("; {} tenants share DRAM", report.tenants.size());
    if (worst > 1.05) why += fmt::format(", each up to {:.1f}x slower than alone", worst);
  }
  double busiest = 0;
  for (const auto& tier : report.memory) busiest = std::max(busiest, tier.utilization);
  if (side.bound == "memory" || busiest > 0.5) why += fmt::format("; DRAM busy {}", pct(busiest, 1.0));
  side.why = why;
  return side;
}

/// A point's RDA side and what it cost the host: the log's figures, not the CSV's (they vary
/// from run to run).
struct RdaRun {
  RdaSide side;
  double map_wall_s = 0;
  double sim_wall_s = 0;         ///< the simulation's own (sim::Report::wall_seconds)
  double cycles_per_host_s = 0;  ///< simulated cycles per second of it
};

/// Maps the workload's applications (each on its share of the fabric, as `rdasim map` does) and
/// simulates them with `jobs` worker processes: one application's distinct sections are placed
/// side by side (the mapper does so for one application only; the layouts do not depend on it),
/// several applications' alone runs are simulated side by side (nor do their times). One
/// application's sections are not simulated apart: they agree with one process only to rounding.
RdaRun run_rda(const workloads::Workload& w, const arch::Fabric& fabric, std::uint64_t seed, int jobs) {
  const std::vector<mapper::RegionRequest> regions(w.apps.size());
  RdaRun run;
  const auto start = std::chrono::steady_clock::now();
  const mapper::Mapping mapping = map_graphs(w.apps, regions, fabric, "o1", seed, jobs);
  run.map_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sim::SimOptions sim_options;
  sim_options.jobs = w.apps.size() == 1 ? 1 : jobs;
  const sim::Report report = sim::simulate(mapping, fabric, sim_options).report;
  run.sim_wall_s = report.wall_seconds;
  run.cycles_per_host_s = report.cycles_per_host_second();
  run.side = rda_side(report);
  return run;
}

struct GpuRun {
  std::string name;      ///< the row's gpu_run
  std::string mode;      ///< measured: eager | compile
  std::string strategy;  ///< measured: single | sequential | concurrent | batched
  gpu::Estimate estimate;
};

std::vector<GpuRun> gpu_runs(const CompareCase& c, const workloads::Workload& w, const arch::GpuSpec& spec,
                             gpu::Precision precision) {
  auto all_apps = [&](bool fuse, bool graph) {
    gpu::Estimate total;
    for (const auto& g : w.apps) total.append(gpu::estimate(g, spec, {precision, fuse, 1, graph}));
    return total;
  };
  // Each case also runs as CUDA graphs would (no host wait per kernel): the GPU's best case, so
  // that an RDA win that comes from the GPU waiting on kernel launches stands next to it.
  if (c.members > 0) {
    std::vector<gpu::Estimate> each;
    for (const auto& g : w.apps) each.push_back(gpu::estimate(g, spec, {precision, false, 1}));
    return {
        {"sequential", "eager", "sequential", all_apps(false, false)},
        {"concurrent", "eager", "concurrent", gpu::concurrent(each, spec)},
        {"batched", "eager", "batched", gpu::estimate(w.apps.front(), spec, {precision, false, c.members})},
        {"batched-graph", "graph", "batched", gpu::estimate(w.apps.front(), spec, {precision, true, c.members, true})}};
  }
  return {{"eager", "eager", "single", all_apps(false, false)},
          {"fused", "compile", "single", all_apps(true, false)},
          {"graph", "graph", "single", all_apps(true, true)}};
}

std::string gpu_bound(const gpu::Estimate& e) {
  if (e.wait_s >= 0.5 * e.seconds) return "launch";
  if (e.switch_s >= 0.3 * e.seconds) return "context-switch";
  return e.compute_s >= e.memory_s ? "compute" : "memory";
}

}  // namespace

std::vector<CompareRow> run_comparison(const arch::Fabric& fabric, const std::vector<arch::GpuSpec>& gpus,
                                       const CompareOptions& options) {
  std::vector<const CompareCase*> chosen;
  for (const auto& c : compare_cases()) {
    if (options.cases.empty() || std::find(options.cases.begin(), options.cases.end(), c.name) != options.cases.end()) {
      chosen.push_back(&c);
    }
  }
  std::vector<MeasuredTimes> measured;
  for (const auto& spec : gpus) measured.push_back(MeasuredTimes::load(options.measured_dir / (spec.id + ".csv")));
  const std::string precision = gpu::to_string(options.precision);

  // Every case and batch is a point: its workload built once, here, for the GPU model and for
  // the worker process that maps and simulates it (a fork: it inherits the graphs).
  struct Point {
    const CompareCase* c;
    int batch;
    workloads::Workload workload;
    double work = 0;  ///< ops x batch: which points start first (the longest), nothing else
  };
  std::vector<Point> points;
  for (const CompareCase* c : chosen) {
    for (int batch : options.batches.empty() ? c->batches : options.batches) {
      std::vector<std::string> params = c->params;
      params.push_back(fmt::format("batch={}", batch));
      Point p{c, batch, load_model_argument(c->workload, params)};
      for (const auto& app : p.workload.apps) p.work += static_cast<double>(app.ops().size()) * batch;
      points.push_back(std::move(p));
    }
  }
  std::vector<std::size_t> order(points.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return points[a].work > points[b].work; });
  // Points side by side, up to --jobs; a point alone on the machine gets the jobs for its own
  // placement and alone runs.
  const int jobs = std::max(options.jobs, 1);
  const int inner =
      std::max(1, jobs / static_cast<int>(std::clamp<std::size_t>(points.size(), 1, static_cast<std::size_t>(jobs))));
  const core::JsonReader reader("compare worker");
  const auto results = core::run_in_workers(
      order.size(), jobs,
      [&](std::size_t k) {
        const Point& p = points[order[k]];
        try {
          const RdaRun run = run_rda(p.workload, fabric, options.seed, inner);
          return core::Json{{"rda", core::to_json_value(run.side)},
                            {"map_wall_s", run.map_wall_s},
                            {"sim_wall_s", run.sim_wall_s},
                            {"cycles_per_host_s", run.cycles_per_host_s}};
        } catch (const mapper::Infeasible& e) {
          return core::Json{{"infeasible", e.what()}, {"reasons", e.reasons()}};
        }
      },
      [&](std::size_t k, const core::Json& answer) {
        if (!answer.contains("rda")) return;
        const Point& p = points[order[k]];
        core::log::info(
            "compare: {} at batch {}: RDA {:.4g} ms; mapped in {:.1f} s, simulated in {:.1f} s ({} simulated cycles/s)",
            p.c->name, p.batch, answer.at("rda").at("seconds").get<double>() * 1e3,
            answer.at("map_wall_s").get<double>(), answer.at("sim_wall_s").get<double>(),
            core::format_si(answer.at("cycles_per_host_s").get<double>(), "", 3));
      });
  std::vector<RdaSide> rda(points.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto& answer = results[k];
    if (answer.contains("infeasible")) {
      throw mapper::Infeasible(answer.at("infeasible").get<std::string>(),
                               answer.at("reasons").get<std::vector<std::string>>());
    }
    core::from_json_value(answer.at("rda"), rda[order[k]], reader, "rda");
  }

  std::vector<CompareRow> rows;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    for (std::size_t g = 0; g < gpus.size(); ++g) {
      for (GpuRun& run : gpu_runs(*p.c, p.workload, gpus[g], options.precision)) {
        CompareRow row;
        row.case_name = p.c->name;
        row.batch = p.batch;
        row.gpu = gpus[g].id;
        row.gpu_run = run.name;
        row.rda_s = rda[i].seconds;
        row.rda_j = rda[i].energy_j;
        row.rda_bound = rda[i].bound;
        row.rda_why = rda[i].why;
        row.rda_reconfig_s = rda[i].reconfig_s;
        row.rda_load_s = rda[i].load_s;
        row.rda_compute_s = rda[i].compute_s;
        row.rda_memory_s = rda[i].memory_s;
        row.rda_network_s = rda[i].network_s;
        const gpu::Estimate& e = run.estimate;
        row.gpu_model_s = e.seconds;
        row.gpu_measured_s = measured[g].seconds(p.c->name, p.batch, precision, run.mode, run.strategy);
        row.gpu_j = gpus[g].energy_j(row.gpu_s(), e.device_s);  // measured time where there is one
        row.gpu_bound = gpu_bound(e);
        row.gpu_why = e.verdict();
        row.gpu_wait_s = e.wait_s;
        row.gpu_compute_s = e.compute_s;
        row.gpu_memory_s = e.memory_s;
        row.gpu_switch_s = e.switch_s;
        row.gpu_launches = e.launches;
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

namespace {

std::string num(double v) { return fmt::format("{:.6g}", v); }

std::string time_text(double s) {
  if (s >= 1) return fmt::format("{:.3g} s", s);
  if (s >= 1e-3) return fmt::format("{:.3g} ms", s * 1e3);
  return fmt::format("{:.3g} us", s * 1e6);
}

std::string energy_text(double j) {
  if (j >= 1) return fmt::format("{:.3g} J", j);
  return fmt::format("{:.3g} mJ", j * 1e3);
}

}  // namespace

std::string compare_csv(const std::vector<CompareRow>& rows, const std::string& precision) {
  std::ostringstream out;
  out << "case,batch,precision,gpu,gpu_run,rda_s,rda_s_per_sample,rda_samples_per_s,rda_j_per_sample,rda_bound,"
         "gpu_model_s,gpu_measured_s,gpu_s,gpu_source,gpu_s_per_sample,gpu_samples_per_s,gpu_j_per_sample,gpu_bound,"
         "gpu_launches,speedup,model_error,rda_reconfig_s,rda_load_s,rda_compute_s,rda_memory_s,rda_network_s,"
         "gpu_launch_wait_s,gpu_compute_s,gpu_memory_s,gpu_switch_s,rda_why,gpu_why\n";
  for (const auto& r : rows) {
    const double b = r.batch;
    out << fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        r.case_name, r.batch, precision, r.gpu, r.gpu_run, num(r.rda_s), num(r.rda_s / b), num(b / r.rda_s),
        num(r.rda_j / b), r.rda_bound, num(r.gpu_model_s), r.gpu_measured_s ? num(*r.gpu_measured_s) : "",
        num(r.gpu_s()), r.gpu_measured_s ? "measured" : "model", num(r.gpu_s() / b), num(b / r.gpu_s()),
        num(r.gpu_j / b), r.gpu_bound, r.gpu_launches, num(r.speedup()),
        r.gpu_measured_s ? num(r.gpu_model_s / *r.gpu_measured_s - 1) : "", num(r.rda_reconfig_s), num(r.rda_load_s),
        num(r.rda_compute_s), num(r.rda_memory_s), num(r.rda_network_s), num(r.gpu_wait_s), num(r.gpu_compute_s),
        num(r.gpu_memory_s), num(r.gpu_switch_s), core::csv_field(r.rda_why), core::csv_field(r.gpu_why));
  }
  return out.str();
}

std::string compare_markdown(const std::vector<CompareRow>& rows, const arch::Fabric& fabric,
                             const std::vector<arch::GpuSpec>& gpus, const std::string& precision,
                             const std::string& command) {
  std::ostringstream md;
  md << fmt::format("# {} vs GPUs ({})\n\n", fabric.spec().name(), precision);
  md << "Made by:\n\n```\n" << command << "\n```\n\n";
  md << "Time and energy are per sample (an image, a spectrum, a sequence; for ensembles and gp-dcrnn, one sample "
        "through every member or part). Speedup is GPU time over RDA time: above 1 the RDA is faster. GPU times are "
        "measured (tools/gpu/measure.py) where a row says so, else the model's (sim/gpu). GPU runs: eager (PyTorch, "
        "kernel by kernel), fused (torch.compile), graph (fused kernels launched as one CUDA graph: no kernel waits on "
        "the host, the GPU's best case; modelled only), and for ensembles sequential, concurrent, batched and "
        "batched-graph. RDA times are the SystemC simulation of the mapping.\n\n";
  for (const auto& spec : gpus) {
    md << fmt::format("## {} vs {}\n\n", fabric.spec().name(), spec.name);
    md << "| case | batch | GPU run | RDA time | GPU time | speedup | RDA energy | GPU energy | what limits the RDA | "
          "what limits the GPU |\n|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
      if (r.gpu != spec.id) continue;
      const double b = r.batch;
      md << fmt::format("| {} | {} | {} | {} | {}{} | {:.2f}x | {} | {} | {} | {} |\n", r.case_name, r.batch, r.gpu_run,
                        time_text(r.rda_s / b), time_text(r.gpu_s() / b), r.gpu_measured_s ? " (measured)" : "",
                        r.speedup(), energy_text(r.rda_j / b), energy_text(r.gpu_j / b), r.rda_why, r.gpu_why);
    }
    md << "\n";
  }
  std::vector<double> errors;
  std::ostringstream err;
  for (const auto& r : rows) {
    if (!r.gpu_measured_s) continue;
    const double e = r.gpu_model_s / *r.gpu_measured_s - 1;
    errors.push_back(std::abs(e));
    err << fmt::format("| {} | {} | {} | {} | {} | {} | {:+.0f}% |\n", r.gpu, r.case_name, r.batch, r.gpu_run,
                       time_text(r.gpu_model_s), time_text(*r.gpu_measured_s), 100 * e);
  }
  if (!errors.empty()) {
    std::sort(errors.begin(), errors.end());
    const std::size_t n = errors.size();
    const double median = n % 2 ? errors[n / 2] : 0.5 * (errors[n / 2 - 1] + errors[n / 2]);
    md << fmt::format(
        "## The GPU model against measurements\n\nMedian absolute error {:.0f}% over {} rows "
        "(largest {:.0f}%).\n\n",
        100 * median, n, 100 * errors.back());
    md << "| GPU | case | batch | run | model | measured | error |\n|---|---|---|---|---|---|---|\n"
       << err.str() << "\n";
  }
  md << "## Plots\n\n![speedup vs batch](speedup.png)\n\n![time breakdown](breakdown.png)\n";
  return md.str();
}

}  // namespace rdasim::tools
