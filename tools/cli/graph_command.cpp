// `rdasim graph MODEL`: load a model, infer shapes, and show each op's shape and cost; and
// `rdasim ops`: the op kinds rdasim knows, with their attributes.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/text.h"
#include "graphs/algorithms.h"
#include "graphs/export.h"
#include "graphs/import/model.h"
#include "tools/cli/commands.h"

namespace rdasim::tools {

namespace {

struct GraphOptions {
  std::string model;
  std::vector<std::string> params;
  bool json = false;
  std::string dot;
};

void print_table(const graphs::Graph& graph) {
  fmt::print("{:<24} {:<21} {:<22} {:>10} {:>12} {:>12}\n", "op", "kind", "output", "params", "FLOPs", "bytes");
  for (graphs::OpId id : graphs::topological_order(graph)) {
    const auto& op = graph.op(id);
    const auto cost = graphs::op_cost(graph, id);
    std::int64_t params = 0;
    for (auto t : op.inputs) {
      if (t != graphs::k_no_tensor && graph.tensor(t).role == graphs::Role::param) params += graph.tensor(t).elements();
    }
    fmt::print("{:<24} {:<21} {:<22} {:>10} {:>12} {:>12}\n", core::printable(op.name, 24), op.kind,
               graphs::to_string(graph.tensor(op.outputs.at(0)).shape), params, core::format_si(cost.flops, "", 4),
               core::format_si(cost.bytes_read + cost.bytes_written, "B", 4));
  }
  const auto t = graphs::totals(graph);
  fmt::print("\n{}: {} ops, {} params ({}), {} per run; {} read and {} written by the ops\n", graph.name(), t.ops,
             t.params, core::format_bytes(t.param_bytes), core::format_si(t.flops, "FLOP"),
             core::format_si(t.bytes_read, "B"), core::format_si(t.bytes_written, "B"));
}

/// A workload of several applications (GP-DCRNN's parts, ensemble members): one line each.
int print_applications(const workloads::Workload& w, const GraphOptions& opt) {
  if (!opt.dot.empty()) {
    throw core::InputError(core::Location(opt.model),
                           fmt::format("--dot draws one graph; this workload has {} applications", w.apps.size()));
  }
  std::vector<const graphs::Graph*> graphs;
  for (const auto& g : w.apps) graphs.push_back(&g);
  if (w.combine) graphs.push_back(&*w.combine);
  if (opt.json) {
    core::Json apps = core::Json::array();
    for (const auto& g : w.apps) apps.push_back(graphs::to_json(g));
    core::Json out = {{"applications", apps}};
    if (w.combine) out["combine"] = graphs::to_json(*w.combine);
    fmt::print("{}", core::to_json_text(out));
    return 0;
  }
  fmt::print("{:<28} {:>7} {:>10} {:>14} {:>12}\n", "application", "ops", "params", "FLOPs", "inputs");
  double flops = 0;
  for (const auto* g : graphs) {
    const auto t = graphs::totals(*g);
    flops += t.flops;
    fmt::print("{:<28} {:>7} {:>10} {:>14} {:>12}\n", core::printable(g->name(), 28), t.ops, t.params,
               core::format_si(t.flops, "FLOP", 4), core::format_si(t.input_bytes, "B", 4));
  }
  fmt::print("\n{}: {} applications{}, {} in all\n", opt.model, w.apps.size(), w.combine ? " and a combine step" : "",
             core::format_si(flops, "FLOP"));
  return 0;
}

int run_graph(const GraphOptions& opt) {
  const workloads::Workload workload = load_model_argument(opt.model, opt.params);
  if (workload.apps.size() > 1 || workload.combine) return print_applications(workload, opt);
  const graphs::Graph& graph = workload.apps.front();
  if (!opt.dot.empty()) {
    core::write_text_file(opt.dot, graphs::to_dot(graph));
    core::log::info("wrote {}", opt.dot);
  }
  if (opt.json) fmt::print("{}", core::to_json_text(graphs::to_json(graph)));
  else print_table(graph);
  return 0;
}

int run_ops(bool json) {
  const auto& registry = graphs::OpRegistry::instance();
  core::Json list = core::Json::array();
  for (const auto& kind : registry.kinds()) {
    const auto* def = registry.find(kind);
    core::Json attrs = core::Json::array();
    for (const auto& a : def->attrs) {
      core::Json j = {{"name", a.name}, {"type", graphs::to_string(a.type)}};
      if (a.default_value) j["default"] = std::visit([](const auto& v) { return core::Json(v); }, *a.default_value);
      else j["presence"] = a.optional ? "optional" : "required";
      attrs.push_back(std::move(j));
    }
    list.push_back(
        {{"kind", kind}, {"summary", def->summary}, {"attrs", attrs}, {"gradient", static_cast<bool>(def->gradient)}});
  }
  if (json) {
    fmt::print("{}", core::to_json_text(list));
    return 0;
  }
  for (const auto& op : list) {
    std::vector<std::string> attrs;
    for (const auto& a : op["attrs"]) attrs.push_back(a["name"].get<std::string>());
    fmt::print("{:<20} {}{}\n", op["kind"].get<std::string>(), op["summary"].get<std::string>(),
               op["gradient"].get<bool>() ? "" : " [no gradient]");
    if (!attrs.empty()) fmt::print("{:<20}   attributes: {}\n", "", fmt::join(attrs, ", "));
  }
  return 0;
}

}  // namespace

void add_graph_command(CLI::App& app, Runner& run) {
  auto opt = std::make_shared<GraphOptions>();
  auto* graph = app.add_subcommand(
      "graph", "Load a model, infer its shapes and print each op's output shape, parameters, FLOPs and bytes");
  graph
      ->add_option("MODEL", opt->model,
                   "An ONNX model (.onnx), a YAML graph (configs/graphs/*.yaml) or a built-in workload "
                   "(rdasim workloads lists them)")
      ->required();
  graph
      ->add_option("-p,--param", opt->params,
                   "A workload parameter or a model's symbolic dimension, e.g. -p batch=64 (repeatable)")
      ->type_name("NAME=VALUE");
  graph->add_flag("--json", opt->json, "Print the graph with shapes and per-op costs as JSON");
  graph->add_option("--dot", opt->dot, "Also write a Graphviz drawing to this file")->type_name("FILE");
  graph->callback([&run, opt] { run = [opt] { return run_graph(*opt); }; });

  auto json = std::make_shared<bool>(false);
  auto* ops = app.add_subcommand(
      "ops", "List the op kinds rdasim understands, with their attributes and whether training can differentiate them");
  ops->add_flag("--json", *json, "Print as JSON");
  ops->callback([&run, json] { run = [json] { return run_ops(*json); }; });
}

}  // namespace rdasim::tools
