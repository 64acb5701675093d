// MODEL arguments, as every command and the Python module take them: a built-in workload's name
// (built with its `-p` parameters) or an ONNX/YAML model file (`-p` binds symbolic dimensions).
#pragma once

#include <cstdint>
#include <functional>

#include <string>
#include <vector>

#include "graphs/graph.h"
#include "graphs/import/yaml_import.h"
#include "workloads/workload.h"

namespace rdasim::tools {

/// The applications a MODEL argument names, built or loaded.
[[nodiscard]] workloads::Workload load_model_argument(const std::string& model, const std::vector<std::string>& params);

/// The one application of a workload; throws core::InputError naming `model` when there are
/// several.
[[nodiscard]] graphs::Graph single_graph(workloads::Workload workload, const std::string& model);

/// A model's batch and how to build it again at another (data-parallel replicas, micro-batches).
struct Rebatch {
  std::int64_t batch = 0;  ///< 0: not known (a model file: its `batch` dimension, if any, says)
  std::function<workloads::Workload(std::int64_t batch)> build;
};

/// For a built-in workload with a `batch` parameter: its batch (`-p batch=N` or the default) and
/// a builder at another (`-p batch=M`, the other parameters kept); for anything else none.
[[nodiscard]] Rebatch batch_rebuilder(const std::string& model, const std::vector<std::string>& params);

/// `-p name=N` values (symbolic dimensions such as batch); throws core::InputError naming the
/// bad one.
[[nodiscard]] graphs::DimBindings parse_dim_params(const std::vector<std::string>& texts);

}  // namespace rdasim::tools
