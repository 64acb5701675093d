// Seeded, realistic inputs for the science workloads (shared/WORKLOADS.md): lensed and
// unlensed galaxy images, nuclear responses through the Laplace kernel, traffic speeds on the
// road graph. `rdasim inputs` writes them in ONNX's test-data layout so that `rdasim check`,
// the simulator and the GPU harness run on the same data.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "graphs/graph.h"
#include "graphs/kernel.h"

namespace rdasim::workloads {

using InputValues = std::map<std::string, graphs::Array<double>, std::less<>>;

/// Values for every input of an application built by a workload, drawn from `seed`. Inputs
/// are recognized by name (an ensemble member's "member3/" prefix is ignored): "image",
/// "eps", "E", "x". Throws core::InputError for an input it has no generator for.
[[nodiscard]] InputValues generate_inputs(const graphs::Graph& app, std::uint64_t seed);

/// One 3-band image of size x size: a Sersic-like lens galaxy, and when `lensed` the arc of a
/// background source seen through a singular isothermal ellipsoid of Einstein radius
/// `einstein_radius` pixels; Gaussian noise of 0.01. Values are about 0 to 1.
[[nodiscard]] std::vector<double> lens_image(std::int64_t size, bool lensed, double einstein_radius,
                                             std::uint64_t seed);

/// R(omega) on omega = 0.5 .. omegas - 0.5 MeV: one or two Gaussians (centres 20-400 MeV,
/// widths 10-150 MeV), normalized to integral 1.
[[nodiscard]] std::vector<double> nuclear_response(std::int64_t omegas, std::uint64_t seed);

}  // namespace rdasim::workloads
