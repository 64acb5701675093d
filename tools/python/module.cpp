// The Python module `rdasim` (pybind11): the CLI's pipeline for notebooks. Loading fabrics and
// models, mapping, simulating (in a forked worker, as SystemC elaborates once per process), the
// functional reference on numpy arrays, the GPU model and sweeps. Every call goes through the
// same functions as the `rdasim` program, so results are the same; errors become Python
// exceptions with the CLI's messages.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "arch/fabric.h"
#include "arch/summary.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/version.h"
#include "graphs/export.h"
#include "mapper/infeasible.h"
#include "mapper/mapping.h"
#include "mapper/report.h"
#include "sim/cycle/simulate.h"
#include "sim/functional/executor.h"
#include "sim/gpu/model.h"
#include "tools/pipeline/map_inputs.h"
#include "tools/pipeline/models.h"
#include "tools/pipeline/serving.h"
#include "tools/sweep/results.h"
#include "tools/sweep/runner.h"
#include "tools/sweep/spec.h"

namespace py = pybind11;

namespace rdasim::python {

namespace {

/// JSON to Python objects, through the json module (exact for every value the reports hold).
py::object to_python(const core::Json& json) { return py::module_::import("json").attr("loads")(json.dump()); }

/// Python keyword values ("-p" parameters, overrides) as the text the CLI would get.
std::string as_text(const py::handle& value) {
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>() ? "true" : "false";
  return py::str(value).cast<std::string>();
}

struct Arch {
  std::shared_ptr<const arch::Fabric> fabric;
  std::string path;
  std::vector<std::string> overrides;

