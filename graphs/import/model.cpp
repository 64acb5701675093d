#include "graphs/import/model.h"

#include "core/error.h"
#include "graphs/import/yaml_import.h"

namespace rdasim::graphs {

Graph load_model(const std::filesystem::path& path, const OnnxOptions& options) {
  const std::string ext = path.extension().string();
  if (ext == ".yaml" || ext == ".yml") return load_yaml_graph(path, options.dims);
  if (ext == ".onnx") return load_onnx_model(path, options);
  throw core::InputError(core::Location(path.string()),
                         "expected an ONNX model (.onnx), a YAML graph (.yaml) or a workload name (rdasim workloads)");
}

}  // namespace rdasim::graphs
