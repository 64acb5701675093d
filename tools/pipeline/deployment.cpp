#include "tools/pipeline/deployment.h"

#include <map>

#include <fmt/format.h>

#include "core/config.h"
#include "core/error.h"
#include "tools/pipeline/models.h"

namespace rdasim::tools {

bool is_deployment_file(const std::filesystem::path& path) {
  const auto ext = path.extension().string();
  if (ext != ".yaml" && ext != ".yml") return false;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  const auto doc = core::ConfigNode::load_file(path);
  return doc.is_map() && doc.has("applications");
}

Deployment load_deployment(const std::filesystem::path& path) {
  const auto doc = core::ConfigNode::load_file(path);
  doc.check_keys({"name", "description", "applications"});
  Deployment out;
  const auto list = doc.at("applications");
  const auto entries = list.elements();
  if (entries.empty()) list.fail("expected at least one application");
  for (const auto& entry : entries) {
    entry.check_keys({"model", "params", "name", "tiles", "rows"});
    std::string model = entry.at("model").as_string();
    // Files are relative to the deployment; a bare word is a workload.
    const std::filesystem::path relative = path.parent_path() / model;
    if (std::filesystem::path(model).has_extension() && std::filesystem::path(model).is_relative())
      model = relative.string();
    std::vector<std::string> params;
    if (const auto p = entry.find("params")) {
      for (const auto& key : p->keys()) params.push_back(fmt::format("{}={}", key, p->at(key).as_string()));
    }
    mapper::RegionRequest request;
    if (const auto tiles = entry.find("tiles"))
      request.tiles = static_cast<int>(tiles->as_int(core::Bounds::at_least(1)));
    if (const auto rows = entry.find("rows")) request.rows = static_cast<int>(rows->as_int(core::Bounds::at_least(1)));
    if (request.tiles > 0 && request.rows > 0) entry.at("rows").fail("expected either tiles or rows, not both");
    workloads::Workload w;
    try {
      w = load_model_argument(model, params);
    } catch (const core::InputError& e) {
      throw core::InputError(entry.at("model").location(), e.what());
    }
    Deployment part;
    const auto name = entry.find("name");
    for (auto& app : w.apps) {
      if (name)
        app.set_name(w.apps.size() == 1 ? name->as_string() : fmt::format("{}/{}", name->as_string(), app.name()));
      part.apps.push_back(std::move(app));
      part.regions.push_back(request);
    }
    append(out, std::move(part));
  }
  return out;
}

void append(Deployment& into, Deployment more) {
  std::map<std::string, int> seen;
  for (const auto& app : into.apps) ++seen[app.name()];
  for (std::size_t i = 0; i < more.apps.size(); ++i) {
    auto& app = more.apps[i];
    const int n = ++seen[app.name()];
    if (n > 1) app.set_name(fmt::format("{}#{}", app.name(), n));
    into.apps.push_back(std::move(app));
    into.regions.push_back(more.regions[i]);
  }
}

}  // namespace rdasim::tools
