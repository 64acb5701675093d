#include "workloads/layers.h"

#include <vector>

namespace rdasim::workloads::layers {

TensorId conv2d(GraphBuilder& b, const std::string& name, TensorId x, const Conv2d& c) {
  graphs::BuilderScope scope(b, name);
  const TensorId w = b.param("weight", {c.out, c.in, c.kernel, c.kernel});
  std::vector<TensorId> inputs{x, w};
  if (c.bias) inputs.push_back(b.param("bias", {c.out}));
  graphs::Attrs attrs;
  attrs.values["kernel_shape"] = std::vector<std::int64_t>{c.kernel, c.kernel};
  attrs.values["strides"] = std::vector<std::int64_t>{c.stride, c.stride};
  attrs.values["pads"] = std::vector<std::int64_t>{c.pad, c.pad, c.pad, c.pad};
  return b.op("Conv", "conv", inputs, std::move(attrs));
}

TensorId linear(GraphBuilder& b, const std::string& name, TensorId x, std::int64_t in, std::int64_t out, bool rank2) {
  graphs::BuilderScope scope(b, name);
  const TensorId w = b.param("weight", {out, in});
  const TensorId bias = b.param("bias", {out});
  if (rank2) {
    graphs::Attrs attrs;
    attrs.values["transB"] = std::int64_t{1};
    return b.op("Gemm", "gemm", {x, w, bias}, std::move(attrs));
  }
  graphs::Attrs perm;
  perm.values["perm"] = std::vector<std::int64_t>{1, 0};
  const TensorId wt = b.op("Transpose", "weight_t", {w}, std::move(perm));
  return b.op("Add", "add_bias", {b.op("MatMul", "matmul", {x, wt}), bias});
}

TensorId batch_norm(GraphBuilder& b, const std::string& name, TensorId x, std::int64_t channels) {
  graphs::BuilderScope scope(b, name);
  const auto n = static_cast<std::size_t>(channels);
  const TensorId gamma = b.param("weight", {channels});
  const TensorId beta = b.param("bias", {channels});
  const TensorId mean = b.constant("running_mean", {channels}, std::vector<double>(n, 0.0));
  const TensorId var = b.constant("running_var", {channels}, std::vector<double>(n, 1.0));
  return b.op("BatchNormalization", "bn", {x, gamma, beta, mean, var});
}

TensorId scale(GraphBuilder& b, const std::string& name, TensorId x, double value) {
  return b.op("Mul", name, {x, b.constant(name + "_factor", {}, {value})});
}

}  // namespace rdasim::workloads::layers
