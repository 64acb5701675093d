// The YAML graph format, for graphs written by hand (configs/graphs/README.md documents it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "core/config.h"
#include "graphs/graph.h"

namespace rdasim::graphs {

/// Symbolic dimension sizes given at load time ("batch" -> 4), overriding the file's defaults.
using DimBindings = std::map<std::string, std::int64_t, std::less<>>;

/// Reads a YAML graph, binds its symbolic dimensions, infers shapes and verifies it. Throws
/// core::InputError with file:line:column and the op or tensor at fault.
[[nodiscard]] Graph load_yaml_graph(const std::filesystem::path& path, const DimBindings& dims = {});
[[nodiscard]] Graph parse_yaml_graph(const core::ConfigNode& root, const DimBindings& dims = {});

}  // namespace rdasim::graphs
