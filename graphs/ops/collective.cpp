// Collectives and transfers between the devices of a system: AllReduce, AllGather,
// ReduceScatter, Send and Recv. A sharded graph (graphs/parallel.h) holds every device's ops in
// one graph; a collective takes one input per rank and gives one output per rank, rank i on
// device `devices[i]`, so the functional reference runs a sharded graph as it runs any other and
// proves it equal to the unsharded one. What the links carry and how long it takes is the
// algorithm's business (arch/collective.h), not the kernel's: the reference kernels sum in rank
// order.
#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "graphs/ops/helpers.h"
#include "graphs/ops/kernel_helpers.h"

namespace rdasim::graphs {

namespace {

using namespace ops;
using namespace kernels;

/// The `devices` attribute: one device per rank, as many as the inputs, each once.
std::vector<std::int64_t> rank_devices(const OpContext& ctx) {
  const auto devices = ctx.attrs().get_ints("devices");
  if (devices.size() != ctx.num_inputs()) {
    ctx.fail(fmt::format("has {} inputs but devices lists {}; expected one device per rank", ctx.num_inputs(),
                         devices.size()));
  }
  std::vector<std::int64_t> sorted = devices;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() || (!sorted.empty() && sorted.front() < 0)) {
    ctx.fail("devices must be distinct and >= 0");
  }
  if (ctx.op().outputs.size() != ctx.num_inputs()) {
    ctx.fail(fmt::format("has {} inputs and {} outputs; expected one output per rank", ctx.num_inputs(),
                         ctx.op().outputs.size()));
  }
  return devices;
}

void require_same_shapes(const OpContext& ctx) {
  for (std::size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.in_shape(i) != ctx.in_shape(0) || ctx.in_dtype(i) != ctx.in_dtype(0)) {
      ctx.fail(fmt::format("rank {} gives '{}' {} but rank 0 gives {}; every rank's buffer must match", i,
                           ctx.input(i).name, to_string(ctx.in_shape(i)), to_string(ctx.in_shape(0))));
    }
  }
}

/// Per-rank sizes along `axis` of a ReduceScatter's outputs: the `splits` attribute, or as
/// even as they come (the first dim % n ranks one larger).
std::vector<std::int64_t> scatter_splits(std::int64_t extent, std::size_t ranks, std::vector<std::int64_t> given) {
  if (!given.empty()) return given;
  std::vector<std::int64_t> splits(ranks, extent / static_cast<std::int64_t>(ranks));
  for (std::size_t i = 0; i < static_cast<std::size_t>(extent % static_cast<std::int64_t>(ranks)); ++i) ++splits[i];
  return splits;
}

std::vector<TensorInfo> all_reduce_infer(const OpContext& ctx) {
  rank_devices(ctx);
  const std::string algorithm = ctx.attrs().get_string("algorithm", "direct");
  if (algorithm != "direct" && algorithm != "ring") {
    ctx.fail(fmt::format("algorithm '{}'; expected direct or ring (the order its sum is taken in)", algorithm));
  }
  const std::string link = ctx.attrs().get_string("link_dtype", "f32");
  if (link != "f32" && link != "bf16") ctx.fail(fmt::format("link_dtype '{}'; expected f32 or bf16", link));
  require_same_shapes(ctx);
  return std::vector<TensorInfo>(ctx.num_inputs(), {ctx.in_shape(0), ctx.in_dtype(0)});
}

std::vector<TensorInfo> all_gather_infer(const OpContext& ctx) {
  rank_devices(ctx);
  const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", 0), ctx.in_shape(0).size(), "axis");
  const auto [out, bad] = joined_shape(ctx, axis);
  if (bad) {
    ctx.fail(fmt::format("rank {} gives '{}' {}, which does not match rank 0's {} outside axis {}", *bad,
                         ctx.input(*bad).name, to_string(ctx.in_shape(*bad)), to_string(ctx.in_shape(0)), axis));
  }
  return std::vector<TensorInfo>(ctx.num_inputs(), {out, ctx.in_dtype(0)});
}

