// ONNX models (opsets 11-17, from PyTorch or anywhere) and ONNX test-data tensors. The only
// place that includes ONNX's protobuf headers.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "graphs/graph.h"
#include "graphs/import/yaml_import.h"

namespace rdasim::graphs {

struct OnnxOptions {
  /// Sizes for the model's symbolic dimensions (dim_param); unbound ones become 1.
  DimBindings dims;
  /// Graph inputs whose values are known: they become constants (ONNX's node tests feed
  /// Reshape's shape, Slice's starts and the like as inputs).
  std::vector<Tensor> constant_inputs;
};

/// Reads a model: initializers become params (floating point) or consts (integers), Constant
/// nodes become consts, every other node an op. Unsupported ops are reported all at once with
/// their node names. Shapes are inferred and verified. Throws core::InputError for a file
/// that is not an ONNX model, an unsupported op or type, or a shape error (naming the node).
[[nodiscard]] Graph load_onnx_model(const std::filesystem::path& path, const OnnxOptions& options = {});
[[nodiscard]] Graph parse_onnx_model(const std::string& bytes, const std::string& source_name,
                                     const OnnxOptions& options = {});

/// The names of a model's runtime inputs (graph inputs that are not initializers), in order:
/// test_data_set_N/input_K.pb feeds the K-th.
[[nodiscard]] std::vector<std::string> onnx_input_names(const std::filesystem::path& path);

/// One serialized TensorProto, as in ONNX's test-data layout (test_data_set_0/input_0.pb).
[[nodiscard]] Tensor load_onnx_tensor(const std::filesystem::path& path);

/// Writes one float32 TensorProto (the test-data layout's input_K.pb).
void save_onnx_tensor(const std::filesystem::path& path, const std::string& name, const Shape& shape,
                      const std::vector<double>& values);

/// A model's initializers (weights) with their values, named as in the file.
[[nodiscard]] std::vector<Tensor> load_onnx_initializers(const std::filesystem::path& path);

}  // namespace rdasim::graphs
