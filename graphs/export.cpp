// JSON and DOT views, and totals.
#include "graphs/export.h"

#include <fmt/format.h>

#include "core/text.h"
#include "graphs/algorithms.h"

namespace rdasim::graphs {

namespace {

core::Json attr_json(const AttrValue& value) {
  return std::visit([](const auto& v) { return core::Json(v); }, value);
}

std::string dot_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

GraphTotals totals(const Graph& graph) {
  GraphTotals t;
  t.ops = static_cast<std::int64_t>(graph.ops().size());
  for (const Tensor& tensor : graph.tensors()) {
    if (tensor.role == Role::param) t.params += tensor.elements();
    if (tensor.role == Role::param || tensor.role == Role::constant)
      t.param_bytes += static_cast<double>(tensor.bytes());
    if (tensor.role == Role::state) t.state_bytes += static_cast<double>(tensor.bytes());
    if (tensor.role == Role::input) t.input_bytes += static_cast<double>(tensor.bytes());
    if (tensor.role == Role::output) t.output_bytes += static_cast<double>(tensor.bytes());
  }
  for (std::size_t i = 0; i < graph.ops().size(); ++i) {
    const Cost c = op_cost(graph, static_cast<OpId>(i));
    t.flops += c.flops;
    t.bytes_read += c.bytes_read;
    t.bytes_written += c.bytes_written;
  }
  return t;
}

core::Json to_json(const Graph& graph) {
  core::Json tensors = core::Json::array();
  for (const Tensor& t : graph.tensors()) {
    core::Json j = {{"name", t.name}, {"role", to_string(t.role)}, {"dtype", to_string(t.dtype)}, {"shape", t.shape}};
    bool symbolic = false;
    for (const auto& d : t.dim_names) symbolic = symbolic || !d.empty();
    if (symbolic) j["dim_names"] = t.dim_names;
    tensors.push_back(std::move(j));
  }
  core::Json ops = core::Json::array();
  for (OpId id : topological_order(graph)) {
    const Op& op = graph.op(id);
    core::Json inputs = core::Json::array();
    for (TensorId t : op.inputs) inputs.push_back(t == k_no_tensor ? std::string() : graph.tensor(t).name);
    core::Json outputs = core::Json::array();
    for (TensorId t : op.outputs) outputs.push_back(graph.tensor(t).name);
    core::Json attrs = core::Json::object();
    for (const auto& [name, value] : op.attrs.values) attrs[name] = attr_json(value);
    const Cost c = op_cost(graph, id);
    ops.push_back({{"name", op.name},
                   {"kind", op.kind},
                   {"inputs", inputs},
                   {"outputs", outputs},
                   {"attrs", attrs},
                   {"output_shape", graph.tensor(op.outputs.at(0)).shape},
                   {"flops", c.flops},
                   {"bytes_read", c.bytes_read},
                   {"bytes_written", c.bytes_written},
                   {"param_bytes", c.param_bytes}});
    if (op.device != 0) ops.back()["device"] = op.device;
  }
  const GraphTotals t = totals(graph);
  core::Json dims = core::Json::object();
  for (const auto& [name, size] : graph.dims()) dims[name] = size;
  return {{"name", graph.name()},
          {"dims", dims},
          {"totals",
           {{"ops", t.ops},
            {"params", t.params},
            {"param_bytes", t.param_bytes},
            {"flops", t.flops},
            {"bytes_read", t.bytes_read},
            {"bytes_written", t.bytes_written},
            {"input_bytes", t.input_bytes},
            {"output_bytes", t.output_bytes}}},
          {"tensors", tensors},
          {"ops", ops}};
}

std::string to_dot(const Graph& graph) {
  std::string dot = fmt::format("digraph \"{}\" {{\n  rankdir=TB;\n  node [fontname=\"sans-serif\" fontsize=10];\n",
                                dot_escape(graph.name()));
  for (const Tensor& t : graph.tensors()) {
    if (t.role == Role::input || t.role == Role::output) {
      dot += fmt::format("  \"t:{}\" [shape=ellipse style=filled fillcolor=\"{}\" label=\"{}\\n{} {}\"];\n",
                         dot_escape(t.name), t.role == Role::input ? "#d8e8f8" : "#f8e0c8", dot_escape(t.name),
                         to_string(t.dtype), to_string(t.shape));
    }
  }
  for (std::size_t i = 0; i < graph.ops().size(); ++i) {
    const Op& op = graph.ops()[i];
    const Cost c = op_cost(graph, static_cast<OpId>(i));
    std::string params;
    for (TensorId t : op.inputs) {
      if (t != k_no_tensor && is_stored(graph.tensor(t).role)) {
        params += fmt::format("\\n{} {}", dot_escape(graph.tensor(t).name), to_string(graph.tensor(t).shape));
      }
    }
    dot += fmt::format("  \"o:{}\" [shape=box style=rounded label=\"{}\\n{}\\n{}{}\"];\n", dot_escape(op.name),
                       dot_escape(op.name), op.kind, core::format_si(c.flops, "FLOP", 3), params);
  }
  // Edges: producer (op or graph input) to consumer op, and ops to graph outputs.
  for (std::size_t i = 0; i < graph.ops().size(); ++i) {
    const Op& op = graph.ops()[i];
    for (TensorId t : op.inputs) {
      if (t == k_no_tensor) continue;
      const Tensor& in = graph.tensor(t);
      if (in.producer >= 0) {
        dot += fmt::format("  \"o:{}\" -> \"o:{}\" [label=\"{}\"];\n", dot_escape(graph.op(in.producer).name),
                           dot_escape(op.name), to_string(in.shape));
      } else if (in.role == Role::input) {
        dot += fmt::format("  \"t:{}\" -> \"o:{}\";\n", dot_escape(in.name), dot_escape(op.name));
      }
    }
    for (TensorId t : op.outputs) {
      if (graph.tensor(t).role == Role::output) {
        dot += fmt::format("  \"o:{}\" -> \"t:{}\";\n", dot_escape(op.name), dot_escape(graph.tensor(t).name));
      }
    }
  }
  dot += "}\n";
  return dot;
}

}  // namespace rdasim::graphs
