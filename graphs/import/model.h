// One entry point for a model file, whatever its format.
#pragma once

#include <filesystem>

#include "graphs/graph.h"
#include "graphs/import/onnx_import.h"

namespace rdasim::graphs {

/// Loads an ONNX model (.onnx) or a YAML graph (.yaml, .yml), binding options.dims; for ONNX
/// also options.constant_inputs. Throws core::InputError for any other extension.
[[nodiscard]] Graph load_model(const std::filesystem::path& path, const OnnxOptions& options = {});

}  // namespace rdasim::graphs
