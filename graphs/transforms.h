// Graph-to-graph transformations. Each returns a new graph that has passed the verifier.
#pragma once

#include "graphs/graph.h"

namespace rdasim::graphs {

/// Removes the ops whose outputs shape inference has computed (infer_shapes' value
/// propagation: the Shape -> Gather -> Unsqueeze -> Concat chains exporters write before a
/// Reshape or Expand); their outputs become constants. Ops that produce graph outputs stay,
/// and so do every input and param; constants nothing reads any more are dropped.
[[nodiscard]] Graph fold_constants(const Graph& graph);

}  // namespace rdasim::graphs
