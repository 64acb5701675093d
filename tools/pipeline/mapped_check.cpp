// The numerics of a mapping: see tools/pipeline/mapped_check.h.
#include "tools/pipeline/mapped_check.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "arch/collective.h"
#include "core/error.h"
#include "graphs/import/model.h"
#include "graphs/import/onnx_import.h"
#include "graphs/op_registry.h"
#include "graphs/transforms.h"
#include "sim/functional/check.h"
#include "sim/functional/mapped.h"
#include "tools/pipeline/map_inputs.h"
#include "workloads/inputs.h"
#include "workloads/workload.h"

namespace rdasim::tools {

namespace functional = sim::functional;
using graphs::Array;

double MappedCheck::largest_error() const {
  double worst = 0;
  for (const auto& o : outputs) worst = std::max(worst, o.mapped);
  return worst;
}

core::Json MappedCheck::to_json() const {
  core::Json outs = core::Json::array();
  for (const auto& o : outputs) {
    outs.push_back({{"name", o.name}, {"shape", o.shape}, {"mapped_error", o.mapped}, {"unmapped_error", o.unmapped}});
  }
  return {{"model", model},
          {"target", target},
          {"layout", layout},
          {"precision", std::string(functional::to_string(precision))},
          {"tolerance", tolerance},
          {"split_ops", split_ops},
          {"all_reduces", all_reduces},
          {"unsplit_ops", unsplit_ops},
          {"largest_error", largest_error()},
          {"passed", passed()},
          {"outputs", outs}};
}

functional::Values check_inputs(const std::string& model, const graphs::Graph& graph, std::uint64_t seed) {
  if (workloads::find(model) != nullptr) return workloads::generate_inputs(graph, seed);
  const std::filesystem::path data = std::filesystem::path(model).parent_path() / "test_data_set_0";
  if (!std::filesystem::is_directory(data)) {
    throw core::InputError(core::Location(model),
                           "checking a mapping needs inputs: a built-in workload, or a model with test_data_set_0/");
  }
  functional::Values values;
  // Test data feeds the runtime inputs in order: an ONNX model's as the file lists them, a YAML
  // graph's as it declares them.
  std::vector<std::string> names;
  if (std::filesystem::path(model).extension() == ".onnx") {
    names = graphs::onnx_input_names(model);
  } else {
    for (const auto id : graph.tensors_with(graphs::Role::input)) names.push_back(graph.tensor(id).name);
  }
  for (std::size_t k = 0; k < names.size(); ++k) {
    const graphs::Tensor t = graphs::load_onnx_tensor(data / fmt::format("input_{}.pb", k));
    Array<double> a(t.shape);
    a.data = t.values.value_or(std::vector<double>(a.size(), 0.0));
    values.emplace(names[k], std::move(a));
  }
  return values;
}

namespace {

double error_of(const Array<double>& got, const Array<double>& expected) {
  return functional::compare(got, expected, 1.0).max_rel;
}

functional::Precision precision_of(const arch::Spec& spec) {
  return spec.pcu().precision == arch::Precision::bf16_fp32acc ? functional::Precision::bf16
                                                               : functional::Precision::fp32;
}

/// Runs the unmapped graph (fp64 and the fabric's precision) and the mapped one, and adds an
/// error row per output; `parts` maps an unmapped output to the mapped graph's tensors holding
/// rows of it (one, the same name, on a chip).
void compare_runs(const graphs::Graph& graph, const functional::Values& inputs, const functional::MappedGraph& mapped,
                  const functional::Values& mapped_inputs,
                  const std::map<std::string, std::vector<graphs::BatchPart>, std::less<>>& parts, MappedCheck& check) {
  functional::RunOptions exact;
  exact.precision = functional::Precision::fp64;
  functional::RunOptions low;
  low.precision = check.precision;
  const auto reference = functional::run(graph, inputs, exact);
  const auto unmapped = functional::run(graph, inputs, low);
  low.fp32_tensors = mapped.fp32_tensors;
  const auto got = functional::run(mapped.graph, mapped_inputs, low);
  for (const auto& [name, expected] : reference) {
    MappedOutputError row;
    row.name = name;
    row.shape = expected.shape;
    row.unmapped = error_of(unmapped.at(name), expected);
    const auto p = parts.find(name);
    if (p == parts.end()) {
      row.mapped = error_of(got.at(name), expected);
    } else {
      for (const auto& part : p->second) {
        row.mapped = std::max(row.mapped, error_of(got.at(part.tensor), graphs::part_of(expected, part)));
      }
    }
    check.outputs.push_back(std::move(row));
  }
  check.split_ops += mapped.split_ops;
  check.unsplit_ops.insert(check.unsplit_ops.end(), mapped.unsplit_ops.begin(), mapped.unsplit_ops.end());
}

}  // namespace

MappedCheck check_on_chip(const workloads::Workload& workload, const std::string& model, const arch::Fabric& fabric,
                          const std::string& mode, std::uint64_t seed, double tolerance) {
  MappedCheck check;
  check.model = model;
  check.target = fabric.spec().name();
  check.layout = "chip";
  check.precision = precision_of(fabric.spec());
  check.tolerance = tolerance;
  // The mapper places primitives: the graphs it maps are the ones whose ops the mapping names.
  std::vector<graphs::Graph> apps;
  for (const auto& app : workload.apps) apps.push_back(graphs::expand_recurrent(app));
  const mapper::Mapping mapping = map_graphs(apps, {}, fabric, mode, seed);
  functional::MappedNumerics numerics;
  functional::add_reduction_splits(mapping, numerics);
  for (const auto& app : apps) {
    const auto inputs = check_inputs(model, app, seed);
    compare_runs(app, inputs, functional::as_mapped(app, numerics), inputs, {}, check);
  }
  return check;
}

MappedCheck check_on_system(const workloads::Workload& workload, const std::string& model,
                            const arch::SystemSpec& system, const SystemRunOptions& options, const Rebatch& rebatch,
                            std::uint64_t seed, double tolerance) {
  if (system.is_gpu()) {
    throw core::InputError(
        core::Location(system.source),
        fmt::format("system '{}' holds GPUs; a mapping's numerics are checked on RDAs", system.name));
  }
  if (options.micro_batches > 1)
    throw core::InputError("a mapping's numerics are checked on one pass: no --micro-batches");
  SystemRunOptions run_options = options;
  run_options.reuse_identical = false;  // every segment's own mapping, with its own op names
  // The graphs the system runs are the expanded ones: recurrences unrolled before sharding.
  // Params get their values first: a shard's cut and renamed params carry their slice of them.
  workloads::Workload expanded = workload;
  for (auto& app : expanded.apps) {
    app = graphs::expand_recurrent(app);
    functional::fill_params(app, seed);
  }
  Rebatch expanded_rebatch = rebatch;
  if (rebatch.build) {
    expanded_rebatch.build = [build = rebatch.build, seed](std::int64_t batch) {
      auto w = build(batch);
      for (auto& app : w.apps) {
        app = graphs::expand_recurrent(app);
        functional::fill_params(app, seed);
      }
      return w;
    };
  }
  const SystemWork work = prepare_system_work(expanded, system, run_options, expanded_rebatch);
  const SystemRun run = run_work_on_system(work, system, run_options);

  MappedCheck check;
  check.model = model;
  check.target = system.name;
  check.layout = work.layout;
  check.precision = precision_of(*system.fabric);
  check.tolerance = tolerance;
  functional::MappedNumerics numerics;
  for (const auto& segment : run.segments) functional::add_reduction_splits(*segment.mapping, numerics);
  if (work.layout == "spread") {
    for (const auto& apps : work.spread) {
      for (const auto& app : apps) {
        const auto inputs = check_inputs(model, app, seed);
        compare_runs(app, inputs, functional::as_mapped(app, numerics), inputs, {}, check);
      }
    }
    return check;
  }
  const graphs::Graph& sharded = work.sharded->graph;
  numerics.bf16_links = check.precision == functional::Precision::bf16;
  const double element_bytes = numerics.bf16_links ? 2.0 : 4.0;
  for (graphs::OpId id = 0; id < static_cast<graphs::OpId>(sharded.ops().size()); ++id) {
    if (graphs::op_traits(sharded, id).link != graphs::LinkKind::all_reduce) continue;
    const graphs::Op& op = sharded.op(id);
    const double bytes = static_cast<double>(sharded.tensor(op.inputs.at(0)).elements()) * element_bytes;
    const auto plan =
        arch::plan_collective(system, arch::Collective::all_reduce, bytes, static_cast<int>(op.inputs.size()));
    numerics.all_reduce_algorithms[op.name] = plan.algorithm == arch::CollectiveAlgorithm::ring ? "ring" : "direct";
    ++check.all_reduces;
  }
  const graphs::Graph& whole = expanded.apps.front();
  const auto inputs = check_inputs(model, whole, seed);
  functional::Values sharded_inputs;
  for (const auto& [name, parts] : work.sharded->inputs) {
    for (const auto& part : parts) sharded_inputs[part.tensor] = graphs::part_of(inputs.at(name), part);
  }
  compare_runs(whole, inputs, functional::as_mapped(sharded, numerics), sharded_inputs, work.sharded->outputs, check);
  return check;
}

}  // namespace rdasim::tools