  static Arch load(const std::string& path, const py::object& overrides) {
    Arch a;
    a.path = path;
    if (py::isinstance<py::dict>(overrides)) {
      for (const auto& [k, v] : overrides.cast<py::dict>()) a.overrides.push_back(as_text(k) + "=" + as_text(v));
    } else if (!overrides.is_none()) {
      for (const auto& item : overrides) a.overrides.push_back(as_text(item));
    }
    tools::MapInputs in;
    in.arch = path;
    in.sets = a.overrides;
    a.fabric = std::make_shared<const arch::Fabric>(tools::load_fabric(in));
    return a;
  }
};

struct Graph {
  std::shared_ptr<const graphs::Graph> graph;
  std::string source;
};

struct Mapping {
  mapper::Mapping mapping;
  std::shared_ptr<const arch::Fabric> fabric;
};

std::vector<std::string> params_of(const py::kwargs& params) {
  std::vector<std::string> out;
  for (const auto& [k, v] : params) out.push_back(as_text(k) + "=" + as_text(v));
  return out;
}

workloads::Workload load_workload(const std::string& model, const py::kwargs& params) {
  return tools::load_model_argument(model, params_of(params));
}

std::vector<Graph> wrap(workloads::Workload w, const std::string& model) {
  std::vector<Graph> out;
  for (auto& g : w.apps) out.push_back({std::make_shared<const graphs::Graph>(std::move(g)), model});
  return out;
}

py::dict graph_summary(const Graph& g) {
  const auto t = graphs::totals(*g.graph);
  py::dict d;
  d["name"] = g.graph->name();
  d["ops"] = t.ops;
  d["params"] = t.params;
  d["param_bytes"] = t.param_bytes;
  d["flops"] = t.flops;
  d["bytes_read"] = t.bytes_read;
  d["bytes_written"] = t.bytes_written;
  d["input_bytes"] = t.input_bytes;
  d["output_bytes"] = t.output_bytes;
  return d;
}

Mapping map(const py::object& graphs_arg, const Arch& arch, const std::string& mode, std::uint64_t seed,
            int tiles_per_app, int rows_per_app) {
  std::vector<graphs::Graph> apps;
  if (py::isinstance<Graph>(graphs_arg)) {
    apps.push_back(*graphs_arg.cast<const Graph&>().graph);
  } else {
    for (const auto& item : graphs_arg) apps.push_back(*item.cast<const Graph&>().graph);
  }
  if (apps.empty()) throw core::InputError("map: expected a Graph or a non-empty list of Graphs");
  if (mode != "o0" && mode != "o1") throw core::InputError(fmt::format("map: mode '{}': expected 'o0' or 'o1'", mode));
  const std::vector<mapper::RegionRequest> regions(apps.size(), mapper::RegionRequest{tiles_per_app, rows_per_app});
  return {tools::map_graphs(std::move(apps), regions, *arch.fabric, mode, seed), arch.fabric};
}

py::object simulate(const Mapping& m, const Arch& arch, int chunk, int min_tokens, int max_tokens, bool alone) {
  if (const auto problems = mapper::check(m.mapping, *arch.fabric); !problems.empty()) {
    throw core::InputError(fmt::format("the mapping does not fit {}: {}", arch.path, problems.front()));
  }
  sim::SimOptions options;
  options.tokens.chunk = chunk;
  options.tokens.min_tokens = min_tokens;
  options.tokens.max_tokens = max_tokens;
  options.alone = alone;
  const auto result = sim::simulate(m.mapping, *arch.fabric, options);  // a forked worker
  return to_python(sim::to_json(result.report));
}

py::dict reference(const Graph& g, const py::dict& inputs, const std::string& precision, std::uint64_t seed) {
  const auto p = sim::functional::parse_precision(precision);
  if (!p) throw core::InputError(fmt::format("reference: precision '{}': expected fp64, fp32 or bf16", precision));
  sim::functional::Values values;
  for (const auto& [k, v] : inputs) {
    const auto array = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(v);
    if (!array) throw core::InputError(fmt::format("reference: input '{}': expected a numeric array", as_text(k)));
    graphs::Array<double> a;
    for (py::ssize_t d = 0; d < array.ndim(); ++d) a.shape.push_back(array.shape(d));
    a.data.assign(array.data(), array.data() + array.size());
    values[as_text(k)] = std::move(a);
  }
  sim::functional::RunOptions options;
  options.precision = *p;
  options.seed = seed;
  const auto outputs = sim::functional::run(*g.graph, values, options);
  py::dict out;
  for (const auto& [name, a] : outputs) {
    py::array_t<double> array(std::vector<py::ssize_t>(a.shape.begin(), a.shape.end()));
    std::copy(a.data.begin(), a.data.end(), array.mutable_data());
    out[py::str(name)] = array;
  }
  return out;
}

py::object gpu_estimate(const py::object& graphs_arg, const std::string& gpu_path, const std::string& precision,
                        bool fuse, int members, bool concurrent, bool kernels) {
  const auto spec = arch::GpuSpec::load_file(gpu_path);
  gpu::Options options;
  if (precision != "bf16" && precision != "fp32") {
    throw core::InputError(fmt::format("gpu_estimate: precision '{}': expected bf16 or fp32", precision));
  }
  options.precision = precision == "fp32" ? gpu::Precision::fp32 : gpu::Precision::bf16;
  options.fuse = fuse;
  options.members = members;
  std::vector<gpu::Estimate> apps;
  if (py::isinstance<Graph>(graphs_arg)) {
    apps.push_back(gpu::estimate(*graphs_arg.cast<const Graph&>().graph, spec, options));
  } else {
    for (const auto& item : graphs_arg) apps.push_back(gpu::estimate(*item.cast<const Graph&>().graph, spec, options));
  }
  if (apps.empty()) throw core::InputError("gpu_estimate: expected a Graph or a non-empty list of Graphs");
  gpu::Estimate total;
  if (concurrent) {
    total = gpu::concurrent(apps, spec);
  } else {
    for (const auto& e : apps) total.append(e);  // one after another, as `rdasim gpu` without --concurrent
  }
  return to_python(total.to_json(kernels));
}

py::object serve_llm(const std::vector<std::string>& models, const std::string& system, std::optional<int> devices,
                     std::optional<int> tp, int pp, const std::string& framework, std::optional<int> batch,
                     std::int64_t input_len, std::int64_t output_len, const std::string& requests,
                     std::optional<double> rate, int num_requests, std::uint64_t seed,
                     std::pair<std::int64_t, std::int64_t> input_range,
                     std::pair<std::int64_t, std::int64_t> output_range, std::optional<int> max_batch,
                     int chunked_prefill, double slo_ttft, double slo_tpot, bool analytic, int jobs,
                     const std::vector<std::string>& vs, bool records) {
  tools::ServeInputs in;
  in.models = models;
  in.system = system;
  in.devices = devices;
  in.tp = tp;
  in.pp = pp;
  in.framework = framework;
  in.batch = batch;
  in.input_len = input_len;
  in.output_len = output_len;
  in.requests = requests;
  in.rate = rate;
  in.num_requests = num_requests;
  in.seed = seed;
  in.input_range = {input_range.first, input_range.second};
  in.output_range = {output_range.first, output_range.second};
  in.max_batch = max_batch;
  in.chunked_prefill = chunked_prefill;
  in.slo_ttft = slo_ttft;
  in.slo_tpot = slo_tpot;
  in.analytic = analytic;
  in.jobs = jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  in.vs = vs;
  if (!batch && requests.empty() && !rate) {
    throw core::InputError("serve: give batch (with input_len and output_len), requests or rate");
  }
  tools::ServeOutcome outcome;
  {
    py::gil_scoped_release release;  // steps simulate for seconds to minutes
    outcome = tools::run_serving(in);
  }
  if (!records) outcome.report.erase("request_records");
  return to_python(outcome.report);
}

/// A CSV cell as Python: a number where it reads as one, None where empty, else the text.
py::object cell(const std::string& text) {
  if (text.empty()) return py::none();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end && *end == '\0') return py::float_(v);
  return py::str(text);
}

py::object sweep(const std::string& spec_path, const std::string& out, int jobs, bool fast, bool progress) {
  const auto spec = tools::sweep::Spec::load(spec_path);
  tools::sweep::RunOptions run;
  run.out = out.empty() ? std::filesystem::path("results/sweeps") / spec.name : std::filesystem::path(out);
  run.jobs = jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  run.fast = fast;
  run.progress = progress ? tools::sweep::ProgressStyle::lines : tools::sweep::ProgressStyle::none;
  std::filesystem::create_directories(run.out);
  {
    py::gil_scoped_release release;  // the workers run for minutes: let other Python threads go on
    (void)tools::sweep::run(spec, run);
  }
  // This spec's rows only (the folder may hold others), in point order.
  const auto table = tools::sweep::read_results(run.out / "results.csv");
  std::map<std::string, const std::vector<std::string>*> by_key;
  for (const auto& row : table.rows) by_key[row.front()] = &row;
  py::list rows;
  for (const auto& p : tools::sweep::expand(spec, fast)) {
    const auto it = by_key.find(p.key);
    if (it == by_key.end()) continue;
    py::dict d;
    for (std::size_t c = 0; c < table.header.size(); ++c) {
      const auto& name = table.header[c];
      const auto& text = (*it->second)[c];
      // Identity columns stay text (keys are hex digits; axis values as written).
      d[py::str(name)] = (c == 0 || name == "workload" || name == "method" || name == "status" || name == "error")
                             ? py::object(py::str(text))
                             : cell(text);
    }
    rows.append(d);
  }
  try {
    return py::module_::import("pandas").attr("DataFrame")(rows);
  } catch (const py::error_already_set&) {
    return rows;  // no pandas: a list of dicts
  }
}

}  // namespace

}  // namespace rdasim::python

