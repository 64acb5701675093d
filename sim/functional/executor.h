// The functional reference: runs a graph on the op registry's reference kernels in fp64
// (ground truth), fp32, or bf16 with fp32 accumulation (every stored tensor rounded to bf16,
// arithmetic inside each kernel in fp32, as the RDU's PCUs compute).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "graphs/graph.h"
#include "graphs/kernel.h"

namespace rdasim::sim::functional {

enum class Precision { fp64, fp32, bf16 };

[[nodiscard]] std::string_view to_string(Precision precision);
[[nodiscard]] std::optional<Precision> parse_precision(std::string_view name);
/// "fp64", "fp32", "bf16".
[[nodiscard]] const std::vector<std::string>& precision_names();
/// The relative tolerance `rdasim check` applies by default: 1e-4 (fp64, fp32), 2e-2 (bf16).
[[nodiscard]] double default_tolerance(Precision precision);

/// Tensor values by tensor name, always handed over in double.
using Values = std::map<std::string, graphs::Array<double>, std::less<>>;

struct RunOptions {
  Precision precision = Precision::fp32;
  std::uint64_t seed = 1;  ///< for params that carry no values
  /// Tensors a bf16 run holds in fp32 (partial sums crossing the network as 32-bit words).
  std::set<std::string, std::less<>> fp32_tensors;
};

/// Runs the graph once. `inputs` must hold every input tensor, with its shape; params without
/// values are drawn by initial_values. Returns the graph's outputs by name. Throws
/// core::InputError for a missing or misshapen input and for data a kernel rejects.
[[nodiscard]] Values run(const graphs::Graph& graph, const Values& inputs, const RunOptions& options = {});

/// The seeded initial values of a param without values: uniform in +-1/sqrt(fan_in) as
/// PyTorch's default initializers draw, except that normalization statistics stay in a sane
/// range (variances in [0.5, 1.5], scales near 1). The same name and seed give the same values
/// on every platform.
[[nodiscard]] graphs::Array<double> initial_values(const graphs::Graph& graph, graphs::TensorId param,
                                                   std::uint64_t seed);

/// Gives every param without values its initial_values, so that graphs derived from this one
/// (sharded, with params cut and renamed) compute with the same weights.
void fill_params(graphs::Graph& graph, std::uint64_t seed);

}  // namespace rdasim::sim::functional
