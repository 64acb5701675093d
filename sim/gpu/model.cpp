#include "sim/gpu/model.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "graphs/algorithms.h"
#include "graphs/op_registry.h"

namespace rdasim::gpu {

using graphs::Graph;
using graphs::Op;
using graphs::OpId;
using graphs::TensorId;

const char* to_string(Precision precision) { return precision == Precision::fp32 ? "fp32" : "bf16"; }

const char* to_string(Limit limit) {
  switch (limit) {
    case Limit::compute: return "compute";
    case Limit::memory: return "memory";
    case Limit::latency: return "latency";
  }
  return "?";
}

namespace {

constexpr double k_tera = 1e12;
constexpr double k_micro = 1e-6;

/// Ops the framework runs without a kernel: views and constants (their traits say so).
bool runs_no_kernel(const Graph& graph, OpId op) { return graphs::gpu_kernel(graph, op) == KernelClass::none; }

/// Bytes of a tensor as the run stores it: floating tensors in the run's precision.
double stored_bytes(const graphs::Tensor& t, Precision precision) {
  if (precision == Precision::bf16 && graphs::is_float(t.dtype)) return static_cast<double>(t.elements()) * 2.0;
  return static_cast<double>(t.bytes());
}

/// The registry's traffic of one op, floating tensors scaled to the run's precision.
double op_bytes(const Graph& graph, OpId id, const graphs::Cost& cost, Precision precision) {
  const Op& op = graph.op(id);
  double as_stored = 0, as_declared = 0;
  auto add = [&](TensorId t) {
    if (t == graphs::k_no_tensor) return;
    as_stored += stored_bytes(graph.tensor(t), precision);
    as_declared += static_cast<double>(graph.tensor(t).bytes());
  };
  for (TensorId t : op.inputs) add(t);
  for (TensorId t : op.outputs) add(t);
  const double scale = as_declared > 0 ? as_stored / as_declared : 1.0;
  return (cost.bytes_read + cost.bytes_written) * scale;
}

/// GEMM shape of a matmul or (implicit-GEMM) convolution: batch x [M, N] outputs, depth K.
struct GemmShape {
  double batch = 1, m = 1, n = 1, k = 1;
};

GemmShape gemm_shape(const Graph& graph, OpId id, KernelClass cls, double flops) {
  const Op& op = graph.op(id);
  // Attention's output is not its GEMM: the registry's view packs a KV head's query rows
  // together as GQA kernels do (one query row per sequence in decode would waste a whole tile).
  if (op.kind == graphs::kind::grouped_query_attention) {
    const graphs::GemmView v = graphs::gemm_view(graph, id);
    return {static_cast<double>(v.batch), static_cast<double>(v.m), static_cast<double>(v.n), static_cast<double>(v.k)};
  }
  const auto& out = graph.tensor(op.outputs.at(0));
  const auto& shape = out.shape;
  const double elements = static_cast<double>(std::max<std::int64_t>(out.elements(), 1));
  GemmShape g;
  if (cls == KernelClass::conv) {
    g.n = shape.size() > 1 ? static_cast<double>(shape[1]) : 1.0;  // output channels
    g.m = elements / g.n;                                          // images x positions
  } else if (shape.size() >= 2) {
    g.m = static_cast<double>(shape[shape.size() - 2]);
    g.n = static_cast<double>(shape.back());
    g.batch = elements / (g.m * g.n);
    // A 2-D right operand (a weight) folds the batch into M: one large GEMM, as PyTorch runs it.
    if (op.inputs.size() > 1 && op.inputs[1] != graphs::k_no_tensor && graph.tensor(op.inputs[1]).shape.size() <= 2) {
      g.m *= g.batch;
      g.batch = 1;
    }
  } else {
    g.n = elements;
  }
  g.k = std::max(1.0, flops / (2.0 * g.batch * g.m * g.n));
  return g;
}

/// Device seconds of a GEMM: waves of output tiles over the SMs, each tile t x t x K/splits,
/// partial tiles and partial waves paid in full; split-K when tiles are fewer than SMs.
double gemm_seconds(GemmShape g, const arch::GpuSpec& spec, double rate_flops) {
  const double t = spec.matmul_tile;
  const double sms = spec.multiprocessors;
  const double tiles = std::ceil(g.m / t) * std::ceil(g.n / t) * g.batch;
  double splits = 1;
  if (tiles < sms && g.k > spec.split_k_depth) {
    splits = std::max(1.0, std::min(std::ceil(g.k / spec.split_k_depth), std::floor(sms / tiles)));
  }
  const double waves = std::ceil(tiles * splits / sms);
  const double per_tile_flops = 2.0 * t * t * std::ceil(g.k / splits);
  return waves * sms * per_tile_flops / rate_flops;
}

double compute_rate(KernelClass cls, Precision precision, const arch::GpuSpec& spec) {
  const auto& e = spec.efficiency;
  const auto& p = spec.peak;
  switch (cls) {
    case KernelClass::matmul: return (precision == Precision::bf16 ? p.bf16_tflops : p.fp32_tflops) * e.matmul * k_tera;
    case KernelClass::conv:
      if (precision == Precision::bf16) return p.bf16_tflops * e.conv_bf16 * k_tera;
      return spec.framework.tf32_convs ? p.tf32_tflops * e.conv_tf32 * k_tera : p.fp32_tflops * e.matmul * k_tera;
    case KernelClass::sparse:
    case KernelClass::collective:  // the reduction's additions
    case KernelClass::vector: return p.fp32_tflops * e.vector * k_tera;
    case KernelClass::none: break;
  }
  return 1;
}

/// Extra bytes a concatenation moves because it writes each input as runs shorter than a memory
/// sector (torch.stack along the innermost axis interleaves single elements): whole sectors
/// are paid for each run.
double concat_sector_waste(const Graph& graph, const Op& op, Precision precision, double sector_bytes) {
  const auto& out = graph.tensor(op.outputs.at(0));
  const auto rank = static_cast<std::int64_t>(out.shape.size());
  if (rank == 0) return 0;
  std::int64_t axis = op.attrs.get_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return 0;
  double waste = 0;
  for (TensorId in : op.inputs) {
    if (in == graphs::k_no_tensor) continue;
    const auto& t = graph.tensor(in);
    const double element = t.elements() > 0 ? stored_bytes(t, precision) / static_cast<double>(t.elements()) : 0;
    double run = element;
    for (std::size_t d = static_cast<std::size_t>(axis); d < t.shape.size(); ++d)
      run *= static_cast<double>(t.shape[d]);
    if (run > 0 && run < sector_bytes) waste += stored_bytes(t, precision) * (sector_bytes / run - 1);
  }
  return waste;
}

/// A kernel to be timed: its ops and what they read and write.
struct Group {
  std::vector<OpId> ops;
  KernelClass cls = KernelClass::vector;
};

/// Tensors seen through views: the tensor a view's output aliases.
std::vector<TensorId> view_roots(const Graph& graph, const std::vector<OpId>& order) {
  std::vector<TensorId> root(graph.tensors().size());
  for (std::size_t t = 0; t < root.size(); ++t) root[t] = static_cast<TensorId>(t);
  for (OpId id : order) {
    const Op& op = graph.op(id);
    if (!runs_no_kernel(graph, id) || op.inputs.empty() || op.inputs[0] == graphs::k_no_tensor) continue;
    for (TensorId out : op.outputs) root[static_cast<std::size_t>(out)] = root[static_cast<std::size_t>(op.inputs[0])];
  }
  return root;
}

class Estimator {
 public:
  Estimator(const Graph& graph, const arch::GpuSpec& spec, const Options& options)
      : m_graph(graph),
        m_spec(spec),
        m_options(options),
        m_order(graphs::topological_order(graph)),
        m_root(view_roots(graph, m_order)),
        m_group_of(graph.ops().size(), -1) {}

