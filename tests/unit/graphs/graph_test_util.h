// Builds small graphs for shape-rule tests: one op over given input shapes.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "graphs/editor.h"
#include "graphs/graph.h"
#include "graphs/verify.h"

namespace rdasim::test {

struct In {
  std::string name;
  graphs::Shape shape;
  graphs::DType dtype = graphs::DType::f32;
  std::optional<std::vector<double>> values = std::nullopt;  ///< makes it a const
};

/// A graph with one op of `kind` reading `inputs` ("" for an omitted one) and writing
/// `outputs` outputs; shapes are inferred. Throws what infer_shapes throws.
inline graphs::Graph one_op(const std::string& kind, const std::vector<In>& inputs, std::size_t outputs = 1,
                            graphs::Attrs attrs = {}) {
  graphs::Graph g("test");
  graphs::Op op;
  op.name = "op";
  op.kind = kind;
  op.attrs = std::move(attrs);
  for (const auto& in : inputs) {
    if (in.name.empty()) {
      op.inputs.push_back(graphs::k_no_tensor);
      continue;
    }
    graphs::Tensor t;
    t.name = in.name;
    t.shape = in.shape;
    t.dtype = in.dtype;
    t.role = graphs::Role::input;
    if (in.values) {
      t.values.emplace(*in.values);
      t.role = graphs::Role::constant;
    }
    op.inputs.push_back(g.add_tensor(std::move(t)));
  }
  for (std::size_t i = 0; i < outputs; ++i) {
    graphs::Tensor t;
    t.name = "out" + std::to_string(i);
    t.role = graphs::Role::output;
    op.outputs.push_back(g.add_tensor(std::move(t)));
  }
  g.add_op(std::move(op));
  graphs::infer_shapes(g);
  graphs::verify(g);
  return g;
}

/// The shape of output `i` of one_op.
inline graphs::Shape out_shape(const graphs::Graph& g, std::size_t i = 0) {
  return g.tensor(g.ops()[0].outputs.at(i)).shape;
}

inline In ints(std::string name, std::vector<double> values) {
  const auto n = static_cast<std::int64_t>(values.size());
  return In{std::move(name), {n}, graphs::DType::i64, std::move(values)};
}

inline graphs::Attrs attrs(std::initializer_list<std::pair<const std::string, graphs::AttrValue>> list) {
  return graphs::make_attrs(list);
}

}  // namespace rdasim::test
