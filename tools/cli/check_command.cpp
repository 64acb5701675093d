// `rdasim check MODEL`: run the functional reference on a model's test data (ONNX's layout)
// and report the error of every output against the expected values.
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "arch/system.h"
#include "core/error.h"
#include "core/json.h"
#include "core/text.h"
#include "graphs/import/onnx_import.h"
#include "graphs/transforms.h"
#include "sim/functional/check.h"
#include "tools/cli/commands.h"
#include "tools/pipeline/mapped_check.h"
#include "workloads/workload.h"

namespace rdasim::tools {

namespace {

namespace fs = std::filesystem;
namespace functional = sim::functional;

struct CheckCliOptions {
  std::string model;
  std::string arch;    ///< check the mapping onto this fabric
  std::string system;  ///< or onto this system of RDAs
  SystemSplit split;
  std::string mode = "o1";
  std::string inputs;
  std::string precision = "fp32";
  std::optional<double> tolerance;
  std::vector<std::string> params;
  std::uint64_t seed = 1;
  bool json = false;
  bool expand = false;
  std::string weights;
};

core::Json to_json(const functional::CheckReport& report) {
  core::Json sets = core::Json::array();
  for (const auto& set : report.data_sets) {
    core::Json outputs = core::Json::array();
    for (const auto& o : set.outputs) {
      outputs.push_back(
          {{"name", o.name},
           {"shape", o.shape},
           {"max_abs_error", o.error.max_abs},
           {"max_rel_error", std::isfinite(o.error.max_rel) ? core::Json(o.error.max_rel) : core::Json("inf")},
           {"mismatched", o.error.mismatched},
           {"elements", o.error.elements},
           {"passed", o.passed}});
    }
    sets.push_back({{"data_set", set.dir.string()}, {"outputs", outputs}, {"passed", set.passed()}});
  }
  return {{"model", report.model},
          {"precision", std::string(functional::to_string(report.precision))},
          {"tolerance", report.tolerance},
          {"data_sets", sets},
          {"passed", report.passed()}};
}

void print_table(const functional::CheckReport& report) {
  fmt::print("{}: {} reference, relative tolerance {:g}\n\n", report.model, functional::to_string(report.precision),
             report.tolerance);
  fmt::print("{:<18} {:<24} {:<16} {:>12} {:>12}  {}\n", "data set", "output", "shape", "max abs err", "max rel err",
             "result");
  std::size_t outputs = 0, failed = 0;
  for (const auto& set : report.data_sets) {
    for (const auto& o : set.outputs) {
      ++outputs;
      if (!o.passed) ++failed;
      const std::string result =
          o.passed ? "ok" : fmt::format("FAIL ({} of {} elements off)", o.error.mismatched, o.error.elements);
      fmt::print("{:<18} {:<24} {:<16} {:>12.3e} {:>12.3e}  {}\n", core::printable(set.dir.filename().string(), 18),
                 core::printable(o.name, 24), graphs::to_string(o.shape), o.error.max_abs, o.error.max_rel, result);
    }
  }
  fmt::print("\n{}: {} of {} in {} passed\n", failed == 0 ? "PASS" : "FAIL", core::plural(outputs - failed, "output"),
             outputs, core::plural(report.data_sets.size(), "data set"));
}

int run_mapped_check(const CheckCliOptions& opt) {
  const double tolerance = opt.tolerance.value_or(functional::default_tolerance(functional::Precision::bf16));
  const workloads::Workload workload = load_model_argument(opt.model, opt.params);
  MappedCheck check;
  if (!opt.arch.empty()) {
    MapInputs inputs;
    inputs.arch = opt.arch;
    check = check_on_chip(workload, opt.model, load_fabric(inputs), opt.mode, opt.seed, tolerance);
  } else {
    SystemRunOptions options;
    options.parallelism = opt.split.parallelism;
    options.mode = opt.mode;
    options.seed = opt.seed;
    check = check_on_system(workload, opt.model, arch::SystemSpec::load_file(opt.system, {}, opt.split.devices),
                            options, batch_rebuilder(opt.model, opt.params), opt.seed, tolerance);
  }
  if (opt.json) {
    fmt::print("{}", core::to_json_text(check.to_json()));
    return check.passed() ? 0 : 1;
  }
  fmt::print("{} through its mapping on {} ({}), {} against fp64, relative tolerance {:g}\n\n", check.model,
             check.target, check.layout, functional::to_string(check.precision), check.tolerance);
  fmt::print("{:<32} {:<18} {:>14} {:>14}\n", "output", "shape", "mapped", "unmapped");
  double unmapped = 0;
  for (const auto& o : check.outputs) {
    fmt::print("{:<32} {:<18} {:>14.3e} {:>14.3e}\n", core::printable(o.name, 32), graphs::to_string(o.shape), o.mapped,
               o.unmapped);
    unmapped = std::max(unmapped, o.unmapped);
  }
  fmt::print(
      "\n{}: largest error {:.3e} mapped, {:.3e} unmapped in {}; {} op(s) computed as partial products, {} "
      "all-reduce(s) summed in their algorithm's order{}\n",
      check.passed() ? "PASS" : "FAIL", check.largest_error(), unmapped, functional::to_string(check.precision),
      check.split_ops, check.all_reduces,
      check.unsplit_ops.empty()
          ? ""
          : fmt::format("; {} split op(s) run as one chain (no rewrite for their kind)", check.unsplit_ops.size()));
  return check.passed() ? 0 : 1;
}

int run_check(const CheckCliOptions& opt) {
  if (!opt.arch.empty() || !opt.system.empty()) return run_mapped_check(opt);
  functional::CheckOptions options;
  options.precision = *functional::parse_precision(opt.precision);
  if (opt.tolerance && !(std::isfinite(*opt.tolerance) && *opt.tolerance > 0)) {
    throw core::InputError(core::Location(fmt::format("--tol {}", *opt.tolerance)),
                           "expected a positive relative tolerance such as 1e-4");
  }
  options.tolerance = opt.tolerance;
  options.seed = opt.seed;
  options.expand = opt.expand;
  const bool workload = workloads::find(opt.model) != nullptr;
  if (workload && opt.inputs.empty()) {
    throw core::InputError(core::Location(opt.model),
                           "a workload has no folder of its own: give its test data with --inputs DIR");
  }
  const fs::path inputs = opt.inputs.empty() ? fs::path(opt.model).parent_path() : fs::path(opt.inputs);
  functional::CheckSubject subject;
  if (workload) {
    // The builder's graph, with the weights of an exported twin when given.
    graphs::Graph g = single_graph(load_model_argument(opt.model, opt.params), opt.model);
    if (!opt.weights.empty()) (void)graphs::load_weights(g, graphs::load_onnx_initializers(opt.weights), opt.weights);
    subject.name = opt.model;
    for (auto id : g.tensors_with(graphs::Role::input)) subject.input_names.push_back(g.tensor(id).name);
    subject.load = [graph = std::make_shared<graphs::Graph>(std::move(g))](const graphs::OnnxOptions&) {
      return *graph;
    };
  } else {
    options.dims = parse_dim_params(opt.params);
    subject = functional::file_subject(opt.model, options.dims, opt.weights);
  }
  const auto report = functional::check(subject, inputs.empty() ? fs::path(".") : inputs, options);
  if (opt.json) fmt::print("{}", core::to_json_text(to_json(report)));
  else print_table(report);
  return report.passed() ? 0 : 1;
}

}  // namespace

void add_check_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<CheckCliOptions>();
  auto* check = app.add_subcommand(
      "check", "Run the functional reference on a model's test data and compare every output with the expected values");
  check
      ->add_option("MODEL", opt->model,
                   "An ONNX model (.onnx), a YAML graph (.yaml) or a built-in workload with -p parameters")
      ->required();
  check
      ->add_option("--weights", opt->weights,
                   "Load the params (and named constants) from this ONNX model's initializers, matched by name "
                   "with '.' read as '/': a PyTorch twin's weights in a builder's graph")
      ->type_name("FILE");
  check
      ->add_option("--inputs", opt->inputs,
                   "Test data in ONNX's layout: a folder of test_data_set_N/ folders, or one of them, holding "
                   "input_K.pb (the K-th runtime input) and output_K.pb (the expected K-th output); "
                   "default: the model's folder")
      ->type_name("DIR");
  check
      ->add_option("--precision", opt->precision,
                   "fp64 (ground truth), fp32, or bf16 (tensors rounded to bf16, arithmetic in fp32 as on the RDU)")
      ->check(CLI::IsMember(functional::precision_names()))
      ->capture_default_str();
  check
      ->add_option("--tol", opt->tolerance,
                   "Largest relative error allowed per element, |got - expected| / (the output's largest "
                   "|expected|); default 1e-4 (fp64, fp32) or 2e-2 (bf16)")
      ->type_name("X");
  check
      ->add_option("-p,--param", opt->params,
                   "A workload parameter or a model's symbolic dimension, e.g. -p batch=4 (repeatable)")
      ->type_name("NAME=VALUE");
  check->add_option("--seed", opt->seed, "Seed for params that carry no values")->capture_default_str();
  check->add_flag("--expand", opt->expand,
                  "Run GRU and LSTM as the primitives they expand into (MatMul, Split, gate activations), "
                  "as the mapper places them");
  auto* arch = check
                   ->add_option("--arch", opt->arch,
                                "Check the model through its mapping onto this fabric: reductions split as the mapper "
                                "split them, in the fabric's precision, against fp64 (inputs: a workload's generated "
                                "ones, or the model's test_data_set_0)")
                   ->type_name("FILE");
  auto* system = check
                     ->add_option("--system", opt->system,
                                  "Check the model through its mapping onto this system of RDAs: sharded as --tp, "
                                  "--pp, --dp say (or spread), all-reduces summed in their algorithm's order")
                     ->type_name("FILE")
                     ->excludes(arch);
  add_split_options(check, system, opt->split, false);
  check->add_option("--mode", opt->mode, "With --arch or --system: the mapper's mode")
      ->check(CLI::IsMember({"o0", "o1"}))
      ->capture_default_str();
  check->add_flag("--json", opt->json, "Print the errors as JSON");
  check->footer("Exit status: 0 when every output is within tolerance, 1 when one is not, 2 for bad input.");
  check->callback([&run, opt] { run = [opt] { return run_check(*opt); }; });
}

}  // namespace rdasim::tools