  Estimate run() {
    form_groups();
    Estimate e;
    double host_clock = 0, device_clock = 0;
    for (std::size_t g = 0; g < m_groups.size(); ++g) {
      Kernel k = time_group(static_cast<int>(g));
      host_clock += k.host_s;
      device_clock = std::max(host_clock, device_clock) + k.device_s;  // issued, and the GPU free
      e.device_s += k.device_s;
      e.host_s += k.host_s;
      (k.limit == Limit::compute ? e.compute_s : e.memory_s) += k.device_s;
      e.flops += k.flops;
      e.bytes += k.bytes;
      e.launches += k.launches;
      e.kernels.push_back(std::move(k));
    }
    e.seconds = device_clock;
    e.wait_s = e.seconds - e.device_s;
    e.energy_j = m_spec.energy_j(e.seconds, e.device_s);
    return e;
  }

 private:
  /// Every op that runs a kernel gets a group. Unfused: one op each. Fused: a library op (GEMM,
  /// convolution, SpMM) is its own kernel; an element-wise or reduction op joins the group of
  /// its latest producer when that group is not a library op and no input comes from a later
  /// group, so groups depend only on earlier ones and fusing never makes a cycle.
  void form_groups() {
    for (OpId id : m_order) {
      const Op& op = m_graph.op(id);
      const KernelClass cls = graphs::gpu_kernel(m_graph, id);
      if (cls == KernelClass::none) continue;
      int join = -1;
      if (m_options.fuse && cls == KernelClass::vector) {
        int latest = -1;
        for (TensorId in : op.inputs) {
          if (in == graphs::k_no_tensor) continue;
          const OpId producer = m_graph.tensor(m_root[static_cast<std::size_t>(in)]).producer;
          if (producer >= 0) latest = std::max(latest, m_group_of[static_cast<std::size_t>(producer)]);
        }
        if (latest >= 0 && m_groups[static_cast<std::size_t>(latest)].cls == KernelClass::vector) join = latest;
      }
      if (join < 0) {
        join = static_cast<int>(m_groups.size());
        m_groups.push_back({{}, cls});
      }
      m_groups[static_cast<std::size_t>(join)].ops.push_back(id);
      m_group_of[static_cast<std::size_t>(id)] = join;
    }
  }

