// The science workloads at their published sizes: parameter counts exactly and forward FLOPs
// within 1% of shared/WORKLOADS.md, built by the C++ builders.
#include <cmath>
#include <string>

#include <catch2/catch.hpp>

#include "core/error.h"
#include "graphs/builder.h"
#include "graphs/import/onnx_import.h"
#include "graphs/op_registry.h"
#include "sim/functional/executor.h"
#include "tests/test_paths.h"
#include "workloads/inputs.h"
#include "workloads/road_network.h"
#include "workloads/workload.h"

using namespace rdasim;
using Catch::Matchers::Contains;

namespace {

using Given = std::map<std::string, std::string, std::less<>>;

graphs::Graph build(const std::string& name, const Given& params) {
  auto w = workloads::build(name, params);
  REQUIRE(w.apps.size() == 1);
  return std::move(w.apps.front());
}

/// Params and FLOPs of the ops and params whose names start with `prefix`.
struct Count {
  std::int64_t params = 0;
  double flops = 0;
};

Count count(const graphs::Graph& g, const std::string& prefix = "") {
  Count c;
  for (const auto& t : g.tensors()) {
    if (t.role == graphs::Role::param && t.name.starts_with(prefix)) c.params += t.elements();
  }
  for (std::size_t i = 0; i < g.ops().size(); ++i) {
    if (g.ops()[i].name.starts_with(prefix)) c.flops += graphs::op_cost(g, static_cast<graphs::OpId>(i)).flops;
  }
  return c;
}

graphs::Graph test_graph_with_input(const std::string& name) {
  graphs::GraphBuilder b("t");
  b.output(b.op("Relu", "relu", {b.input(name, {2})}));
  return b.finish();
}

}  // namespace

TEST_CASE("EDSR at F = 256 and 16 blocks: 19,486,723 params, 480 GFLOP per 111x111 image", "[workloads][lensing]") {
  const auto g = build("lensing", {{"stage", "denoise"}});
  const auto c = count(g);
  CHECK(c.params == 19'486'723);
  CHECK(c.flops == Approx(480e9).epsilon(0.01));
  CHECK(count(build("lensing", {{"stage", "denoise"}, {"feats", "64"}})).params == 1'222'147);
}

