// PyTorch-style layers on a GraphBuilder, with PyTorch's parameter layouts (Linear weight
// [out, in], Conv weight [out, in/groups, k, k]) so that weights exported from the PyTorch
// twins load by shape, and parameter counts match nn.Module's.
#pragma once

#include <cstdint>
#include <string>

#include "graphs/builder.h"

namespace rdasim::workloads::layers {

using graphs::GraphBuilder;
using graphs::TensorId;

struct Conv2d {
  std::int64_t in = 0, out = 0, kernel = 3, stride = 1, pad = 0;
  bool bias = true;
};

/// nn.Conv2d: weight [out, in, k, k] and bias [out].
TensorId conv2d(GraphBuilder& b, const std::string& name, TensorId x, const Conv2d& c);

/// nn.Linear on [rows, in] (a Gemm, weight [out, in], transB) or on [..., in] (MatMul by the
/// transposed weight, then Add).
TensorId linear(GraphBuilder& b, const std::string& name, TensorId x, std::int64_t in, std::int64_t out,
                bool rank2 = true);

/// nn.BatchNorm2d in eval mode: scale and shift are params; running mean 0 and variance 1
/// are constants (buffers, not trained).
TensorId batch_norm(GraphBuilder& b, const std::string& name, TensorId x, std::int64_t channels);

/// x * value, value a scalar constant.
TensorId scale(GraphBuilder& b, const std::string& name, TensorId x, double value);

}  // namespace rdasim::workloads::layers
