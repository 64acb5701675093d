// `rdasim workloads`: the built-in science workloads and their parameters; and how a MODEL
// argument that names one is built.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/json.h"
#include "core/text.h"
#include "graphs/import/model.h"
#include "tools/cli/commands.h"
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

/// "name=value" pairs; throws core::InputError naming the bad one.
std::map<std::string, std::string, std::less<>> parse_pairs(const std::vector<std::string>& texts) {
  std::map<std::string, std::string, std::less<>> out;
  for (const auto& text : texts) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw core::InputError(core::Location(fmt::format("-p {}", core::printable(text))), "expected name=value");
    }
    out[text.substr(0, eq)] = text.substr(eq + 1);
  }
  return out;
}

}  // namespace

workloads::Workload load_model_argument(const std::string& model, const std::vector<std::string>& params) {
  // A bare word that is no file is meant as a workload: say which ones there are.
  const bool bare = std::filesystem::path(model).extension().empty() && !std::filesystem::exists(model);
  if (workloads::find(model) || bare) {
    return workloads::build(model, parse_pairs(params));
  }
  graphs::OnnxOptions options;
  options.dims = parse_dim_params(params);
  workloads::Workload w;
  w.apps.push_back(graphs::load_model(model, options));
  return w;
}

void add_workloads_command(CLI::App& app, Runner& run) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("workloads", "List the built-in science workloads and their parameters");
  cmd->add_flag("--json", *json, "Print as JSON");
  cmd->callback([&run, json] { run = [json] { return run_workloads(*json); }; });
}

}  // namespace rdasim::tools
