// The built-in science workloads (shared/WORKLOADS.md): each is a named, parameterized builder
// of one or more applications (graphs run as separate tenants) and, for ensembles and
// partitioned models, a small combine graph. `rdasim workloads` lists them; any command that
// takes a MODEL accepts a workload name with `-p name=value` parameters.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "graphs/graph.h"
#include "graphs/training.h"

namespace rdasim::workloads {

/// One parameter of a workload: its default and what it means; `choices` lists the allowed
/// values of a text parameter (empty: a positive integer, or a positive number when `real`).
struct ParamDecl {
  std::string name;
  std::string default_value;
  std::string meaning;
  std::vector<std::string> choices;
  bool real = false;      ///< a positive real number (the default may be "paper": the workload's own)
  bool any_text = false;  ///< any text (a name or a path), checked by the builder
};

struct WorkloadDef;

/// A workload's parameters as given (`-p name=value`), checked against its declarations.
class Params {
 public:
  /// Throws core::InputError for an unknown name (with a suggestion), a value that is not a
  /// positive integer where one is expected, or a value outside a parameter's choices.
  Params(const WorkloadDef& def, const std::map<std::string, std::string, std::less<>>& given);

  [[nodiscard]] std::int64_t integer(std::string_view name) const;
  [[nodiscard]] const std::string& text(std::string_view name) const;
  /// A real parameter's value; nullopt while it has its default "paper".
  [[nodiscard]] std::optional<double> real(std::string_view name) const;
  /// Whether the user gave the parameter (rather than its default).
  [[nodiscard]] bool given(std::string_view name) const { return m_given.contains(name); }
  /// Every parameter with its value, defaults included, for reports.
  [[nodiscard]] const std::map<std::string, std::string, std::less<>>& values() const { return m_values; }
  /// Parameters the workload does not declare but passes on (an ensemble's base model's).
  [[nodiscard]] const std::map<std::string, std::string, std::less<>>& passed_on() const { return m_passed_on; }

 private:
  std::string m_workload;
  std::map<std::string, std::string, std::less<>> m_values;
  std::map<std::string, std::string, std::less<>> m_passed_on;
  std::set<std::string, std::less<>> m_given;
};

/// What a builder produces.
struct Workload {
  std::vector<graphs::Graph> apps;       ///< one per application (tenant)
  std::optional<graphs::Graph> combine;  ///< joins the applications' outputs, when they need it
};

/// How a workload trains (-p mode=train), as its paper did: the loss terms on one
/// application's outputs, and the optimizer.
struct Training {
  std::vector<graphs::LossTerm> loss;
  graphs::Optimizer optimizer;
};

struct WorkloadDef {
  std::string name;
  std::string summary;
  std::vector<ParamDecl> params;
  std::function<Workload(const Params&)> build;
  /// The paper's loss and optimizer for one of the built applications.
  std::function<Training(const Params&, const graphs::Graph& app)> training;
  /// Undeclared parameters go to Params::passed_on instead of failing (checked downstream).
  bool passes_on_unknown = false;
};

/// Every built-in workload, in the order `rdasim workloads` lists them.
[[nodiscard]] const std::vector<WorkloadDef>& all();
[[nodiscard]] const WorkloadDef* find(std::string_view name);
[[nodiscard]] std::vector<std::string> names();

/// The name of an application's k-th output (loss terms name the outputs they score).
[[nodiscard]] std::string output_name(const graphs::Graph& app, std::size_t k);

/// Parameters every workload that trains takes: mode (infer | train), optimizer and lr.
[[nodiscard]] std::vector<ParamDecl> training_params();

/// Builds a workload by name; with -p mode=train every application becomes one training step
/// (graphs::training_step with the workload's loss and optimizer) and the combine graph is
/// dropped (members train independently). Throws core::InputError for an unknown name or bad
/// parameters.
[[nodiscard]] Workload build(std::string_view name, const std::map<std::string, std::string, std::less<>>& params);

// The builders, one file each.
[[nodiscard]] WorkloadDef lensing_workload();
[[nodiscard]] WorkloadDef inversion_workload();
[[nodiscard]] WorkloadDef dcrnn_workload();
[[nodiscard]] WorkloadDef gp_dcrnn_workload();
[[nodiscard]] WorkloadDef ensemble_workload();
[[nodiscard]] WorkloadDef llm_workload();

}  // namespace rdasim::workloads
