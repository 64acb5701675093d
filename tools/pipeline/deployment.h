// Deployments: several applications mapped side by side, each in its own region. Written as a
// YAML file (configs/deployments/*.yaml) or as several MODEL arguments on the command line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "graphs/graph.h"
#include "mapper/tenants.h"

namespace rdasim::tools {

/// The applications to map, each with the share of the fabric it asks for.
struct Deployment {
  std::vector<graphs::Graph> apps;
  std::vector<mapper::RegionRequest> regions;  ///< one per application
};

/// Whether `path` is a deployment file: YAML whose top level has an `applications` list.
[[nodiscard]] bool is_deployment_file(const std::filesystem::path& path);

/// Reads a deployment file:
///   applications:
///     - model: dcrnn                   # a workload, or an .onnx/.yaml path relative to the file
///       params: {nodes: 207}           # its -p parameters
///       name: traffic                  # optional: a prefix for its applications' names
///       tiles: 2                       # or rows: N; neither: an even share of what is left
/// Throws core::InputError at the offending key.
[[nodiscard]] Deployment load_deployment(const std::filesystem::path& path);

/// Adds `more` to `into`; names that repeat get "#2", "#3" so that every tenant is named once.
void append(Deployment& into, Deployment more);

}  // namespace rdasim::tools
