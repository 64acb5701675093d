// Checking the functional reference against expected outputs in ONNX's test-data layout:
// MODEL_DIR/test_data_set_N/input_K.pb feeds the K-th runtime input, output_K.pb is the
// expected K-th output (serialized TensorProtos).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graphs/import/onnx_import.h"
#include "graphs/import/yaml_import.h"
#include "sim/functional/executor.h"

namespace rdasim::sim::functional {

/// How far one output is from its expected values. The relative error of an element is
/// |got - expected| / max |expected| over the output (the infinity-norm relative error): low
/// precision errs in proportion to the operands' scale, so an element that cancels to near
/// zero is judged against the output's scale, not its own.
struct ErrorStats {
  double max_abs = 0;
  double max_rel = 0;
  std::int64_t worst = -1;      ///< flat index of the element with the largest relative error
  std::int64_t mismatched = 0;  ///< elements whose relative error exceeds the tolerance
  std::int64_t elements = 0;
};

/// Compares two arrays of equal shape; NaN matches NaN and infinities match themselves.
[[nodiscard]] ErrorStats compare(const graphs::Array<double>& got, const graphs::Array<double>& expected,
                                 double tolerance);

struct OutputCheck {
  std::string name;
  graphs::Shape shape;
  ErrorStats error;
  bool passed = false;
};

struct DataSetCheck {
  std::filesystem::path dir;
  std::vector<OutputCheck> outputs;
  [[nodiscard]] bool passed() const;
};

struct CheckOptions {
  Precision precision = Precision::fp32;
  std::optional<double> tolerance;  ///< default_tolerance(precision) when unset
  graphs::DimBindings dims;
  std::uint64_t seed = 1;
  /// Run GRU and LSTM as the primitives they expand into (graphs::expand_recurrent).
  bool expand = false;
};

struct CheckReport {
  std::string model;
  Precision precision = Precision::fp32;
  double tolerance = 0;
  std::vector<DataSetCheck> data_sets;
  [[nodiscard]] bool passed() const;
};

/// The data-set folders under `dir`: `dir` itself when it holds input_*.pb or output_*.pb,
/// else its test_data_set_N folders in numeric order. Throws core::InputError when there are
/// none.
[[nodiscard]] std::vector<std::filesystem::path> find_data_sets(const std::filesystem::path& dir);

/// What check runs: a graph, loaded once per data set (an ONNX model binds the data set's
/// integer inputs as constants), and the names its input_K.pb files feed, in order.
struct CheckSubject {
  std::string name;
  std::vector<std::string> input_names;
  bool integer_inputs_are_constants = false;
  std::function<graphs::Graph(const graphs::OnnxOptions&)> load;
};

/// Runs the subject on every data set under `data_dir` and compares each output.
[[nodiscard]] CheckReport check(const CheckSubject& subject, const std::filesystem::path& data_dir,
                                const CheckOptions& options);

/// The subject of a model file (ONNX or YAML), with `weights` (an ONNX file) loaded over its
/// params when given.
[[nodiscard]] CheckSubject file_subject(const std::filesystem::path& model, const graphs::DimBindings& dims,
                                        const std::filesystem::path& weights = {});

/// check(file_subject(model, options.dims), data_dir, options): loads the model (ONNX or
/// YAML), runs it on every data set and compares each output. Integer inputs of an ONNX model (shapes, indices, axes)
/// are bound as constants, as a runtime feeding them would. Throws core::InputError for unreadable files, a data set
/// whose inputs or outputs do not match the model, or a model rdasim cannot run.
[[nodiscard]] CheckReport check_model(const std::filesystem::path& model, const std::filesystem::path& data_dir,
                                      const CheckOptions& options);

}  // namespace rdasim::sim::functional