TEST_CASE("the VIB encoder: 763,796 params, 0.141 GFLOP per image", "[workloads][lensing]") {
  const auto g = build("lensing", {{"stage", "encoder"}});
  const auto c = count(g, "encoder/");
  CHECK(c.params == 763'796);
  CHECK(c.flops == Approx(0.141e9).epsilon(0.01));
  // The heads: Linear 10->1, and 10->15->15->10->3.
  CHECK(count(g).params - c.params == 11 + 165 + 240 + 160 + 33);
  const auto& outputs = g.tensors_with(graphs::Role::output);
  REQUIRE(outputs.size() == 2);
  CHECK(g.tensor(outputs[0]).shape == graphs::Shape{1, 1});
  CHECK(g.tensor(outputs[1]).shape == graphs::Shape{1, 3});
}

TEST_CASE("the full lensing pipeline chains both EDSRs into the encoder", "[workloads][lensing]") {
  const auto g = build("lensing", {{"feats", "16"}, {"blocks", "2"}, {"batch", "2"}});
  CHECK(g.find_op("denoise/head/conv"));
  CHECK(g.find_op("deblend/tail/conv"));
  CHECK(g.tensor(g.tensors_with(graphs::Role::output)[1]).shape == graphs::Shape{2, 3});
}

TEST_CASE("the PRC inversion network: 4,434,400 params, about 9.5 MFLOP per sample", "[workloads][inversion]") {
  const auto g = build("inversion", {});
  const auto c = count(g);
  CHECK(c.params == 4'434'400);
  CHECK(c.flops / 128 == Approx(9.5e6).epsilon(0.01));
}

TEST_CASE("the inversion network keeps R >= 0 and the sum rule before any training", "[workloads][inversion]") {
  // On generated responses (E = K R + noise), with untrained (seeded) weights.
  const auto g = build("inversion", {{"batch", "4"}});
  const auto inputs = workloads::generate_inputs(g, 7);
  const auto out = sim::functional::run(g, {inputs.begin(), inputs.end()}, {sim::functional::Precision::fp32, 3, {}});
  const auto& r = out.at("R");
  REQUIRE(r.shape == graphs::Shape{4, 2000});
  for (std::int64_t b = 0; b < 4; ++b) {
    double integral = 0;  // d_omega = 1 MeV
    for (std::int64_t j = 0; j < 2000; ++j) {
      const double v = r.data[static_cast<std::size_t>(b * 2000 + j)];
      CHECK(v >= 0.0);
      integral += v;
    }
    CHECK(std::abs(integral - 1.0) < 1e-6);
  }
}

TEST_CASE("DCRNN on METR-LA: 372,353 params; 127 GFLOP sparse, 323 GFLOP dense at batch 64", "[workloads][dcrnn]") {
  const auto sparse = count(build("dcrnn", {}));
  CHECK(sparse.params == 372'353);
  CHECK(sparse.flops == Approx(127e9).epsilon(0.01));
  const auto dense = count(build("dcrnn", {{"diffusion", "dense"}}));
  CHECK(dense.params == 372'353);
  CHECK(dense.flops == Approx(323e9).epsilon(0.01));
  // One support: M = K + 1 = 3 copies instead of 5.
  CHECK(count(build("dcrnn", {{"supports", "random_walk"}, {"batch", "1"}, {"seq", "2"}, {"horizon", "2"}})).params <
        372'353);
}

TEST_CASE("generated road networks have the requested nonzeros and normalized supports", "[workloads][road]") {
  const auto net = workloads::generate_road_network({207, 1722, 1});
  CHECK(net.sensors() == 207);
  CHECK(net.weights.nonzeros() == 1722);
  std::int64_t min_row = 1 << 30, max_row = 0;
  for (std::int64_t i = 0; i < 207; ++i) {
    const auto row =
        net.weights.row_ptr[static_cast<std::size_t>(i + 1)] - net.weights.row_ptr[static_cast<std::size_t>(i)];
    min_row = std::min(min_row, row);
    max_row = std::max(max_row, row);
  }
  CHECK(min_row >= 1);   // the self loop at least
  CHECK(max_row <= 13);  // the self loop and 12 nearest
  // Road-like: most sensors have 5 to 10 nonzeros in their row (shared/WORKLOADS.md).
  std::int64_t typical = 0;
  for (std::int64_t i = 0; i < 207; ++i) {
    const auto row =
        net.weights.row_ptr[static_cast<std::size_t>(i + 1)] - net.weights.row_ptr[static_cast<std::size_t>(i)];
    if (row >= 5 && row <= 10) ++typical;
  }
  INFO(typical << " of 207 rows have 5 to 10 nonzeros; rows range " << min_row << " to " << max_row);
  CHECK(typical >= 180);
  for (double w : net.weights.values) CHECK((w >= 0.1 && w <= 1.0));
  // Columns of S1 = (D_O^-1 W)^T sum to 1 (each sensor's out-weights are a distribution).
  const auto supports = workloads::diffusion_supports(net.weights, true);
  REQUIRE(supports.size() == 2);
  std::vector<double> column(207, 0.0);
  for (std::size_t e = 0; e < supports[0].col_idx.size(); ++e) {
    column[static_cast<std::size_t>(supports[0].col_idx[e])] += supports[0].values[e];
  }
  for (double s : column) CHECK(s == Approx(1.0));
  // Same seed, same network; another seed, another one.
  CHECK(workloads::generate_road_network({207, 1722, 1}).weights.col_idx == net.weights.col_idx);
  CHECK(workloads::generate_road_network({207, 1722, 2}).weights.col_idx != net.weights.col_idx);
  CHECK_THROWS_WITH(workloads::generate_road_network({207, 5000, 1}),
                    Contains("207 sensors can have 207 to 2691 nonzeros"));
}

TEST_CASE("workload parameters are checked by name, type and choice", "[workloads][errors]") {
  CHECK_THROWS_WITH(workloads::build("lensin", {}), Contains("no workload of that name (did you mean 'lensing'?)"));
  CHECK_THROWS_WITH(workloads::build("lensing", {{"feat", "64"}}),
                    Contains("workload 'lensing' has no parameter 'feat' (did you mean 'feats'?)"));
  CHECK_THROWS_WITH(workloads::build("lensing", {{"batch", "0"}}), Contains("expected a positive integer for 'batch'"));
  CHECK_THROWS_WITH(workloads::build("lensing", {{"stage", "denoised"}}),
                    Contains("expected 'full', 'denoise', 'deblend' or 'encoder' (did you mean 'denoise'?)"));
}

TEST_CASE("METIS cuts the 11,160-sensor road graph into 64 parts within 5% imbalance", "[workloads][partition]") {
  const auto net = workloads::generate_road_network({11160, 0, 1});
  CHECK(net.weights.nonzeros() == std::llround(11160 * 1722.0 / 207.0));
  const auto split = workloads::partition_road_network(net.weights, 64, 1);
  REQUIRE(split.sizes.size() == 64);
  CHECK(split.imbalance.at(0) <= 1.05);
  const auto smallest = *std::min_element(split.sizes.begin(), split.sizes.end());
  const auto largest = *std::max_element(split.sizes.begin(), split.sizes.end());
  CHECK(smallest >= 150);  // the paper's parts held 156-184 sensors
  CHECK(largest <= 184);
  CHECK(split.edge_cut > 0);
}

TEST_CASE("GP-DCRNN: one DCRNN per part and a combine step that restores sensor order", "[workloads][gp-dcrnn]") {
  const auto w = workloads::build(
      "gp-dcrnn",
      {{"sensors", "400"}, {"parts", "4"}, {"batch", "2"}, {"seq", "2"}, {"horizon", "3"}, {"halo", "neighbours"}});
  REQUIRE(w.apps.size() == 4);
  REQUIRE(w.combine);
  std::int64_t with_halo = 0;
  for (const auto& app : w.apps) with_halo += app.tensor(app.tensors_with(graphs::Role::input).front()).shape[2];
  CHECK(with_halo > 400);  // halo sensors are extra inputs
  const auto& combine = *w.combine;
  CHECK(combine.tensor(combine.tensors_with(graphs::Role::output).front()).shape == graphs::Shape{3, 2, 400, 1});
  // Feed each part's forecast as "the sensor's global index": the combine must return 0..399.
  const auto split = workloads::partition_road_network(workloads::generate_road_network({400, 0, 1}).weights, 4, 1);
  std::vector<std::vector<double>> own(4);
  for (std::int64_t v = 0; v < 400; ++v)
    own[static_cast<std::size_t>(split.part[static_cast<std::size_t>(v)])].push_back(static_cast<double>(v));
  sim::functional::Values inputs;
  for (int k = 0; k < 4; ++k) {
    const auto& app = w.apps[static_cast<std::size_t>(k)];
    const auto shape = app.tensor(app.tensors_with(graphs::Role::output).front()).shape;
    graphs::Array<double> a(shape);
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(a.size()); ++i) {
      const auto sensor = static_cast<std::size_t>(i % shape[2]);
      a.data[static_cast<std::size_t>(i)] =
          sensor < own[static_cast<std::size_t>(k)].size() ? own[static_cast<std::size_t>(k)][sensor] : -1.0;
    }
    inputs.emplace("part" + std::to_string(k), a);
  }
  const auto out = sim::functional::run(combine, inputs, {sim::functional::Precision::fp64, 1, {}}).at("forecast");
  for (std::size_t i = 0; i < out.size(); ++i) CHECK(out.data[i] == static_cast<double>(i % 400));
}

TEST_CASE("per GP-DCRNN part (U = 16, one support, batch 64) about 4.9 GFLOP", "[workloads][gp-dcrnn]") {
  // A part of the paper's size: 175 sensors at California density.
  const auto g =
      build("dcrnn", {{"sensors", "175"}, {"nonzeros", "1456"}, {"units", "16"}, {"supports", "random_walk"}});
  CHECK(count(g).flops == Approx(4.9e9).epsilon(0.05));
}

TEST_CASE("an ensemble is M differently initialized members and a mean/variance combine", "[workloads][ensemble]") {
  const auto w =
      workloads::build("ensemble", {{"base", "inversion"}, {"members", "3"}, {"batch", "2"}, {"hidden", "32"}});
  REQUIRE(w.apps.size() == 3);
  REQUIRE(w.combine);
  CHECK(w.apps[1].name() == "member1/inversion");
  CHECK(count(w.apps[0]).params == count(w.apps[2]).params);
  // Members draw different initial weights; their forecasts differ.
  graphs::Array<double> e({2, 151});
  for (std::size_t i = 0; i < e.size(); ++i) e.data[i] = std::exp(-0.03 * static_cast<double>(i % 151));
  sim::functional::Values combine_inputs;
  std::vector<graphs::Array<double>> r;
  for (std::int64_t m = 0; m < 3; ++m) {
    const auto out =
        sim::functional::run(w.apps[static_cast<std::size_t>(m)], {{"member" + std::to_string(m) + "/E", e}},
                             {sim::functional::Precision::fp64, 1, {}});
    for (const auto& [name, value] : out) combine_inputs.emplace(name, value);
    r.push_back(out.at("member" + std::to_string(m) + "/R"));
  }
  CHECK(r[0].data != r[1].data);
  const auto combined = sim::functional::run(*w.combine, combine_inputs, {sim::functional::Precision::fp64, 1, {}});
  const auto& mean = combined.at("mean/R");
  const auto& variance = combined.at("variance/R");
  for (std::size_t i = 0; i < mean.size(); i += 97) {
    const double mu = (r[0].data[i] + r[1].data[i] + r[2].data[i]) / 3;
    const double second = (r[0].data[i] * r[0].data[i] + r[1].data[i] * r[1].data[i] + r[2].data[i] * r[2].data[i]) / 3;
    CHECK(mean.data[i] == Approx(mu).epsilon(1e-12));
    CHECK(variance.data[i] == Approx(second - mu * mu).epsilon(1e-6).margin(1e-18));
  }
  CHECK_THROWS_WITH(workloads::build("ensemble", {{"bathc", "2"}}),
                    Contains("workload 'dcrnn' has no parameter 'bathc'"));
}

TEST_CASE("generated inputs: responses obey the sum rule, lensed images carry an arc", "[workloads][inputs]") {
  const auto r = workloads::nuclear_response(2000, 5);
  double integral = 0;
  for (double v : r) {
    CHECK(v >= 0.0);
    integral += v;
  }
  CHECK(integral == Approx(1.0).epsilon(1e-12));
  // The arc puts light in a ring around the Einstein radius; an unlensed image has none there.
  const std::int64_t size = 64;
  const double radius = 10;
  auto ring_light = [&](const std::vector<double>& img) {
    double sum = 0;
    for (std::int64_t y = 0; y < size; ++y) {
      for (std::int64_t x = 0; x < size; ++x) {
        const double d = std::hypot(static_cast<double>(x) - 31.5, static_cast<double>(y) - 31.5);
        if (d > radius - 3 && d < radius + 3) sum += img[static_cast<std::size_t>(y * size + x)];  // band 0
      }
    }
    return sum;
  };
  const double lensed = ring_light(workloads::lens_image(size, true, radius, 3));
  const double plain = ring_light(workloads::lens_image(size, false, radius, 3));
  CHECK(lensed > plain + 5.0);
  CHECK(workloads::lens_image(size, true, radius, 3) == workloads::lens_image(size, true, radius, 3));

  const auto dcrnn = build("dcrnn", {{"batch", "2"}, {"seq", "3"}, {"horizon", "2"}});
  const auto values = workloads::generate_inputs(dcrnn, 1);
  const auto& x = values.at("x");
  REQUIRE(x.shape == graphs::Shape{3, 2, 207, 2});
  for (std::size_t i = 1; i < x.size(); i += 2) CHECK((x.data[i] >= 0.0 && x.data[i] < 1.0));  // time of day
  CHECK_THROWS_WITH(workloads::generate_inputs(test_graph_with_input("weird"), 1),
                    Contains("no input generator for 'weird' [2]"));
}

TEST_CASE("the PyTorch twin's road graph is the C++ generator's", "[workloads][road]") {
  // workloads/models/dcrnn was exported with the twins' port of generate_road_network.
  const auto g = build("dcrnn", {{"diffusion", "dense"},
                                 {"batch", "2"},
                                 {"sensors", "12"},
                                 {"nonzeros", "61"},
                                 {"units", "8"},
                                 {"seq", "3"},
                                 {"horizon", "3"}});
  const auto weights =
      graphs::load_onnx_initializers((test::source_dir() / "workloads/models/dcrnn/model.onnx").string());
  int compared = 0;
  for (const auto& w : weights) {
    if (w.name != "support1" && w.name != "support2") continue;
    const auto& mine = g.tensor(*g.find_tensor(w.name));
    REQUIRE(mine.values);
    REQUIRE(w.values->size() == mine.values->size());
    for (std::size_t i = 0; i < mine.values->size(); ++i)
      CHECK((*w.values)[i] == Approx((*mine.values)[i]).margin(1e-6));
    ++compared;
  }
  CHECK(compared == 2);
}
