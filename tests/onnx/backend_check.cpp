// Conformance against ONNX's own backend test suite (Debian's libonnx-testdata): every test
// whose ops rdasim supports goes through the same check as `rdasim check` (import, shape
// inference, the functional reference in fp32, each output against the expected values of
// every test_data_set_N within the default tolerance).
//   rdasim_onnx_backend DATA_DIR [FILTER [--expand]]   (DATA_DIR: .../backend/test/data/node, ...)
// With --expand, GRU and LSTM run as the primitives they expand into.
// Tests whose expected outputs are f64 run the fp64 reference (their values need not fit in
// fp32). Prints one line per test and a summary; exits 1 when a test fails.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/import/onnx_import.h"
#include "sim/functional/check.h"

namespace fs = std::filesystem;
using namespace rdasim;

namespace {

/// Why a test is out of scope, or "" when it is in: the model uses an op or a type rdasim does
/// not cover (the suite also has tests of sequences, optional values, training ops, ...).
std::string unsupported_reason(const fs::path& model) {
  try {
    (void)graphs::load_onnx_model(model);
  } catch (const core::UnsupportedError& e) {
    return e.what();
  } catch (const core::InputError&) {
  }
  return "";
}

/// fp64 for a test whose first expected output is f64, else fp32.
sim::functional::CheckOptions options_for(const fs::path& dir) {
  sim::functional::CheckOptions options;
  const fs::path first = dir / "test_data_set_0" / "output_0.pb";
  try {
    if (fs::exists(first) && graphs::load_onnx_tensor(first).dtype == graphs::DType::f64) {
      options.precision = sim::functional::Precision::fp64;
    }
  } catch (const core::InputError&) {
    // Not a tensor (a sequence, an optional): check_model reports it.
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: rdasim_onnx_backend DATA_DIR [FILTER]\n", stderr);
    return 2;
  }
  const fs::path root = argv[1];
  const std::string filter = argc > 2 ? argv[2] : "";
  const bool expand = argc > 3 && std::string(argv[3]) == "--expand";
  std::vector<fs::path> tests;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_directory() && e.path().filename().string().find(filter) != std::string::npos) tests.push_back(e.path());
  }
  std::sort(tests.begin(), tests.end());
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& dir : tests) {
    const std::string name = dir.filename().string();
    std::string problem;
    try {
      auto options = options_for(dir);
      options.expand = expand;
      const auto report = sim::functional::check_model(dir / "model.onnx", dir, options);
      for (const auto& set : report.data_sets) {
        for (const auto& o : set.outputs) {
          if (!o.passed && problem.empty()) {
            problem =
                fmt::format("{} output '{}': max relative error {:.3g} ({} of {} elements off)",
                            set.dir.filename().string(), o.name, o.error.max_rel, o.error.mismatched, o.error.elements);
          }
        }
      }
    } catch (const core::UnsupportedError& e) {
      ++skipped;
      fmt::print("SKIP {}: {}\n", name, e.what());
      continue;
    } catch (const core::InputError& e) {
      // Sequence or optional inputs are not tensors: let the model say what it uses.
      if (auto reason = unsupported_reason(dir / "model.onnx"); !reason.empty()) {
        ++skipped;
        fmt::print("SKIP {}: {}\n", name, reason);
        continue;
      }
      problem = e.what();
    }
    if (problem.empty()) {
      ++passed;
      fmt::print("PASS {}\n", name);
    } else {
      ++failed;
      fmt::print("FAIL {}: {}\n", name, problem);
    }
  }
  fmt::print("onnx backend: {} passed, {} failed, {} skipped (ops or types rdasim does not cover)\n", passed, failed,
             skipped);
  return failed == 0 ? 0 : 1;
}