  /// True when a tensor (or a view of it) is a graph output or read by an op outside group g.
  bool used_outside(TensorId t, int g) const {
    const auto& tensor = m_graph.tensor(t);
    if (tensor.role == graphs::Role::output) return true;
    for (OpId c : tensor.consumers) {
      if (runs_no_kernel(m_graph, c)) {
        const Op& op = m_graph.op(c);
        for (TensorId out : op.outputs) {
          if (used_outside(out, g)) return true;
        }
      } else if (m_group_of[static_cast<std::size_t>(c)] != g) {
        return true;
      }
    }
    return false;
  }

  /// Traffic of a fused group: what it reads from outside and what others read of it.
  double group_bytes(int g) const {
    std::set<TensorId> reads, writes;
    for (OpId id : m_groups[static_cast<std::size_t>(g)].ops) {
      const Op& op = m_graph.op(id);
      for (TensorId in : op.inputs) {
        if (in == graphs::k_no_tensor) continue;
        const TensorId r = m_root[static_cast<std::size_t>(in)];
        const OpId producer = m_graph.tensor(r).producer;
        if (producer < 0 || m_group_of[static_cast<std::size_t>(producer)] != g) reads.insert(r);
      }
      for (TensorId out : op.outputs) {
        if (used_outside(out, g)) writes.insert(out);
      }
    }
    double bytes = 0;
    for (TensorId t : reads) bytes += stored_bytes(m_graph.tensor(t), m_options.precision);
    for (TensorId t : writes) bytes += stored_bytes(m_graph.tensor(t), m_options.precision);
    return bytes;
  }

  Kernel time_group(int g) const {
    const Group& group = m_groups[static_cast<std::size_t>(g)];
    const double members = m_options.members;
    const Op& first = m_graph.op(group.ops.front());
    Kernel k;
    k.cls = group.cls;
    k.ops = static_cast<int>(group.ops.size());
    k.name = k.ops == 1 ? first.name : fmt::format("{} (+{} fused)", first.name, k.ops - 1);
    for (OpId id : group.ops) k.flops += graphs::op_cost(m_graph, id).flops;
    k.bytes = k.ops == 1 ? op_bytes(m_graph, group.ops.front(), graphs::op_cost(m_graph, group.ops.front()),
                                    m_options.precision)
                         : group_bytes(g);
    if (k.ops == 1 && first.kind == graphs::kind::concat) {
      k.bytes += concat_sector_waste(m_graph, first, m_options.precision, m_spec.sector_bytes);
    }
    k.flops *= members;
    k.bytes *= members;

    const double rate = compute_rate(k.cls, m_options.precision, m_spec);
    const double bandwidth = m_spec.memory_bytes_per_s() *
                             (k.cls == KernelClass::sparse ? m_spec.efficiency.sparse : m_spec.efficiency.memory);
    if (k.cls == KernelClass::matmul || k.cls == KernelClass::conv) {
      GemmShape shape = gemm_shape(m_graph, group.ops.front(), k.cls, k.flops / members);
      shape.batch *= members;
      k.compute_s = gemm_seconds(shape, m_spec, rate);
    } else {
      k.compute_s = k.flops / rate;
    }
    k.memory_s = k.bytes / bandwidth;
    const double min_s = m_spec.min_kernel_us * k_micro;
    k.device_s = std::max({k.compute_s, k.memory_s, min_s});
    k.limit = k.device_s == k.compute_s ? Limit::compute : k.device_s == k.memory_s ? Limit::memory : Limit::latency;

    // Library ops launch more kernels: layout copies of the dense operand and the result.
    if (k.cls == KernelClass::conv || k.cls == KernelClass::sparse) {
      k.launches = k.cls == KernelClass::conv ? m_spec.framework.conv_kernels : m_spec.framework.spmm_kernels;
      if (k.launches > 1) {
        const TensorId operand = first.inputs.at(k.cls == KernelClass::conv ? 0 : first.inputs.size() - 1);
        const double copied = 2.0 * members *
                              (stored_bytes(m_graph.tensor(operand), m_options.precision) +
                               stored_bytes(m_graph.tensor(first.outputs.at(0)), m_options.precision));
        const double extra =
            std::max((k.launches - 1) * min_s, copied / (m_spec.memory_bytes_per_s() * m_spec.efficiency.memory));
        k.bytes += copied;
        k.memory_s += copied / (m_spec.memory_bytes_per_s() * m_spec.efficiency.memory);
        k.device_s += extra;
      }
    }
    const auto& fw = m_spec.framework;
    k.host_s =
        m_options.cuda_graph
            ? 0.0
            : ((m_options.fuse ? fw.fused_kernel_us : fw.op_us) + (k.launches - 1) * fw.library_kernel_us) * k_micro;
    return k;
  }