PYBIND11_MODULE(rdasim, m) {
  using namespace rdasim;
  using namespace rdasim::python;
  m.doc() = R"(rdasim: a mapper and cycle-approximate simulator for reconfigurable-dataflow accelerators.

The same pipeline as the `rdasim` program, for notebooks:

    import rdasim
    arch = rdasim.Arch.load("sn10", {"pcu.lanes": 16})   # a preset by name, or a file
    g = rdasim.Graph.load("inversion", batch=16)        # a workload, or an ONNX/YAML file
    m = rdasim.map(g, arch)                              # a Mapping; m in a notebook draws it
    report = rdasim.simulate(m, arch)                    # the report as a dict (rdasim sim --json)
    outs = rdasim.reference(g, {"tau_e": x}, "fp64")     # numpy arrays
    gpu = rdasim.gpu_estimate(g, "configs/gpu/h100.yaml")
    df = rdasim.sweep("configs/sweeps/example.yaml")     # a pandas DataFrame

Errors in the inputs raise rdasim.InputError (a ValueError) with the CLI's message; a model
the fabric cannot hold raises rdasim.Infeasible.)";
  // The commit it was built from: "0.1.0+g<commit>" (core::version).
  m.attr("__version__") = std::string(core::version());

  static py::exception<core::InputError> input_error(m, "InputError", PyExc_ValueError);
  static py::exception<mapper::Infeasible> infeasible(m, "Infeasible", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const core::InputError& e) {
      PyErr_SetString(input_error.ptr(), e.what());
    } catch (const mapper::Infeasible& e) {
      std::string message = e.what();
      for (const auto& r : e.reasons()) message += "\n  " + r;
      PyErr_SetString(infeasible.ptr(), message.c_str());
    } catch (const core::InternalError& e) {
      PyErr_SetString(PyExc_RuntimeError, fmt::format("internal error: {}", e.what()).c_str());
    }
  });
  core::log::set_level(core::log::Level::warn);  // notebooks show stderr; the info log is for the CLI

  py::class_<Arch>(m, "Arch", "A fabric: an arch YAML (configs/arch/*.yaml) with overrides applied.")
      .def_static("load", &Arch::load, py::arg("path"), py::arg("overrides") = py::none(),
                  R"(Loads a fabric description.

path: an arch YAML file (configs/arch/sn10.yaml, ...) or a preset's name ("sn10", "sn40l", ...),
found in the data folder installed with the module.
overrides: a dict {"pcu.lanes": 16, "memory.tiers.0.bandwidth_gbps": 200} or a list of
"key=value" strings, as `--set` takes them.
Raises InputError (file:line: key: what was expected) for a bad file or override.)")
      .def_property_readonly(
          "name", [](const Arch& a) { return a.fabric->spec().name(); }, "The fabric's name")
      .def_readonly("path", &Arch::path, "The YAML file it was loaded from")
      .def_readonly("overrides", &Arch::overrides, "The overrides applied, as key=value")
      .def(
          "summary", [](const Arch& a) { return to_python(arch::to_json(arch::summarize(*a.fabric))); },
          "Derived figures as a dict, as `rdasim arch show --json` prints them: units, peak FLOP/s, SRAM, "
          "off-chip bandwidth, machine balance, area, power")
      .def("__repr__", [](const Arch& a) {
        return fmt::format("<rdasim.Arch {} from {}{}>", a.fabric->spec().name(), a.path,
                           a.overrides.empty() ? "" : fmt::format(" with {} override(s)", a.overrides.size()));
      });

  py::class_<Graph>(m, "Graph", "A dataflow graph: ops and tensors with shapes and costs.")
      .def_static(
          "load",
          [](const std::string& model, const py::kwargs& params) {
            return Graph{
                std::make_shared<const graphs::Graph>(tools::single_graph(load_workload(model, params), model)), model};
          },
          py::arg("model"),
          R"(Loads one graph: a built-in workload's name (`rdasim workloads` lists them and their
parameters) or an ONNX/YAML model file; keyword arguments are the workload's parameters or
the model's symbolic dimensions, as `-p name=value`:

    Graph.load("dcrnn", batch=16, sensors=207)
    Graph.load("model.onnx", batch=4)

