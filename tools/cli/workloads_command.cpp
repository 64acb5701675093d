// `rdasim workloads`: the built-in science workloads and their parameters; and how a MODEL
// argument that names one is built.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/text.h"
#include "graphs/import/model.h"
#include "graphs/import/onnx_import.h"
#include "sim/functional/executor.h"
#include "tools/cli/commands.h"
#include "workloads/inputs.h"
#include "workloads/workload.h"

namespace rdasim::tools {

namespace {

int run_workloads(bool json) {
  core::Json list = core::Json::array();
  for (const auto& def : workloads::all()) {
    core::Json params = core::Json::array();
    for (const auto& p : def.params) {
      core::Json j = {{"name", p.name}, {"default", p.default_value}, {"meaning", p.meaning}};
      if (!p.choices.empty()) j["choices"] = p.choices;
      params.push_back(std::move(j));
    }
    list.push_back({{"name", def.name}, {"summary", def.summary}, {"params", params}});
  }
  if (json) {
    fmt::print("{}", core::to_json_text(list));
    return 0;
  }
  for (const auto& def : workloads::all()) {
    fmt::print("{}\n  {}\n", def.name, def.summary);
    for (const auto& p : def.params) {
      const std::string values = p.choices.empty() ? "" : fmt::format(" ({})", fmt::join(p.choices, " | "));
      fmt::print("    -p {:<22} {}{}\n", fmt::format("{}={}", p.name, p.default_value), p.meaning, values);
    }
    fmt::print("\n");
  }
  fmt::print("Use a workload anywhere a MODEL is taken: rdasim graph lensing -p stage=encoder -p batch=4\n");
  return 0;
}

struct InputsOptions {
  std::string model;
  std::vector<std::string> params;
  std::string out;
  std::uint64_t seed = 1;
  bool expected = false;
};

/// Writes one application's inputs (and, with --expected, its fp64 outputs) as test_data_set_0.
void write_data_set(const graphs::Graph& app, const std::filesystem::path& dir, const InputsOptions& opt) {
  const auto inputs = workloads::generate_inputs(app, opt.seed);
  const auto set = dir / "test_data_set_0";
  std::filesystem::create_directories(set);
  const auto ids = app.tensors_with(graphs::Role::input);
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const auto& t = app.tensor(ids[k]);
    graphs::save_onnx_tensor(set / fmt::format("input_{}.pb", k), t.name, t.shape, inputs.at(t.name).data);
  }
  if (!opt.expected) return;
  sim::functional::Values values(inputs.begin(), inputs.end());
  const auto outputs = sim::functional::run(app, values, {sim::functional::Precision::fp64, opt.seed, {}});
  const auto out_ids = app.tensors_with(graphs::Role::output);
  for (std::size_t k = 0; k < out_ids.size(); ++k) {
    const auto& t = app.tensor(out_ids[k]);
    graphs::save_onnx_tensor(set / fmt::format("output_{}.pb", k), t.name, t.shape, outputs.at(t.name).data);
  }
}

int run_inputs(const InputsOptions& opt) {
  const auto w = load_model_argument(opt.model, opt.params);
  const std::filesystem::path out = opt.out;
  for (const auto& app : w.apps) {
    std::string folder = app.name();
    std::replace(folder.begin(), folder.end(), '/', '_');
    const auto dir = w.apps.size() == 1 ? out : out / folder;
    write_data_set(app, dir, opt);
    core::log::info("wrote {}", (dir / "test_data_set_0").string());
  }
  return 0;
}

}  // namespace

void add_workloads_command(CLI::App& app, Runner& run) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("workloads", "List the built-in science workloads and their parameters");
  cmd->add_flag("--json", *json, "Print as JSON");
  cmd->callback([&run, json] { run = [json] { return run_workloads(*json); }; });

  auto opt = std::make_shared<InputsOptions>();
  auto* inputs = app.add_subcommand(
      "inputs",
      "Generate seeded, realistic inputs for a workload (galaxy images, nuclear responses, traffic speeds) in "
      "ONNX's test-data layout: DIR/test_data_set_0/input_K.pb, one folder per application when there are several");
  inputs->add_option("MODEL", opt->model, "A built-in workload (rdasim workloads) or a model with such inputs")
      ->required();
  inputs->add_option("-p,--param", opt->params, "A workload parameter, e.g. -p batch=4 (repeatable)")
      ->type_name("NAME=VALUE");
  inputs->add_option("--out", opt->out, "The folder to write")->required()->type_name("DIR");
  inputs->add_option("--seed", opt->seed, "Seed of the inputs and, with --expected, of the params")
      ->capture_default_str();
  inputs->add_flag("--expected", opt->expected,
                   "Also write output_K.pb: the fp64 reference's outputs with params from --seed, so that "
                   "rdasim check MODEL --inputs DIR measures fp32 and bf16 against fp64");
  inputs->callback([&run, opt] { run = [opt] { return run_inputs(*opt); }; });
}

}  // namespace rdasim::tools