  const Graph& m_graph;
  const arch::GpuSpec& m_spec;
  const Options& m_options;
  std::vector<OpId> m_order;
  std::vector<TensorId> m_root;
  std::vector<int> m_group_of;
  std::vector<Group> m_groups;
};

std::string percent(double part, double whole) {
  return fmt::format("{:.0f}%", whole > 0 ? 100.0 * part / whole : 0.0);
}

}  // namespace

Estimate estimate(const Graph& graph, const arch::GpuSpec& spec, const Options& options) {
  if (options.members < 1) throw core::InputError(fmt::format("members must be at least 1, not {}", options.members));
  return Estimator(graph, spec, options).run();
}

void Estimate::append(const Estimate& next) {
  kernels.insert(kernels.end(), next.kernels.begin(), next.kernels.end());
  seconds += next.seconds;
  device_s += next.device_s;
  host_s += next.host_s;
  compute_s += next.compute_s;
  memory_s += next.memory_s;
  switch_s += next.switch_s;
  wait_s += next.wait_s;
  flops += next.flops;
  bytes += next.bytes;
  energy_j += next.energy_j;
  launches += next.launches;
}

Estimate concurrent(std::span<const Estimate> processes, const arch::GpuSpec& spec) {
  Estimate all;
  double slowest = 0;
  for (const Estimate& p : processes) {
    all.append(p);
    slowest = std::max(slowest, p.seconds);
  }
  // Interleaved kernels of different processes pay a context switch each.
  const double switching = processes.size() > 1 ? all.launches * spec.context_switch_us * k_micro : 0.0;
  all.device_s += switching;
  all.switch_s = switching;
  all.seconds = std::max(all.device_s, slowest);
  all.wait_s = all.seconds - all.device_s;
  all.energy_j = spec.energy_j(all.seconds, all.device_s);
  return all;
}

std::string Estimate::verdict() const {
  if (seconds <= 0) return "GPU: nothing to run";
  if (wait_s >= 0.5 * seconds) {
    return fmt::format("GPU: {} kernel launches, {} of time waiting on the host (launch overhead)", launches,
                       percent(wait_s, seconds));
  }
  if (switch_s >= 0.3 * seconds) {
    return fmt::format("GPU: {} kernel launches from processes time-slicing the GPU, {} of time switching between them",
                       launches, percent(switch_s, seconds));
  }
  if (compute_s >= memory_s) {
    return fmt::format("GPU: compute-bound, {} of kernel time limited by arithmetic at {:.1f} TFLOP/s achieved",
                       percent(compute_s, device_s), flops / device_s / k_tera);
  }
  return fmt::format("GPU: memory-bound, {} of kernel time moving {:.3g} GB at {:.2f} TB/s achieved",
                     percent(memory_s, device_s), bytes / 1e9, bytes / device_s / k_tera);
}

core::Json Estimate::to_json(bool with_kernels) const {
  core::Json j{{"seconds", seconds},   {"device_s", device_s}, {"host_s", host_s},     {"compute_s", compute_s},
               {"memory_s", memory_s}, {"switch_s", switch_s}, {"wait_s", wait_s},     {"flops", flops},
               {"bytes", bytes},       {"energy_j", energy_j}, {"launches", launches}, {"kernels", kernels.size()},
               {"verdict", verdict()}};
  if (with_kernels) {
    core::Json list = core::Json::array();
    for (const Kernel& k : kernels) {
      list.push_back({{"name", k.name},
                      {"class", graphs::to_string(k.cls)},
                      {"ops", k.ops},
                      {"launches", k.launches},
                      {"flops", k.flops},
                      {"bytes", k.bytes},
                      {"compute_s", k.compute_s},
                      {"memory_s", k.memory_s},
                      {"device_s", k.device_s},
                      {"host_s", k.host_s},
                      {"limit", to_string(k.limit)}});
    }
    j["kernel_list"] = std::move(list);
  }
  return j;
}

}  // namespace rdasim::gpu
