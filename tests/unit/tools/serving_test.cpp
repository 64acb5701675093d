// Serving steps timed on real systems (tools/pipeline/serving.h): memoized steps interpolated on
// the power-of-two grid agree with simulating each step, SambaFlow's looped layers pay their
// reconfiguration once per distinct segment and stream weights while the all-reduces run, and
// a Llama-3-8B decode step on an SN40L node sits within 1.3x of its HBM bound. The two that
// simulate a minute of SystemC are [published]: the optimized suite runs them, not the sanitizers.
#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>

#include "sim/serve/framework.h"
#include "sim/serve/steps.h"
#include "tests/test_paths.h"
#include "tools/pipeline/serving.h"
#include "tools/pipeline/system_run.h"

namespace rdasim::tools {
namespace {

arch::SystemSpec sn40l_8() { return arch::SystemSpec::load_file(test::source_dir() / "configs/systems/sn40l-8.yaml"); }

workloads::LlmConfig llama_8b() {
  return workloads::load_llm_config(test::source_dir() / "configs/llm/llama-3-8b.json");
}

ServeSetup sambaflow_tp8(bool simulate) {
  ServeSetup setup;
  setup.parallelism.tp = 8;
  setup.framework = serve::Framework::load_file(test::source_dir() / "configs/frameworks/sambaflow.yaml");
  setup.simulate = simulate;
  return setup;
}

}  // namespace

TEST_CASE("decode and prefill steps interpolated between simulated powers of two agree with simulating them",
          "[tools][serve][published]") {
  const auto system = sn40l_8();
  const auto config = llama_8b();
  const auto timer = step_timer(system, sambaflow_tp8(true), {{config.name, config}});
  serve::StepTable exact(timer, false), grid(timer, true);
  struct Point {
    bool prefill;
    std::int64_t batch, length;
  };
  for (const Point p : {Point{false, 5, 700}, Point{false, 20, 1500}, Point{true, 1, 448}, Point{true, 3, 640}}) {
    const double simulated = p.prefill ? exact.prefill(config.name, p.batch, p.length).seconds
                                       : exact.decode(config.name, p.batch, p.length).seconds;
    const double read = p.prefill ? grid.prefill(config.name, p.batch, p.length).seconds
                                  : grid.decode(config.name, p.batch, p.length).seconds;
    INFO((p.prefill ? "prefill" : "decode") << " batch " << p.batch << " length " << p.length << ": simulated "
                                            << simulated << " s, interpolated " << read << " s");
    CHECK(std::abs(read / simulated - 1) < 0.01);
  }
}

TEST_CASE("looped layers pay one reconfiguration per distinct segment and stream weights under the all-reduces",
          "[tools][serve]") {
  const auto system = sn40l_8();
  workloads::LlmStep step;
  step.context = 1024;
  workloads::Workload w;
  w.apps.push_back(workloads::build_llm(llama_8b(), step));
  SystemRunOptions options;
  options.parallelism.tp = 8;
  const SystemRun plain = run_on_system(w, system, options);
  options.looped_layers = true;
  const SystemRun looped = run_on_system(w, system, options);
  REQUIRE(plain.segments.size() == looped.segments.size());
  double saved = 0;
  int iterations = 0;
  for (std::size_t i = 0; i < plain.segments.size(); ++i) {
    const auto& a = plain.segments[i];
    const auto& b = looped.segments[i];
    if (b.looped) {
      ++iterations;
      if (b.device == 0) saved += a.reconfig_s;
      CHECK(b.seconds == Approx(a.seconds - a.reconfig_s));
      CHECK(b.early_s > 0);
    } else {
      CHECK(b.seconds == a.seconds);
    }
  }
  // 32 layers of two segments each (attention, then the MLP, an all-reduce after each) and the
  // LM head: on each socket only the first attention and MLP segments and the two that differ
  // (the first, with the embedding; the last, with the LM head) are configured.
  CHECK(iterations == 8 * 61);
  CHECK(looped_saving_s(looped) == Approx(saved));
  CHECK(looped.timeline.seconds < plain.timeline.seconds - saved);  // and the all-reduces overlap
  CHECK(looped.timeline.devices.front().early_s > 0);
}

TEST_CASE("a Llama-3-8B decode step on an SN40L node at tensor parallel 8 runs within 1.3x of its HBM bound",
          "[tools][serve][published]") {
  const auto system = sn40l_8();
  const auto config = llama_8b();
  const ServeSetup setup = sambaflow_tp8(true);
  workloads::LlmStep step;
  step.context = 1024;
  const serve::StepTime t = step_timer(system, setup, {{config.name, config}})(config.name, step);
  // Each socket reads its eighth of the weights per token at 1.6 TB/s.
  const double bound =
      served_model(config, setup).weight_bytes / (system.fabric->memory_tiers().front().bandwidth_gbps * 1e9);
  INFO("decode step " << t.seconds << " s, bound " << bound << " s");
  CHECK(t.seconds < 1.3 * bound);
  CHECK(t.seconds > bound / system.fabric->memory_tiers().front().efficiency);  // no faster than sustained HBM
  CHECK(t.overlapped_s > 0.5 * t.collective_s);  // the all-reduces mostly hidden under weight streaming
}

}  // namespace rdasim::tools