std::vector<TensorInfo> reduce_scatter_infer(const OpContext& ctx) {
  rank_devices(ctx);
  require_same_shapes(ctx);
  const Shape& in = ctx.in_shape(0);
  const std::size_t axis = ctx.normalize_axis(ctx.attrs().get_int("axis", 0), in.size(), "axis");
  const auto splits = scatter_splits(in[axis], ctx.num_inputs(), ctx.attrs().get_ints("splits"));
  if (splits.size() != ctx.num_inputs() || std::accumulate(splits.begin(), splits.end(), std::int64_t{0}) != in[axis] ||
      std::any_of(splits.begin(), splits.end(), [](std::int64_t s) { return s < 0; })) {
    ctx.fail(fmt::format("splits must give each of the {} ranks a part (>= 0) and add up to {} along axis {}",
                         ctx.num_inputs(), in[axis], axis));
  }
  std::vector<TensorInfo> out;
  for (const std::int64_t s : splits) {
    Shape part = in;
    part[axis] = s;
    out.push_back({part, ctx.in_dtype(0)});
  }
  return out;
}

std::vector<TensorInfo> transfer_infer(const OpContext& ctx) {
  const auto from = ctx.attrs().get_int("from", 0), to = ctx.attrs().get_int("to", 0);
  if (from < 0 || to < 0 || from == to) {
    ctx.fail(fmt::format("moves from device {} to device {}; expected two distinct devices >= 0", from, to));
  }
  return same_as_input(ctx);
}

/// A value as the links carry it: `link_dtype` bf16 rounds what crosses a link.
template <class T>
T on_link(T v, bool bf16) {
  return bf16 ? static_cast<T>(round_to_bf16(static_cast<float>(v))) : v;
}

/// Sums in the order the algorithm does. `direct` (and one-shot): each rank adds every rank's
/// buffer in rank order. `ring`: chunk c starts at rank c + 1 and gathers one rank per hop, the
/// running sum crossing a link (in `link_dtype`) at every hop, as a ring reduce-scatter does.
struct AllReduceKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const std::size_t n = io.num_inputs();
    const bool bf16 = io.attrs().get_string("link_dtype", "f32") == "bf16";
    std::vector<T> sum(io.in(0).size());
    if (io.attrs().get_string("algorithm", "direct") == "ring" && n > 1) {
      const auto chunks = ops::even_chunks(sum.size(), n);
      for (std::size_t c = 0; c < n; ++c) {
        for (std::size_t i = chunks[c]; i < chunks[c + 1]; ++i) {
          T acc = io.in((c + 1) % n).data[i];
          for (std::size_t hop = 2; hop <= n; ++hop) acc = on_link(acc, bf16) + io.in((c + hop) % n).data[i];
          sum[i] = acc;
        }
      }
    } else {
      sum = io.in(0).data;
      for (std::size_t r = 1; r < n; ++r) {
        const auto& x = io.in(r).data;
        for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += on_link(x[i], bf16);
      }
    }
    for (std::size_t r = 0; r < io.num_outputs(); ++r) io.out(r).data = sum;
  }
};

struct AllGatherKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    Array<T>& y = io.out(0);
    join_inputs(io, axis_index(io.attrs().get_int("axis", 0), y.shape.size()), y);
    for (std::size_t r = 1; r < io.num_outputs(); ++r) io.out(r).data = y.data;
  }
};

struct ReduceScatterKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    const Array<T>& x0 = io.in(0);
    std::vector<T> sum(x0.data);
    for (std::size_t r = 1; r < io.num_inputs(); ++r) {
      const auto& x = io.in(r).data;
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += x[i];
    }
    const std::size_t axis = axis_index(io.attrs().get_int("axis", 0), x0.shape.size());
    const std::int64_t outer = product(x0.shape, 0, axis), inner = product(x0.shape, axis + 1, x0.shape.size());
    std::int64_t at = 0;
    for (std::size_t r = 0; r < io.num_outputs(); ++r) {
      Array<T>& y = io.out(r);
      const std::int64_t slab = y.shape[axis] * inner;
      for (std::int64_t o = 0; o < outer; ++o) {
        std::copy_n(sum.begin() + o * x0.shape[axis] * inner + at, slab, y.data.begin() + o * slab);
      }
      at += slab;
    }
  }
};

