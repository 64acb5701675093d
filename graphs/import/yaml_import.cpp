// YAML graphs: tensors declared by role, ops in any order, attributes typed by the op registry.
#include "graphs/import/yaml_import.h"

#include <fmt/format.h>

#include "core/text.h"
#include "graphs/op_registry.h"
#include "graphs/verify.h"

namespace rdasim::graphs {

namespace {

using core::Bounds;
using core::ConfigNode;

/// A shape: integers, or names of symbolic dimensions declared under `dims`.
void read_shape(const ConfigNode& node, const Graph& g, Tensor& t) {
  for (const auto& d : node.elements()) {
    const std::string text = d.as_string();
    if (g.dims().contains(text)) {
      t.shape.push_back(g.dims().find(text)->second);
      t.dim_names.push_back(text);
    } else {
      if (!text.empty() && (std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_')) {
        std::vector<std::string> names;
        for (const auto& [name, size] : g.dims()) names.push_back(name);
        d.fail(fmt::format("'{}' is not a declared dimension{}; declare it under 'dims'", text,
                           core::did_you_mean(text, names)));
      }
      t.shape.push_back(d.as_int(Bounds::at_least(0)));
      t.dim_names.emplace_back();
    }
  }
}

using NodesByName = std::map<std::string, ConfigNode, std::less<>>;

void read_tensors(const ConfigNode& root, const char* key, Role role, Graph& g, NodesByName& nodes) {
  auto list = root.find(key);
  if (!list) return;
  for (const auto& node : list->elements()) {
    node.check_keys({"name", "shape", "dtype", "values"});
    Tensor t;
    t.name = node.at("name").as_string();
    t.role = role;
    read_shape(node.at("shape"), g, t);
    if (auto dtype = node.find("dtype")) {
      auto parsed = parse_dtype(dtype->as_string());
      if (!parsed)
        dtype->fail(
            fmt::format("expected one of {}, found '{}'", core::quoted_list(dtype_names()), dtype->as_string()));
      t.dtype = *parsed;
    }
    if (auto values = node.find("values")) {
      if (role == Role::input) values->fail("inputs take no values; give them at run time");
      std::vector<double> v;
      for (const auto& x : values->elements()) v.push_back(x.as_double());
      const auto n = checked_elements(t.shape);
      if (!n || static_cast<std::int64_t>(v.size()) != *n) {
        values->fail(
            fmt::format("expected {} values for shape {}, found {}", n.value_or(-1), to_string(t.shape), v.size()));
      }
      t.values = std::move(v);
    } else if (role == Role::constant) {
      node.fail("a const needs its values");
    }
    const std::string name = t.name;
    try {
      g.add_tensor(std::move(t));
    } catch (const core::InputError& e) {
      node.at("name").fail(e.message());
    }
    nodes.emplace(name, node);
  }
}

AttrValue read_attr(const ConfigNode& node, AttrType type) {
  auto ints = [&] {
    std::vector<std::int64_t> v;
    for (const auto& x : node.elements()) v.push_back(x.as_int());
    return v;
  };
  switch (type) {
    case AttrType::int_: return node.as_int();
    case AttrType::float_: return node.as_double();
    case AttrType::string: return node.as_string();
    case AttrType::ints: return ints();
    case AttrType::floats: {
      std::vector<double> v;
      for (const auto& x : node.elements()) v.push_back(x.as_double());
      return v;
    }
    case AttrType::strings: {
      std::vector<std::string> v;
      for (const auto& x : node.elements()) v.push_back(x.as_string());
      return v;
    }
  }
  return std::int64_t{0};
}

}  // namespace

Graph parse_yaml_graph(const ConfigNode& root, const DimBindings& dims) {
  root.check_keys({"name", "description", "dims", "inputs", "params", "consts", "ops", "outputs"});
  Graph g(root.at("name").as_string());
  if (auto declared = root.find("dims")) {
    for (const auto& name : declared->keys()) g.set_dim(name, declared->at(name).as_int(Bounds::at_least(1)));
  }
  for (const auto& [name, size] : dims) {
    if (!g.dims().contains(name)) {
      std::vector<std::string> names;
      for (const auto& [n, s] : g.dims()) names.push_back(n);
      throw core::InputError(
          core::Location(root.location().file, 0, 0, "dims"),
          fmt::format("the graph has no dimension '{}'{}; it has {}", name, core::did_you_mean(name, names),
                      names.empty() ? "none" : core::quoted_list(names)));
    }
    if (size < 1) {
      throw core::InputError(core::Location(root.location().file, 0, 0, "dims." + name),
                             fmt::format("dimension '{}' must be at least 1, found {}", name, size));
    }
    g.set_dim(name, size);
  }
  // Where each op and declared tensor is written, to locate errors found after reading.
  NodesByName nodes;
  read_tensors(root, "inputs", Role::input, g, nodes);
  read_tensors(root, "params", Role::param, g, nodes);
  read_tensors(root, "consts", Role::constant, g, nodes);

  const OpRegistry& registry = OpRegistry::instance();
  const auto ops = root.at("ops").elements();
  // Every op output becomes an activation first, so ops may be listed in any order.
  for (const auto& node : ops) {
    node.check_keys({"name", "op", "inputs", "outputs", "attrs"});
    for (const auto& out : node.at("outputs").elements()) {
      Tensor t;
      t.name = out.as_string();
      if (g.find_tensor(t.name)) out.fail(fmt::format("tensor '{}' is already defined", t.name));
      g.add_tensor(std::move(t));
    }
  }
  for (const auto& node : ops) {
    Op op;
    op.name = node.at("name").as_string();
    op.kind = node.at("op").as_string();
    const OpDef* def = registry.find(op.kind);
    if (!def) {
      node.at("op").fail(fmt::format("unsupported op kind '{}'{}; 'rdasim ops' lists them", op.kind,
                                     core::did_you_mean(op.kind, registry.kinds())));
    }
    for (const auto& in : node.at("inputs").elements()) {
      const std::string name = in.as_string();
      if (name.empty()) {
        op.inputs.push_back(k_no_tensor);
        continue;
      }
      auto id = g.find_tensor(name);
      if (!id)
        in.fail(fmt::format("op '{}' reads '{}', which no input, param, const or op output defines", op.name, name));
      op.inputs.push_back(*id);
    }
    for (const auto& out : node.at("outputs").elements()) op.outputs.push_back(*g.find_tensor(out.as_string()));
    if (auto attrs = node.find("attrs")) {
      std::vector<std::string> names;
      for (const auto& a : def->attrs) names.push_back(a.name);
      attrs->check_keys(names);
      for (const auto& decl : def->attrs) {
        if (auto value = attrs->find(decl.name)) op.attrs.values[decl.name] = read_attr(*value, decl.type);
      }
    }
    try {
      g.add_op(std::move(op));
    } catch (const core::InputError& e) {
      node.fail(e.message());
    }
    nodes.emplace(node.at("name").as_string(), node);
  }
  for (const auto& out : root.at("outputs").elements()) {
    auto id = g.find_tensor(out.as_string());
    if (!id) out.fail(fmt::format("output '{}' is not a tensor of the graph", out.as_string()));
    if (g.tensor(*id).role != Role::activation)
      out.fail(
          fmt::format("output '{}' is a graph {}, not an op result", out.as_string(), to_string(g.tensor(*id).role)));
    g.mark_output(*id);
  }
  try {
    infer_shapes(g);
  } catch (const core::InputError& e) {
    // Point at the op or tensor in the file when the error names one.
    auto it = nodes.find(e.where().key_path);
    if (it != nodes.end()) it->second.fail(e.message());
    throw core::InputError(core::Location(root.location().file, 0, 0, e.where().key_path), e.message());
  }
  return g;
}

Graph load_yaml_graph(const std::filesystem::path& path, const DimBindings& dims) {
  return parse_yaml_graph(ConfigNode::load_file(path), dims);
}

}  // namespace rdasim::graphs
