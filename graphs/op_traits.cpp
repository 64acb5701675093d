// Names of the trait enums and the traits shared by families of op kinds.
#include "graphs/op_traits.h"

#include <algorithm>
#include <utility>

#include "graphs/op_registry.h"

namespace rdasim::graphs {

const char* to_string(Engine engine) {
  switch (engine) {
    case Engine::none: return "none";
    case Engine::matrix: return "matrix";
    case Engine::vector: return "vector";
    case Engine::memory: return "memory";
    case Engine::link: return "link";
  }
  return "?";
}

std::optional<Engine> engine_from_string(std::string_view name) {
  for (Engine e : {Engine::none, Engine::matrix, Engine::vector, Engine::memory, Engine::link}) {
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
    case GpuKernel::collective: return "collective";
  }
  return "?";
}

const char* to_string(Dependency dependency) {
  switch (dependency) {
    case Dependency::same: return "same";
    case Dependency::slice: return "slice";
    case Dependency::window: return "window";
    case Dependency::prefix: return "prefix";
    case Dependency::all: return "all";
  }
  return "?";
}

std::optional<Dependency> dependency_from_string(std::string_view name) {
  for (Dependency d : {Dependency::same, Dependency::slice, Dependency::window, Dependency::prefix, Dependency::all}) {
    if (name == to_string(d)) return d;
  }
  return std::nullopt;
}

StreamNeed aligned_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis, Dependency dependency) {
  const Shape& in = ctx.in_shape(slot);
  const Shape& out = ctx.output(0).shape;
  const auto axis = static_cast<std::int64_t>(out_axis) - static_cast<std::int64_t>(out.size()) +
                    static_cast<std::int64_t>(in.size());
  if (axis < 0 || in[static_cast<std::size_t>(axis)] != out[out_axis]) return StreamNeed::whole();
  return {dependency, static_cast<int>(axis), 0};
}

StreamNeed mixing_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis,
                       const std::vector<std::size_t>& mixed) {
  const Shape& in = ctx.in_shape(slot);
  const auto is_mixed = [&](std::size_t a) { return std::find(mixed.begin(), mixed.end(), a) != mixed.end(); };
  std::size_t axis = out_axis;
  if (ctx.output(0).shape.size() != in.size()) {  // the combined axes dropped: find the kept one
    std::size_t kept = 0;
    for (axis = 0; axis < in.size(); ++axis) {
      if (is_mixed(axis)) continue;
      if (kept++ == out_axis) break;
    }
  }
  if (axis >= in.size() || is_mixed(axis)) return StreamNeed::whole();
  return {Dependency::slice, static_cast<int>(axis), 0};
}

namespace {

StreamNeed elementwise_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
  return aligned_need(ctx, slot, out_axis);
}

}  // namespace

OpTraits elementwise_traits() {
  OpTraits t;
  t.stream = elementwise_need;
  return t;
}

OpTraits transcendental_traits() {
  OpTraits t = elementwise_traits();
  t.transcendental = true;
  return t;
}

OpTraits reduction_traits(StreamRule stream) {
  OpTraits t;
  t.reduces = true;
  t.stream = std::move(stream);
  return t;
}

OpTraits view_traits() {
  OpTraits t = elementwise_traits();
  t.engine = Engine::none;
  t.gpu = GpuKernel::none;
  return t;
}

OpTraits movement_traits(GpuKernel gpu) {
  OpTraits t = elementwise_traits();
  t.engine = Engine::memory;
  t.gpu = gpu;
  return t;
}

OpTraits link_traits(LinkKind link, StreamRule stream) {
  OpTraits t;
  t.engine = Engine::link;
  t.link = link;
  t.gpu = GpuKernel::collective;
  t.stream = std::move(stream);
  return t;
}

OpTraits matrix_traits(GpuKernel gpu, std::function<GemmView(const OpContext&)> gemm, StreamRule stream) {
  OpTraits t;
  t.engine = Engine::matrix;
  t.gpu = gpu;
  t.gemm = std::move(gemm);
  t.stream = std::move(stream);
  return t;
}

}  // namespace rdasim::graphs