A workload of several applications (ensembles, gp-dcrnn) raises InputError: use Graph.load_all.)")
      .def_static(
          "load_all",
          [](const std::string& model, const py::kwargs& params) { return wrap(load_workload(model, params), model); },
          py::arg("model"),
          "Every application of a workload (an ensemble's members, gp-dcrnn's parts) as a list of Graphs; "
          "parameters as for Graph.load")
      .def_property_readonly(
          "name", [](const Graph& g) { return g.graph->name(); }, "The graph's name")
      .def_property_readonly(
          "ops", [](const Graph& g) { return to_python(graphs::to_json(*g.graph).at("ops")); },
          "The ops as a list of dicts (name, kind, inputs, outputs, attributes, FLOPs, bytes), as `rdasim graph "
          "--json` lists them")
      .def_property_readonly(
          "tensors", [](const Graph& g) { return to_python(graphs::to_json(*g.graph).at("tensors")); },
          "The tensors as a list of dicts (name, shape, dtype, role)")
      .def("summary", &graph_summary, "Totals as a dict: ops, params, FLOPs, bytes read and written per run")
      .def(
          "to_json", [](const Graph& g) { return core::to_json_text(graphs::to_json(*g.graph)); },
          "The graph as JSON text, as `rdasim graph --json` prints it")
      .def("__repr__", [](const Graph& g) {
        const auto t = graphs::totals(*g.graph);
        return fmt::format("<rdasim.Graph {}: {} ops, {} params, {:.4g} GFLOP per run>", g.graph->name(), t.ops,
                           t.params, t.flops / 1e9);
      });

  py::class_<Mapping>(m, "Mapping", "Where every op went: sections, units, routes and analytic times.")
      .def(
          "to_json", [](const Mapping& mp) { return core::to_json_text(mapper::to_json(mp.mapping)); },
          "mapping.json's text, as `rdasim map --out` writes it (rdasim sim reads it back)")
      .def(
          "placement_svg", [](const Mapping& mp) { return mapper::placement_svg(mp.mapping, *mp.fabric); },
          "placement.svg: one panel per section step, every unit coloured by its op")
      .def(
          "placement_text", [](const Mapping& mp) { return mapper::placement_text(mp.mapping, *mp.fabric); },
          "The placement report `rdasim map` prints")
      .def("_repr_svg_", [](const Mapping& mp) { return mapper::placement_svg(mp.mapping, *mp.fabric); })
      .def_property_readonly(
          "analytic_seconds",
          [](const Mapping& mp) {
            return mapper::analytic_cycles(mp.mapping, mp.fabric->spec()) / arch::summarize(*mp.fabric).clock_hz;
          },
          "The mapper's estimate of the run's time, in seconds")
      .def_property_readonly(
          "sections",
          [](const Mapping& mp) {
            std::size_t n = 0;
            for (const auto& t : mp.mapping.tenants) n += t.sections.size();
            return n;
          },
          "Sections over all tenants")
      .def("__repr__", [](const Mapping& mp) {
        std::size_t sections = 0;
        for (const auto& t : mp.mapping.tenants) sections += t.sections.size();
        return fmt::format("<rdasim.Mapping on {}: {} tenant(s), {} section(s)>", mp.mapping.arch,
                           mp.mapping.tenants.size(), sections);
      });

  m.def("map", &map, py::arg("graphs"), py::arg("arch"), py::arg("mode") = "o1", py::arg("seed") = 1,
        py::arg("tiles_per_app") = 0, py::arg("rows_per_app") = 0,
        R"(Maps a Graph, or a list of Graphs as concurrent isolated tenants, onto a fabric, as `rdasim map`.

mode: "o1" fuses ops into sections, "o0" one op per section. seed: METIS and placement's annealing.
tiles_per_app / rows_per_app: each tenant's region (0: the fabric shared out evenly).
Raises Infeasible (with one reason per op or tenant) when the fabric cannot hold them.)");
  m.def("simulate", &simulate, py::arg("mapping"), py::arg("arch"), py::arg("chunk") = sim::TokenOptions{}.chunk,
        py::arg("min_tokens") = sim::TokenOptions{}.min_tokens, py::arg("max_tokens") = sim::TokenOptions{}.max_tokens,
        py::arg("alone") = true,
        R"(Runs a mapping on the SystemC model of its fabric, in a forked worker process, and returns
report.json as a dict (as `rdasim sim --json`): cycles and seconds per tenant and section, unit
busy/stall fractions, link and memory traffic, energy. chunk: vectors per token (smaller is more
exact and slower), at least min_tokens and at most max_tokens per section. alone: with several tenants also run each alone, for its slowdown.)");
  m.def("reference", &reference, py::arg("graph"), py::arg("inputs"), py::arg("precision") = "fp64",
        py::arg("seed") = 1,
        R"(Runs the functional reference: inputs {name: numpy array} (every graph input, in its shape),
precision "fp64" (ground truth), "fp32" or "bf16" (as the PCUs compute: bf16 storage, fp32
arithmetic). Params without values are drawn from `seed` as `rdasim check` draws them.
Returns {output name: numpy array of float64}.)");
  m.def("gpu_estimate", &gpu_estimate, py::arg("graphs"), py::arg("gpu"), py::arg("precision") = "bf16",
        py::arg("fuse") = false, py::arg("members") = 1, py::arg("concurrent") = false, py::arg("kernels") = false,
        R"(The GPU model's estimate for a Graph or a list of them, as the "estimate" of `rdasim gpu --json`:
seconds, device/host/compute/memory time, launches, energy. gpu: a spec (configs/gpu/*.yaml).
fuse: element-wise chains fused (torch.compile). members: ensemble members batched into one model.
concurrent: a list runs as processes sharing the GPU (else one after another). kernels: include
every kernel.)");
  m.def("serve", &serve_llm, py::arg("models"), py::arg("system"), py::arg("devices") = py::none(),
        py::arg("tp") = py::none(), py::arg("pp") = 1, py::arg("framework") = "", py::arg("batch") = py::none(),
        py::arg("input_len") = 0, py::arg("output_len") = 0, py::arg("requests") = "", py::arg("rate") = py::none(),
        py::arg("num_requests") = 100, py::arg("seed") = 1,
        py::arg("input_range") = std::pair<std::int64_t, std::int64_t>{128, 1024},
        py::arg("output_range") = std::pair<std::int64_t, std::int64_t>{128, 1024}, py::arg("max_batch") = py::none(),
        py::arg("chunked_prefill") = 0, py::arg("slo_ttft") = 0.0, py::arg("slo_tpot") = 0.0,
        py::arg("analytic") = false, py::arg("jobs") = 0, py::arg("vs") = std::vector<std::string>{},
        py::arg("records") = false,
        R"(Serves LLMs on a system as `rdasim serve` does and returns its report.json as a dict:
latency_s, ttft_s, itl_s (mean, p50, p99), output_tok_s, throughput_tok_s, energy_per_token_j,
time (prefill, decode, collectives, launch, switching, overheads), bounds, memory; records: one
dict per request too. models: a list of shipped names or config.json paths (several: model
switching). system: configs/systems/*.yaml. framework: a name or file ("" the system's). Give
batch with input_len and output_len (a static batch), requests (a CSV file), or rate (Poisson,
num_requests, seed, input_range and output_range as (lo, hi)). analytic: RDA steps from the
mapper's analytic model. vs: systems of GPUs to compare model switching with. Raises
InputError for bad input, RuntimeError when the model or batch does not fit device memory.)");
  m.def("sweep", &sweep, py::arg("spec"), py::arg("out") = "", py::arg("jobs") = 0, py::arg("fast") = false,
        py::arg("progress") = false,
        R"(Runs a sweep spec (configs/sweeps/README.md) as `rdasim sweep` does, into out/results.csv
(default results/sweeps/<name>; finished points are not run again), and returns this spec's rows:
a pandas DataFrame when pandas is installed, else a list of dicts. jobs: worker processes
(0: one per core). fast: the mapper's analytic estimate instead of the simulator. progress: a
line per point on stderr.)");
}
