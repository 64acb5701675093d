// Shape conformance against ONNX's own backend test suite (Debian's libonnx-testdata): every
// node test whose ops rdasim supports is imported, its shapes inferred, and each output's shape
// and element type compared with the expected output tensor of test_data_set_0.
//   rdasim_onnx_backend_shapes DATA_DIR [FILTER]    (DATA_DIR: .../backend/test/data/node)
// Integer-typed model inputs (Reshape's shape, Slice's starts, indices) are fed as constants
// from the test's input files, as a runtime would. Prints one line per test and a summary.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/import/onnx_import.h"

namespace fs = std::filesystem;
using namespace rdasim;

namespace {

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(prefix)) files.push_back(e.path());
  }
  // input_10 after input_9: order by the number.
  std::sort(files.begin(), files.end(), [&](const fs::path& a, const fs::path& b) {
    auto num = [&](const fs::path& p) { return std::stoi(p.stem().string().substr(prefix.size())); };
    return num(a) < num(b);
  });
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: rdasim_onnx_backend_shapes DATA_DIR [FILTER]\n", stderr);
    return 2;
  }
  const fs::path root = argv[1];
  const std::string filter = argc > 2 ? argv[2] : "";
  std::vector<fs::path> tests;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_directory() && e.path().filename().string().find(filter) != std::string::npos) tests.push_back(e.path());
  }
  std::sort(tests.begin(), tests.end());
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& dir : tests) {
    const std::string name = dir.filename().string();
    const fs::path data = dir / "test_data_set_0";
    try {
      graphs::OnnxOptions options;
      std::vector<graphs::Tensor> inputs;
      try {
        for (const auto& file : sorted_files(data, "input_")) inputs.push_back(graphs::load_onnx_tensor(file));
      } catch (const core::InputError&) {
        // Sequence or optional inputs are not tensors: let the model say what it uses.
        (void)graphs::load_onnx_model(dir / "model.onnx");
        throw;
      }
      const auto names = graphs::onnx_input_names(dir / "model.onnx");
      for (std::size_t k = 0; k < inputs.size() && k < names.size(); ++k) {
        inputs[k].name = names[k];  // test data may leave names empty; position decides
        if (!graphs::is_float(inputs[k].dtype)) options.constant_inputs.push_back(inputs[k]);
      }
      const graphs::Graph g = graphs::load_onnx_model(dir / "model.onnx", options);
      const auto outputs = g.tensors_with(graphs::Role::output);
      const auto expected = sorted_files(data, "output_");
      std::string problem;
      if (outputs.size() != expected.size()) {
        problem = fmt::format("{} outputs, expected {}", outputs.size(), expected.size());
      }
      for (std::size_t i = 0; problem.empty() && i < outputs.size(); ++i) {
        const auto& got = g.tensor(outputs[i]);
        const auto want = graphs::load_onnx_tensor(expected[i]);
        if (got.shape != want.shape || got.dtype != want.dtype) {
          problem = fmt::format("output {} is {} {}, expected {} {}", got.name, graphs::to_string(got.dtype),
                                graphs::to_string(got.shape), graphs::to_string(want.dtype),
                                graphs::to_string(want.shape));
        }
      }
      if (problem.empty()) {
        ++passed;
        fmt::print("PASS {}\n", name);
      } else {
        ++failed;
        fmt::print("FAIL {}: {}\n", name, problem);
      }
    } catch (const core::UnsupportedError& e) {
      ++skipped;
      fmt::print("SKIP {}: {}\n", name, e.what());
    } catch (const core::InputError& e) {
      ++failed;
      fmt::print("FAIL {}: {}\n", name, e.what());
    }
  }
  fmt::print("onnx backend shapes: {} passed, {} failed, {} skipped (ops or types rdasim does not cover)\n", passed,
             failed, skipped);
  return failed == 0 ? 0 : 1;
}
