#include "tools/pipeline/models.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "graphs/import/model.h"
#include "graphs/import/onnx_import.h"

namespace rdasim::tools {

namespace {

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

Rebatch batch_rebuilder(const std::string& model, const std::vector<std::string>& params) {
  const workloads::WorkloadDef* def = workloads::find(model);
  if (def == nullptr) return {};
  const auto decl =
      std::find_if(def->params.begin(), def->params.end(), [](const auto& p) { return p.name == "batch"; });
  if (decl == def->params.end()) return {};
  Rebatch rebatch;
  rebatch.batch = std::stoll(decl->default_value);
  for (const auto& p : params) {
    if (p.rfind("batch=", 0) == 0) rebatch.batch = std::stoll(p.substr(6));
  }
  rebatch.build = [model, params](std::int64_t batch) {
    std::vector<std::string> at_batch;
    for (const auto& p : params) {
      if (p.rfind("batch=", 0) != 0) at_batch.push_back(p);
    }
    at_batch.push_back(fmt::format("batch={}", batch));
    return load_model_argument(model, at_batch);
  };
  return rebatch;
}

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

graphs::Graph single_graph(workloads::Workload workload, const std::string& model) {
  if (workload.apps.size() != 1 || workload.combine) {
    throw core::InputError(core::Location(model),
                           fmt::format("is {} applications{}; this command takes one graph", workload.apps.size(),
                                       workload.combine ? " and a combine step" : ""));
  }
  return std::move(workload.apps.front());
}

graphs::DimBindings parse_dim_params(const std::vector<std::string>& texts) {
  graphs::DimBindings dims;
  for (const auto& text : texts) {
    const core::Location where(fmt::format("-p {}", text));
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw core::InputError(where, "expected name=value");
    const std::string value = text.substr(eq + 1);
    const auto n = core::parse_integer(value);
    if (!n) throw core::InputError(where, fmt::format("expected an integer value, found '{}'", core::printable(value)));
    dims[text.substr(0, eq)] = *n;
  }
  return dims;
}

}  // namespace rdasim::tools
