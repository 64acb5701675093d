#include "sim/functional/check.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "graphs/import/model.h"
#include "graphs/import/onnx_import.h"
#include "graphs/transforms.h"

namespace rdasim::sim::functional {

namespace fs = std::filesystem;

ErrorStats compare(const graphs::Array<double>& got, const graphs::Array<double>& expected, double tolerance) {
  RDASIM_ASSERT(got.size() == expected.size(), "compare needs arrays of one size");
  ErrorStats s;
  s.elements = static_cast<std::int64_t>(got.size());
  double scale = 0;
  for (double e : expected.data) {
    if (std::isfinite(e)) scale = std::max(scale, std::abs(e));
  }
  const double denominator = std::max(scale, std::numeric_limits<double>::min());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got.data[i];
    const double e = expected.data[i];
    double abs_err = 0;
    double rel_err = 0;
    if (std::isnan(g) || std::isnan(e) || std::isinf(g) || std::isinf(e)) {
      const bool same = (std::isnan(g) && std::isnan(e)) || g == e;
      abs_err = rel_err = same ? 0.0 : HUGE_VAL;
    } else {
      abs_err = std::abs(g - e);
      rel_err = abs_err / denominator;
    }
    s.max_abs = std::max(s.max_abs, abs_err);
    if (rel_err > s.max_rel || s.worst < 0) {
      if (rel_err >= s.max_rel) s.worst = static_cast<std::int64_t>(i);
      s.max_rel = std::max(s.max_rel, rel_err);
    }
    if (rel_err > tolerance) ++s.mismatched;
  }
  return s;
}

bool DataSetCheck::passed() const {
  return std::all_of(outputs.begin(), outputs.end(), [](const OutputCheck& o) { return o.passed; });
}

bool CheckReport::passed() const {
  return std::all_of(data_sets.begin(), data_sets.end(), [](const DataSetCheck& d) { return d.passed(); });
}

namespace {

/// input_0.pb, input_1.pb, ... in numeric order (input_10 after input_9).
std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<long, fs::path>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string stem = e.path().stem().string();
    if (e.path().extension() != ".pb" || !stem.starts_with(prefix)) continue;
    const std::string digits = stem.substr(prefix.size());
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    found.emplace_back(std::stol(digits), e.path());
  }
  std::sort(found.begin(), found.end());
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (found[i].first != static_cast<long>(i)) {
      throw core::InputError(core::Location(dir.string()),
                             fmt::format("{}{}.pb is missing (files must be numbered from 0 without gaps)", prefix, i));
    }
  }
  std::vector<fs::path> files;
  for (auto& f : found) files.push_back(std::move(f.second));
  return files;
}

graphs::Array<double> to_array(const graphs::Tensor& t) {
  graphs::Array<double> a;
  a.shape = t.shape;
  a.data = t.values.value_or(std::vector<double>{});
  return a;
}

bool is_onnx(const fs::path& model) { return model.extension() == ".onnx"; }

}  // namespace

std::vector<fs::path> find_data_sets(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw core::InputError(core::Location(dir.string()), "expected a folder of test data (test_data_set_N/input_K.pb)");
  }
  if (!numbered_files(dir, "input_").empty() || !numbered_files(dir, "output_").empty()) return {dir};
  std::vector<std::pair<long, fs::path>> sets;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const std::string prefix = "test_data_set_";
    if (!e.is_directory() || !name.starts_with(prefix)) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    sets.emplace_back(std::stol(digits), e.path());
  }
  if (sets.empty()) {
    throw core::InputError(core::Location(dir.string()),
                           "holds no test data: expected input_K.pb/output_K.pb files or test_data_set_N folders");
  }
  std::sort(sets.begin(), sets.end());
  std::vector<fs::path> out;
  for (auto& s : sets) out.push_back(std::move(s.second));
  return out;
}

