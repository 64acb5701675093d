#include "sim/functional/executor.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "core/error.h"
#include "core/random.h"
#include "graphs/algorithms.h"
#include "graphs/op_registry.h"

namespace rdasim::sim::functional {

using graphs::Array;
using graphs::DType;
using graphs::Role;
using graphs::TensorId;

std::string_view to_string(Precision precision) {
  switch (precision) {
    case Precision::fp64: return "fp64";
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
  }
  return "?";
}

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names{"fp64", "fp32", "bf16"};
  return names;
}

std::optional<Precision> parse_precision(std::string_view name) {
  if (name == "fp64") return Precision::fp64;
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  return std::nullopt;
}

double default_tolerance(Precision precision) { return precision == Precision::bf16 ? 2e-2 : 1e-4; }

namespace {

using graphs::ParamUse;

/// How a param is used decides its distribution: the first consumer whose kind declares the
/// use of the param's input slot (graphs::OpTraits::param_uses); else a bias when rank <= 1,
/// a weight otherwise.
ParamUse param_use(const graphs::Graph& graph, const graphs::Tensor& t, TensorId id) {
  for (graphs::OpId c : t.consumers) {
    const graphs::Op& op = graph.op(c);
    const auto slot = static_cast<std::size_t>(std::find(op.inputs.begin(), op.inputs.end(), id) - op.inputs.begin());
    const ParamUse use = graphs::op_traits(graph, c).param_use(slot);
    if (use != ParamUse::by_rank) return use;
    if (t.shape.size() <= 1) return ParamUse::bias;
  }
  return t.shape.size() <= 1 ? ParamUse::bias : ParamUse::weight;
}

template <class T>
class Runner {
 public:
  Runner(const graphs::Graph& graph, const RunOptions& options) : m_graph(graph), m_options(options) {}

  Values run(const Values& inputs) {
    const auto order = graphs::topological_order(m_graph);
    m_buffers.resize(m_graph.tensors().size());
    // The last op that reads each tensor, so that buffers are freed as soon as possible.
    std::vector<std::size_t> last_use(m_graph.tensors().size(), 0);
    for (std::size_t step = 0; step < order.size(); ++step) {
      for (TensorId t : m_graph.op(order[step]).inputs) {
        if (t != graphs::k_no_tensor) last_use[static_cast<std::size_t>(t)] = step;
      }
    }
    for (std::size_t id = 0; id < m_graph.tensors().size(); ++id) {
      const auto& t = m_graph.tensors()[id];
      if (t.producer < 0) load_source(static_cast<TensorId>(id), inputs);
    }
    const auto& registry = graphs::OpRegistry::instance();
    for (std::size_t step = 0; step < order.size(); ++step) {
      const graphs::Op& op = m_graph.op(order[step]);
      execute(op, *registry.find(op.kind));
      for (TensorId t : op.inputs) {
        if (t != graphs::k_no_tensor && last_use[static_cast<std::size_t>(t)] == step &&
            m_graph.tensor(t).role != Role::output) {
          m_buffers[static_cast<std::size_t>(t)].reset();
        }
      }
    }
    Values outputs;
    for (TensorId id : m_graph.tensors_with(Role::output)) {
      const auto& buffer = *m_buffers[static_cast<std::size_t>(id)];
      Array<double> out(buffer.shape);
      std::transform(buffer.data.begin(), buffer.data.end(), out.data.begin(),
                     [](T v) { return static_cast<double>(v); });
      outputs.emplace(m_graph.tensor(id).name, std::move(out));
    }
    return outputs;
  }

 private:
  /// Stores values as the run's precision holds them: bf16 runs keep floating tensors in bf16.
  T store(DType dtype, double v) const {
    if (m_options.precision == Precision::bf16 && graphs::is_float(dtype)) {
      return static_cast<T>(graphs::round_to_bf16(static_cast<float>(v)));
    }
    return static_cast<T>(v);
  }

  void load_source(TensorId id, const Values& inputs) {
    const auto& t = m_graph.tensor(id);
    Array<double> values;
    if (t.role == Role::input) {
      auto it = inputs.find(t.name);
      if (it == inputs.end()) {
        throw core::InputError(core::Location(m_graph.name(), 0, 0, t.name),
                               fmt::format("no values for input '{}' {}", t.name, graphs::to_string(t.shape)));
      }
      if (it->second.shape != t.shape) {
        throw core::InputError(core::Location(m_graph.name(), 0, 0, t.name),
                               fmt::format("input '{}' has shape {}, the model expects {}", t.name,
                                           graphs::to_string(it->second.shape), graphs::to_string(t.shape)));
      }
      values = it->second;
    } else if (t.values) {
      values.shape = t.shape;
      values.data = *t.values;
    } else if (t.role == Role::param) {
      values = initial_values(m_graph, id, m_options.seed);
    } else if (t.role == Role::state) {  // optimizer state before the first step
      values = Array<double>(t.shape);
    } else {
      // A constant or source activation without values: the verifier lets neither through.
      RDASIM_ASSERT(t.consumers.empty(), fmt::format("tensor '{}' has no values", t.name));
      return;
    }
    Array<T> buffer(t.shape);
    for (std::size_t i = 0; i < buffer.size(); ++i) buffer.data[i] = store(t.dtype, values.data[i]);
    m_buffers[static_cast<std::size_t>(id)] = std::move(buffer);
  }

