// Graph-to-graph transformations. Each returns a new graph that has passed the verifier.
#pragma once

#include <string>
#include <vector>

#include "graphs/graph.h"

namespace rdasim::graphs {

/// Removes the ops whose outputs shape inference has computed (infer_shapes' value
/// propagation: the Shape -> Gather -> Unsqueeze -> Concat chains exporters write before a
/// Reshape or Expand); their outputs become constants. Ops that produce graph outputs stay,
/// and so do every input and param; constants nothing reads any more are dropped.
[[nodiscard]] Graph fold_constants(const Graph& graph);

/// The graph with `prefix` before every tensor and op name and as its name: ensemble members
/// are copies of one model whose params, named apart, draw apart from the seeded initializer.
[[nodiscard]] Graph with_prefix(const Graph& graph, const std::string& prefix);

/// Gives the graph's params and constants the values of `weights`, matched by name with '.'
/// read as '/' (PyTorch's module paths as rdasim's builders name tensors). Throws
/// core::InputError naming `source` for a weight the graph has no tensor for, one whose shape
/// differs, or a param the weights leave without values. Returns the number of tensors set.
std::size_t load_weights(Graph& graph, const std::vector<Tensor>& weights, const std::string& source);

/// Replaces every GRU and LSTM op by the primitives it is made of, unrolled over the sequence:
/// one MatMul for the input projection of all steps, then per step and direction a MatMul of
/// the state with R, Split into gates, the gate activations and the state update; Concat and
/// Transpose assemble Y, Y_h and Y_c in the composite's layout. This is what the mapper places
/// on PCUs. Throws core::UnsupportedError naming the op for sequence_lens other than constant full
/// lengths (ragged batches) and
/// for activations other than Sigmoid, Tanh, Relu and LeakyRelu.
[[nodiscard]] Graph expand_recurrent(const Graph& graph);
/// Whether the graph has a GRU or LSTM op for expand_recurrent to unroll.
[[nodiscard]] bool has_recurrent(const Graph& graph);

}  // namespace rdasim::graphs
