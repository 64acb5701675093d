// Shape inference and the IR verifier. Importers call infer_shapes; every transformation ends
// with verify, which fails loudly at the first broken invariant (as MLIR's verifier does).
#pragma once

#include "graphs/graph.h"

namespace rdasim::graphs {

/// Checks the structure (known op kinds, input and output counts, attribute names and types,
/// roles against producers, no cycles, valid shapes of sources), then fills in the shape and
/// type of every op output in topological order. Throws core::InputError naming the op or
/// tensor at fault.
void infer_shapes(Graph& graph);

/// Everything infer_shapes checks, and that every op output has the shape and type its shape
/// rule gives. Throws core::InputError naming the op or tensor at fault.
void verify(const Graph& graph);

}  // namespace rdasim::graphs