  void execute(const graphs::Op& op, const graphs::OpDef& def) {
    if (!def.kernel) {  // Constant: the output tensor carries the values
      for (TensorId t : op.outputs) {
        const auto& tensor = m_graph.tensor(t);
        Array<T> buffer(tensor.shape);
        for (std::size_t i = 0; i < buffer.size(); ++i) buffer.data[i] = store(tensor.dtype, tensor.values->at(i));
        m_buffers[static_cast<std::size_t>(t)] = std::move(buffer);
      }
      return;
    }
    std::vector<const Array<T>*> ins;
    for (TensorId t : op.inputs) {
      ins.push_back(t == graphs::k_no_tensor ? nullptr : &*m_buffers[static_cast<std::size_t>(t)]);
    }
    std::vector<Array<T>*> outs;
    for (TensorId t : op.outputs) {
      if (t == graphs::k_no_tensor) {
        outs.push_back(nullptr);
        continue;
      }
      auto& slot = m_buffers[static_cast<std::size_t>(t)];
      slot = Array<T>(m_graph.tensor(t).shape);
      outs.push_back(&*slot);
    }
    def.kernel.get<T>()(graphs::KernelIO<T>(op, ins, outs));
    // Kernels compute in T; integer results (Div of integers) and bf16 storage need rounding.
    for (TensorId t : op.outputs) {
      if (t == graphs::k_no_tensor) continue;
      const DType dtype = m_graph.tensor(t).dtype;
      if (graphs::is_float(dtype) &&
          (m_options.precision != Precision::bf16 || m_options.fp32_tensors.contains(m_graph.tensor(t).name))) {
        continue;
      }
      auto& data = m_buffers[static_cast<std::size_t>(t)]->data;
      if (graphs::is_float(dtype)) {
        for (auto& v : data) v = static_cast<T>(graphs::round_to_bf16(static_cast<float>(v)));
      } else {
        for (auto& v : data) v = static_cast<T>(graphs::representable(dtype, static_cast<double>(v)));
      }
    }
  }

  const graphs::Graph& m_graph;
  RunOptions m_options;
  std::vector<std::optional<Array<T>>> m_buffers;
};

}  // namespace

Values run(const graphs::Graph& graph, const Values& inputs, const RunOptions& options) {
  if (options.precision == Precision::fp64) return Runner<double>(graph, options).run(inputs);
  return Runner<float>(graph, options).run(inputs);
}

Array<double> initial_values(const graphs::Graph& graph, TensorId param, std::uint64_t seed) {
  const auto& t = graph.tensor(param);
  Array<double> out(t.shape);
  core::SplitMix64 rng(seed ^ core::hash_name(t.name));
  std::int64_t fan_in = 1;
  if (t.shape.size() >= 2) {
    for (std::size_t i = 1; i < t.shape.size(); ++i) fan_in *= t.shape[i];
  } else if (!t.shape.empty()) {
    fan_in = t.shape[0];
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(std::max<std::int64_t>(fan_in, 1)));
  const ParamUse use = param_use(graph, t, param);
  for (auto& v : out.data) {
    const double u = 2.0 * rng.uniform() - 1.0;  // [-1, 1)
    switch (use) {
      case ParamUse::by_rank:  // param_use resolves it
      case ParamUse::weight:
      case ParamUse::bias: v = bound * u; break;
      case ParamUse::norm_scale: v = 1.0 + 0.1 * u; break;
      case ParamUse::norm_shift:
      case ParamUse::running_mean: v = 0.1 * u; break;
      case ParamUse::running_variance: v = 1.0 + 0.5 * u; break;
    }
    if (!graphs::is_float(t.dtype)) v = std::round(v);
  }
  return out;
}

void fill_params(graphs::Graph& graph, std::uint64_t seed) {
  for (std::size_t t = 0; t < graph.tensors().size(); ++t) {
    const auto id = static_cast<TensorId>(t);
    if (graph.tensor(id).role == Role::param && !graph.tensor(id).values) {
      graph.tensor(id).values = initial_values(graph, id, seed).data;
    }
  }
}

}  // namespace rdasim::sim::functional