CheckSubject file_subject(const fs::path& model, const graphs::DimBindings& dims, const fs::path& weights) {
  CheckSubject subject;
  subject.name = model.string();
  subject.integer_inputs_are_constants = is_onnx(model);
  graphs::OnnxOptions plain;
  plain.dims = dims;
  if (is_onnx(model)) {
    subject.input_names = graphs::onnx_input_names(model);
  } else {
    const graphs::Graph g = graphs::load_model(model, plain);
    for (auto id : g.tensors_with(graphs::Role::input)) subject.input_names.push_back(g.tensor(id).name);
  }
  subject.load = [model, dims, weights](graphs::OnnxOptions load) {
    load.dims = dims;
    graphs::Graph g = graphs::load_model(model, load);
    if (!weights.empty()) (void)graphs::load_weights(g, graphs::load_onnx_initializers(weights), weights.string());
    return g;
  };
  return subject;
}

CheckReport check_model(const fs::path& model, const fs::path& data_dir, const CheckOptions& options) {
  return check(file_subject(model, options.dims), data_dir, options);
}

CheckReport check(const CheckSubject& subject, const fs::path& data_dir, const CheckOptions& options) {
  CheckReport report;
  report.model = subject.name;
  report.precision = options.precision;
  report.tolerance = options.tolerance.value_or(default_tolerance(options.precision));
  const auto& input_names = subject.input_names;
  for (const auto& dir : find_data_sets(data_dir)) {
    const auto input_files = numbered_files(dir, "input_");
    const auto output_files = numbered_files(dir, "output_");
    if (input_files.size() != input_names.size()) {
      throw core::InputError(core::Location(dir.string()),
                             fmt::format("has {}, the model has {}", core::plural(input_files.size(), "input file"),
                                         core::plural(input_names.size(), "runtime input")));
    }
    graphs::OnnxOptions load;
    Values inputs;
    for (std::size_t k = 0; k < input_files.size(); ++k) {
      graphs::Tensor t = graphs::load_onnx_tensor(input_files[k]);
      t.name = input_names[k];  // test data may leave names empty; the position decides
      if (subject.integer_inputs_are_constants && !graphs::is_float(t.dtype)) load.constant_inputs.push_back(t);
      else inputs.emplace(t.name, to_array(t));
    }
    graphs::Graph graph = subject.load(load);
    if (options.expand) graph = graphs::expand_recurrent(graph);
    for (std::size_t k = 0; k < input_files.size(); ++k) {
      const auto it = inputs.find(input_names[k]);
      const auto id = graph.find_tensor(input_names[k]);
      if (it != inputs.end() && id && it->second.shape != graph.tensor(*id).shape) {
        throw core::InputError(
            core::Location(input_files[k].string()),
            fmt::format("has shape {}, the model's input '{}' is {}", graphs::to_string(it->second.shape),
                        input_names[k], graphs::to_string(graph.tensor(*id).shape)));
      }
    }
    const Values got = run(graph, inputs, RunOptions{options.precision, options.seed, {}});
    const auto outputs = graph.tensors_with(graphs::Role::output);
    if (output_files.size() != outputs.size()) {
      throw core::InputError(
          core::Location(dir.string()),
          fmt::format("has {}, the model has {}", core::plural(output_files.size(), "expected output"),
                      core::plural(outputs.size(), "output")));
    }
    DataSetCheck set{dir, {}};
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      const std::string& name = graph.tensor(outputs[k]).name;
      const graphs::Array<double>& value = got.at(name);
      const graphs::Array<double> expected = to_array(graphs::load_onnx_tensor(output_files[k]));
      if (expected.shape != value.shape) {
        throw core::InputError(core::Location(output_files[k].string()),
                               fmt::format("expected output {} ('{}') has shape {}, the model computes {}", k, name,
                                           graphs::to_string(expected.shape), graphs::to_string(value.shape)));
      }
      OutputCheck c{name, value.shape, compare(value, expected, report.tolerance), false};
      c.passed = c.error.mismatched == 0;
      set.outputs.push_back(std::move(c));
    }
    report.data_sets.push_back(std::move(set));
  }
  return report;
}

}  // namespace rdasim::sim::functional
