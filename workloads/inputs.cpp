#include "workloads/inputs.h"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "core/error.h"
#include "core/random.h"

namespace rdasim::workloads {

namespace {

std::string base_name(const std::string& name) {
  const auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

/// The number of rows of the table that a Gather (axis 0) consuming `ids` indexes.
std::int64_t gathered_rows(const graphs::Graph& app, graphs::TensorId ids) {
  for (graphs::OpId consumer : app.tensor(ids).consumers) {
    const graphs::Op& op = app.op(consumer);
    if (op.kind == "Gather" && op.inputs.size() == 2 && op.inputs[1] == ids && op.attrs.get_int("axis", 0) == 0) {
      return app.tensor(op.inputs[0]).shape.at(0);
    }
  }
  const graphs::Tensor& t = app.tensor(ids);
  throw core::InputError(core::Location(app.name(), 0, 0, t.name),
                         fmt::format("token ids '{}' feed no Gather along axis 0, so their range is unknown", t.name));
}

}  // namespace

std::vector<double> lens_image(std::int64_t size, bool lensed, double einstein_radius, std::uint64_t seed) {
  core::SplitMix64 rng(seed);
  const double centre = static_cast<double>(size - 1) / 2.0;
  const double lx = centre + rng.uniform(-2, 2), ly = centre + rng.uniform(-2, 2);
  const double q = rng.uniform(0.6, 1.0), angle = rng.uniform(0, std::numbers::pi);
  const double re = rng.uniform(4, 8);  // lens galaxy's effective radius, pixels
  const double sx = rng.uniform(-0.3, 0.3) * einstein_radius, sy = rng.uniform(-0.3, 0.3) * einstein_radius;
  const double source_width = rng.uniform(1.5, 3.0);
  const double lens_colour[3] = {0.45, 0.65, 0.9};   // red, old stars
  const double source_colour[3] = {0.9, 0.7, 0.45};  // blue, star-forming
  std::vector<double> image(at(3 * size * size));
  const double c = std::cos(angle), s = std::sin(angle);
  for (std::int64_t y = 0; y < size; ++y) {
    for (std::int64_t x = 0; x < size; ++x) {
      // Coordinates along the lens's axes, squeezed by its axis ratio.
      const double dx = static_cast<double>(x) - lx, dy = static_cast<double>(y) - ly;
      const double u = c * dx + s * dy, v = -s * dx + c * dy;
      const double r = std::sqrt(q * u * u + v * v / q);
      const double galaxy = 0.8 * std::exp(-7.669 * (std::pow(r / re + 1e-9, 0.25) - 1.0)) / std::exp(7.669);
      double source = 0;
      if (lensed) {
        // SIE deflection (isothermal: constant magnitude, along the squeezed radius).
        const double ru = std::max(r, 1e-6);
        const double au = einstein_radius * q * u / ru, av = einstein_radius * v / (q * ru);
        const double bu = u - au, bv = v - av;  // the source plane
        const double d2 = (bu - sx) * (bu - sx) + (bv - sy) * (bv - sy);
        source = 0.6 * std::exp(-d2 / (2 * source_width * source_width));
      }
      for (int band = 0; band < 3; ++band) {
        image[at((band * size + y) * size + x)] =
            lens_colour[band] * galaxy + source_colour[band] * source + 0.01 * rng.normal();
      }
    }
  }
  return image;
}

std::vector<double> nuclear_response(std::int64_t omegas, std::uint64_t seed) {
  core::SplitMix64 rng(seed);
  const int peaks = rng.uniform() < 0.5 ? 1 : 2;
  std::vector<double> r(at(omegas), 0.0);
  for (int p = 0; p < peaks; ++p) {
    const double centre = rng.uniform(20, 400), width = rng.uniform(10, 150), weight = rng.uniform(0.3, 1.0);
    for (std::int64_t j = 0; j < omegas; ++j) {
      const double d = (static_cast<double>(j) + 0.5 - centre) / width;
      r[at(j)] += weight * std::exp(-0.5 * d * d);
    }
  }
  double integral = 0;  // d_omega = 1 MeV
  for (double v : r) integral += v;
  for (double& v : r) v /= integral;
  return r;
}

InputValues generate_inputs(const graphs::Graph& app, std::uint64_t seed) {
  InputValues out;
  for (graphs::TensorId id : app.tensors_with(graphs::Role::input)) {
    const graphs::Tensor& t = app.tensor(id);
    const std::string kind = base_name(t.name);
    graphs::Array<double> a(t.shape);
    core::SplitMix64 rng(seed ^ core::hash_name(t.name));
    if (kind == "image" && t.shape.size() == 4 && t.shape[1] == 3) {
      // Half lensed, half not, as the training sets are balanced.
      const std::int64_t plane = 3 * t.shape[2] * t.shape[3];
      for (std::int64_t b = 0; b < t.shape[0]; ++b) {
        const auto img =
            lens_image(t.shape[2], b % 2 == 0, rng.uniform(0.08, 0.18) * static_cast<double>(t.shape[2]), rng.next());
        std::copy(img.begin(), img.end(), a.data.begin() + b * plane);
      }
    } else if (kind == "eps") {
      for (auto& v : a.data) v = rng.normal();
    } else if (kind == "E" && t.shape.size() == 2) {
      // E = K R + N(0, 1e-4^2), K_ij = exp(-omega_j tau_i) d_omega on the PRC grid.
      const std::int64_t taus = t.shape[1], omegas = 2000;
      for (std::int64_t b = 0; b < t.shape[0]; ++b) {
        const auto r = nuclear_response(omegas, rng.next());
        for (std::int64_t i = 0; i < taus; ++i) {
          double e = 0;
          for (std::int64_t j = 0; j < omegas; ++j)
            e += std::exp(-(static_cast<double>(j) + 0.5) * 5e-4 * static_cast<double>(i)) * r[at(j)];
          a.data[at(b * taus + i)] = e + 1e-4 * rng.normal();
        }
      }
    } else if (kind == "x" && t.shape.size() == 4 && t.shape[3] == 2) {
      // Traffic: [steps, batch, sensors, (speed, time of day)], 5-minute steps. Each sensor
      // has a free-flow speed and rush-hour dips; speeds are z-scored as DCRNN's loader does.
      const std::int64_t steps = t.shape[0], batch = t.shape[1], sensors = t.shape[2];
      std::vector<double> free_flow(at(sensors)), depth(at(sensors));
      for (std::int64_t n = 0; n < sensors; ++n) {
        free_flow[at(n)] = rng.uniform(55, 70);
        depth[at(n)] = rng.uniform(5, 30);
      }
      for (std::int64_t b = 0; b < batch; ++b) {
        const double start = rng.uniform(0, 24 * 60);  // minutes after midnight
        for (std::int64_t s = 0; s < steps; ++s) {
          const double minute = std::fmod(start + 5.0 * static_cast<double>(s), 24 * 60);
          const double hour = minute / 60;
          const double rush =
              std::exp(-0.5 * std::pow((hour - 8) / 1.2, 2)) + std::exp(-0.5 * std::pow((hour - 17.5) / 1.5, 2));
          for (std::int64_t n = 0; n < sensors; ++n) {
            const double speed = free_flow[at(n)] - depth[at(n)] * rush + 2.0 * rng.normal();
            const auto i = at(((s * batch + b) * sensors + n) * 2);
            a.data[i] = (speed - 55.0) / 15.0;
            a.data[i + 1] = minute / (24 * 60);
          }
        }
      }
    } else if (kind == "input_ids" && t.dtype == graphs::DType::i64) {
      // Token ids, uniform over the vocabulary: the rows of the table a consuming Gather reads.
      const std::int64_t vocab = gathered_rows(app, id);
      for (auto& v : a.data)
        v = static_cast<double>(std::min<std::int64_t>(vocab - 1, std::int64_t(rng.uniform() * double(vocab))));
    } else if (kind == "past_key" || kind == "past_value") {
      // A KV cache as a trained model fills it: keys and values of unit scale.
      for (auto& v : a.data) v = rng.normal();
    } else {
      throw core::InputError(core::Location(app.name(), 0, 0, t.name),
                             fmt::format("no input generator for '{}' {}; generators exist for image, eps, E, x, "
                                         "input_ids, past_key and past_value",
                                         t.name, graphs::to_string(t.shape)));
    }
    out.emplace(t.name, std::move(a));
  }
  return out;
}

}  // namespace rdasim::workloads
