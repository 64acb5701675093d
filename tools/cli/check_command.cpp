// `rdasim check MODEL`: run the functional reference on a model's test data (ONNX's layout)
// and report the error of every output against the expected values.
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json.h"
#include "core/text.h"
#include "graphs/import/onnx_import.h"
#include "graphs/transforms.h"
#include "sim/functional/check.h"
#include "tools/cli/commands.h"
#include "workloads/workload.h"

namespace rdasim::tools {

namespace {

namespace fs = std::filesystem;
namespace functional = sim::functional;

struct CheckCliOptions {
  std::string model;
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

int run_check(const CheckCliOptions& opt) {
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
  check->add_flag("--json", opt->json, "Print the errors as JSON");
  check->footer("Exit status: 0 when every output is within tolerance, 1 when one is not, 2 for bad input.");
  check->callback([&run, opt] { run = [opt] { return run_check(*opt); }; });
}

}  // namespace rdasim::tools
