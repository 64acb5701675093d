// The strong-lensing pipeline (Madireddy et al., arXiv 1911.03867; shared/WORKLOADS.md §1):
// denoise and deblend are EDSR networks at scale 1; a VIB encoder feeds a detection head and a
// modeling head (Einstein radius and two ellipticities).
#include <fmt/format.h>

#include "workloads/layers.h"
#include "workloads/workload.h"

namespace rdasim::workloads {

namespace {

using graphs::GraphBuilder;
using graphs::TensorId;
using layers::Conv2d;

/// EDSR at scale 1: head conv 3->F; `blocks` residual blocks [conv, ReLU, conv, x0.1, +in];
/// conv F->F plus the head's output (global skip); tail conv F->3. Padding 1 throughout.
TensorId edsr(GraphBuilder& b, const std::string& name, TensorId x, std::int64_t feats, std::int64_t blocks) {
  graphs::BuilderScope scope(b, name);
  const TensorId head = layers::conv2d(b, "head", x, Conv2d{3, feats, 3, 1, 1});
  TensorId h = head;
  for (std::int64_t i = 0; i < blocks; ++i) {
    graphs::BuilderScope block(b, fmt::format("block{}", i));
    const TensorId c1 = layers::conv2d(b, "conv1", h, Conv2d{feats, feats, 3, 1, 1});
    const TensorId c2 = layers::conv2d(b, "conv2", b.op("Relu", "relu", {c1}), Conv2d{feats, feats, 3, 1, 1});
    h = b.op("Add", "residual", {layers::scale(b, "res_scale", c2, 0.1), h});
  }
  const TensorId body = layers::conv2d(b, "body_end", h, Conv2d{feats, feats, 3, 1, 1});
  return layers::conv2d(b, "tail", b.op("Add", "global_skip", {body, head}), Conv2d{feats, 3, 3, 1, 1});
}

/// The VIB encoder (each conv but the last with BatchNorm and ReLU), the reparameterized code
/// z = mu + exp(log sigma) * eps, and both heads. Returns {detection, parameters}.
std::pair<TensorId, TensorId> encoder_and_heads(GraphBuilder& b, TensorId image, TensorId eps) {
  struct Layer {
    std::int64_t in, out, kernel, stride, pad;
  };
  const Layer convs[] = {
      {3, 64, 4, 2, 1}, {64, 64, 4, 2, 1}, {64, 128, 4, 3, 1}, {128, 128, 4, 3, 1}, {128, 256, 3, 1, 0}};
  TensorId h = image;
  {
    graphs::BuilderScope scope(b, "encoder");
    int i = 0;
    for (const auto& l : convs) {
      const std::string name = fmt::format("conv{}", ++i);
      h = layers::conv2d(b, name, h, Conv2d{l.in, l.out, l.kernel, l.stride, l.pad});
      h = b.op("Relu", name + "_relu", {layers::batch_norm(b, name + "_bn", h, l.out)});
    }
    h = layers::conv2d(b, "code", h, Conv2d{256, 20, 1, 1, 0});
  }
  graphs::BuilderScope scope(b, "vib");
  const TensorId flat = b.op("Flatten", "flatten", {h});
  graphs::Attrs split;
  split.values["axis"] = std::int64_t{1};
  const auto parts = b.op_n("Split", "mu_log_sigma", {flat, b.ints("halves", {10, 10})}, 2, split);
  const TensorId z = b.op("Add", "z", {parts[0], b.op("Mul", "noise", {b.op("Exp", "sigma", {parts[1]}), eps})});
  const TensorId detection = b.op("Sigmoid", "detection", {layers::linear(b, "detect", z, 10, 1)});
  TensorId m = z;
  const std::int64_t widths[] = {10, 15, 15, 10, 3};
  for (int i = 0; i < 4; ++i) {
    m = layers::linear(b, fmt::format("model{}", i + 1), m, widths[i], widths[i + 1]);
    if (i < 3) m = b.op("Tanh", fmt::format("model{}_tanh", i + 1), {m});
  }
  return {detection, m};
}

bool edsr_only(const std::string& stage) { return stage == "denoise" || stage == "deblend"; }

Workload build_lensing(const Params& p) {
  const std::string& stage = p.text("stage");
  // The EDSRs were trained on 32 x 32 crops; the encoder needs whole images (5 strided convs).
  const bool crops = p.text("mode") == "train" && edsr_only(stage) && !p.given("image");
  const std::int64_t batch = p.integer("batch"), size = crops ? 32 : p.integer("image");
  const std::int64_t feats = p.integer("feats"), blocks = p.integer("blocks");
  GraphBuilder b(stage == "full" ? "lensing" : "lensing_" + stage);
  const TensorId image = b.input("image", {batch, 3, size, size});
  if (edsr_only(stage)) {
    b.output(edsr(b, stage, image, feats, blocks));
  } else {
    TensorId clean = image;
    if (stage == "full") clean = edsr(b, "deblend", edsr(b, "denoise", image, feats, blocks), feats, blocks);
    const TensorId eps = b.input("eps", {batch, 10});
    const auto [detection, parameters] = encoder_and_heads(b, clean, eps);
    b.output(detection);
    b.output(parameters);
  }
  Workload w;
  w.apps.push_back(b.finish());
  return w;
}

/// EDSR: L1 against the clean image, Adam at 1e-4 (EDSR's); the encoder's heads: binary
/// cross-entropy on the detection and L1 on the lens parameters. The VIB's KL term on the code
/// is left out: it is a few hundred FLOPs per image on 10 numbers, nothing against the convs.
Training train_lensing(const Params& p, const graphs::Graph& app) {
  Training t;
  t.optimizer.lr = 1e-4;
  if (edsr_only(p.text("stage"))) {
    t.loss.push_back(graphs::loss_on(graphs::LossKind::l1, output_name(app, 0)));
  } else {
    t.loss.push_back(graphs::loss_on(graphs::LossKind::binary_cross_entropy, output_name(app, 0)));
    t.loss.push_back(graphs::loss_on(graphs::LossKind::l1, output_name(app, 1)));
  }
  return t;
}

}  // namespace

WorkloadDef lensing_workload() {
  return {"lensing",
          "strong-lensing pipeline: EDSR denoise -> EDSR deblend -> VIB encoder -> detection and modeling heads",
          {{"batch", "1", "images per run", {}},
           {"image", "111", "image height and width (3 bands; 32 x 32 crops when training one EDSR)", {}},
           {"feats", "256", "EDSR feature channels F", {}},
           {"blocks", "16", "EDSR residual blocks", {}},
           {"stage",
            "full",
            "which modules: one EDSR, the encoder with its heads, or all",
            {"full", "denoise", "deblend", "encoder"}}},
          build_lensing,
          train_lensing};
}

}  // namespace rdasim::workloads
