// Names of the trait enums and the traits shared by families of op kinds.
#include "graphs/op_traits.h"

#include <utility>

namespace rdasim::graphs {

const char* to_string(Engine engine) {
  switch (engine) {
    case Engine::none: return "none";
    case Engine::matrix: return "matrix";
    case Engine::vector: return "vector";
    case Engine::memory: return "memory";
  }
  return "?";
}

std::optional<Engine> engine_from_string(std::string_view name) {
  for (Engine e : {Engine::none, Engine::matrix, Engine::vector, Engine::memory}) {
    if (name == to_string(e)) return e;
  }
  return std::nullopt;
}

const char* to_string(GpuKernel kernel) {
  switch (kernel) {
    case GpuKernel::none: return "none";
    case GpuKernel::matmul: return "matmul";
    case GpuKernel::conv: return "conv";
    case GpuKernel::sparse: return "sparse";
    case GpuKernel::vector: return "vector";
  }
  return "?";
}

OpTraits elementwise_traits() { return {}; }

OpTraits transcendental_traits() {
  OpTraits t;
  t.transcendental = true;
  return t;
}

OpTraits reduction_traits() {
  OpTraits t;
  t.reduces = true;
  return t;
}

OpTraits view_traits() {
  OpTraits t;
  t.engine = Engine::none;
  t.gpu = GpuKernel::none;
  return t;
}

OpTraits movement_traits(GpuKernel gpu) {
  OpTraits t;
  t.engine = Engine::memory;
  t.gpu = gpu;
  return t;
}

OpTraits matrix_traits(GpuKernel gpu, std::function<GemmView(const OpContext&)> gemm) {
  OpTraits t;
  t.engine = Engine::matrix;
  t.gpu = gpu;
  t.gemm = std::move(gemm);
  return t;
}

}  // namespace rdasim::graphs
