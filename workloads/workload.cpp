#include "workloads/workload.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace rdasim::workloads {

Params::Params(const WorkloadDef& def, const std::map<std::string, std::string, std::less<>>& given)
    : m_workload(def.name) {
  std::vector<std::string> names;
  for (const auto& p : def.params) {
    names.push_back(p.name);
    m_values[p.name] = p.default_value;
  }
  for (const auto& [name, value] : given) {
    const core::Location where(fmt::format("-p {}={}", name, core::printable(value)));
    auto decl = std::find_if(def.params.begin(), def.params.end(), [&](const ParamDecl& p) { return p.name == name; });
    if (decl == def.params.end() && def.passes_on_unknown) {
      m_passed_on[name] = value;
      continue;
    }
    if (decl == def.params.end()) {
      throw core::InputError(
          where, fmt::format("workload '{}' has no parameter '{}'{}; it has {}", def.name, core::printable(name),
                             core::did_you_mean(name, names), core::quoted_list(names)));
    }
    if (decl->any_text) {
      if (value.empty()) throw core::InputError(where, fmt::format("expected {} for '{}'", decl->meaning, name));
    } else if (decl->real) {
      const double v = value == "paper" ? 1.0 : core::parse_number(value).value_or(-1.0);
      if (!(v > 0)) {
        throw core::InputError(where,
                               fmt::format("expected a positive number or 'paper' for '{}' ({})", name, decl->meaning));
      }
    } else if (!decl->choices.empty()) {
      if (std::find(decl->choices.begin(), decl->choices.end(), value) == decl->choices.end()) {
        throw core::InputError(where, fmt::format("expected {}{}", core::quoted_list(decl->choices),
                                                  core::did_you_mean(value, decl->choices)));
      }
    } else {
      const auto n = core::parse_integer(value);
      if (!n || *n < 1) {
        throw core::InputError(where, fmt::format("expected a positive integer for '{}' ({})", name, decl->meaning));
      }
    }
    m_values[name] = value;
    m_given.insert(name);
  }
}

std::optional<double> Params::real(std::string_view name) const {
  const std::string& value = text(name);
  if (value == "paper") return std::nullopt;
  return core::parse_number(value).value();  // validated in the constructor
}

std::int64_t Params::integer(std::string_view name) const {
  auto it = m_values.find(name);
  RDASIM_ASSERT(it != m_values.end(), fmt::format("workload '{}' reads undeclared parameter '{}'", m_workload, name));
  return core::parse_integer(it->second).value();  // validated in the constructor
}

const std::string& Params::text(std::string_view name) const {
  auto it = m_values.find(name);
  RDASIM_ASSERT(it != m_values.end(), fmt::format("workload '{}' reads undeclared parameter '{}'", m_workload, name));
  return it->second;
}

std::string output_name(const graphs::Graph& app, std::size_t k) {
  const auto outputs = app.tensors_with(graphs::Role::output);
  RDASIM_ASSERT(k < outputs.size(), fmt::format("'{}' has {} outputs, not {}", app.name(), outputs.size(), k + 1));
  return app.tensor(outputs[k]).name;
}

std::vector<ParamDecl> training_params() {
  return {{"mode",
           "infer",
           "inference, or one training step: forward, loss, backward and optimizer update",
           {"infer", "train"}},
          {"optimizer",
           "paper",
           "the training step's optimizer (paper: the workload's own)",
           {"paper", "adam", "adamw", "sgd"}},
          {"lr", "paper", "the training step's learning rate (paper: the workload's own)", {}, true}};
}

const std::vector<WorkloadDef>& all() {
  static const std::vector<WorkloadDef> defs = [] {
    std::vector<WorkloadDef> out{lensing_workload(),  inversion_workload(), dcrnn_workload(),
                                 gp_dcrnn_workload(), ensemble_workload(),  llm_workload()};
    for (auto& def : out) {
      if (!def.training) continue;
      for (auto& p : training_params()) def.params.push_back(std::move(p));
    }
    return out;
  }();
  return defs;
}

const WorkloadDef* find(std::string_view name) {
  for (const auto& d : all()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& d : all()) out.push_back(d.name);
  return out;
}

Workload build(std::string_view name, const std::map<std::string, std::string, std::less<>>& params) {
  const WorkloadDef* def = find(name);
  if (!def) {
    const auto known = names();
    throw core::InputError(core::Location(std::string(name)),
                           fmt::format("no workload of that name{}; the workloads are {}",
                                       core::did_you_mean(name, known), core::quoted_list(known)));
  }
  const Params p(*def, params);
  if (!def->training) return def->build(p);
  if (p.text("mode") != "train") {
    for (const char* training_only : {"optimizer", "lr"}) {
      if (p.given(training_only)) {
        throw core::InputError(core::Location(fmt::format("-p {}={}", training_only, p.text(training_only))),
                               fmt::format("'{}' sets up a training step; add -p mode=train", training_only));
      }
    }
  }
  Workload w = def->build(p);
  if (p.text("mode") != "train") return w;
  RDASIM_ASSERT(def->training, fmt::format("workload '{}' declares no training", def->name));
  for (auto& app : w.apps) {
    Training t = def->training(p, app);
    if (p.text("optimizer") != "paper")
      t.optimizer = t.optimizer.for_kind(*graphs::parse_optimizer(p.text("optimizer")));
    if (auto lr = p.real("lr")) t.optimizer.lr = *lr;
    app = graphs::training_step(app, t.loss, t.optimizer).graph;
  }
  w.combine.reset();  // members and parts train independently
  return w;
}

}  // namespace rdasim::workloads