struct TransferKernel {
  template <class T>
  static void run(const KernelIO<T>& io) {
    io.out(0).data = io.in(0).data;
  }
};

/// Rank-wise collectives stream element by element; one that cuts or joins along its axis
/// needs its input whole when that axis streams.
StreamNeed along_axis_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
  const std::size_t axis = axis_index(ctx.attrs().get_int("axis", 0), ctx.in_shape(slot).size());
  if (axis == out_axis) return StreamNeed::whole();
  return {Dependency::same, static_cast<int>(out_axis), 0};
}

StreamNeed same_need(const OpContext& ctx, std::size_t slot, std::size_t out_axis) {
  return aligned_need(ctx, slot, out_axis);
}

OpDef collective(std::string kind, std::string summary, LinkKind link, StreamRule stream) {
  OpDef def;
  def.kind = std::move(kind);
  def.summary = std::move(summary);
  def.min_inputs = 1;
  def.max_inputs = k_variadic;
  def.min_outputs = 1;
  def.max_outputs = k_variadic;
  def.attrs = {attr_required("devices", AttrType::ints)};
  def.traits = link_traits(link, std::move(stream));
  return def;
}

/// A reduction adds n - 1 buffers, element by element.
double reduce_flops(const OpContext& ctx) { return static_cast<double>(ctx.num_inputs() - 1) * count(ctx.in_shape(0)); }

}  // namespace

void register_collective_ops(OpRegistry& r) {
  OpDef all_reduce =
      collective("AllReduce", "every rank gets the sum of all ranks' buffers", LinkKind::all_reduce, same_need);
  all_reduce.attrs.push_back(attr_string("algorithm", "direct"));
  all_reduce.attrs.push_back(attr_string("link_dtype", "f32"));
  all_reduce.infer = all_reduce_infer;
  all_reduce.flops = reduce_flops;
  all_reduce.kernel = make_kernel<AllReduceKernel>();
  r.add(std::move(all_reduce));

  OpDef all_gather = collective("AllGather", "every rank gets all ranks' parts joined along an axis (parts may differ)",
                                LinkKind::all_gather, along_axis_need);
  all_gather.attrs.push_back(attr_int("axis", 0));
  all_gather.infer = all_gather_infer;
  all_gather.flops = [](const OpContext&) { return 0.0; };
  all_gather.kernel = make_kernel<AllGatherKernel>();
  r.add(std::move(all_gather));

  OpDef reduce_scatter =
      collective("ReduceScatter", "every rank gets its part (splits along an axis) of the sum of all ranks' buffers",
                 LinkKind::reduce_scatter, along_axis_need);
  reduce_scatter.attrs.push_back(attr_int("axis", 0));
  reduce_scatter.attrs.push_back(attr_ints("splits"));
  reduce_scatter.infer = reduce_scatter_infer;
  reduce_scatter.flops = reduce_flops;
  reduce_scatter.kernel = make_kernel<ReduceScatterKernel>();
  r.add(std::move(reduce_scatter));

  for (const char* kind : {"Send", "Recv"}) {
    OpDef transfer;
    transfer.kind = kind;
    transfer.summary = std::string(kind) == "Send" ? "a tensor leaves device `from` for device `to`"
                                                   : "a tensor sent from device `from` arrives on device `to`";
    transfer.attrs = {attr_required("from", AttrType::int_), attr_required("to", AttrType::int_)};
    transfer.infer = transfer_infer;
    transfer.flops = [](const OpContext&) { return 0.0; };
    transfer.kernel = make_kernel<TransferKernel>();
    transfer.traits = link_traits(std::string(kind) == "Send" ? LinkKind::send : LinkKind::recv, same_need);
    r.add(std::move(transfer));
  }
}

}  // namespace rdasim::graphs
