// Models on systems of RDAs (tools/pipeline/system_run.h), timed analytically: reusing an
// identical segment's result equals mapping it again, each socket's memory is its own (the
// 32-member ensemble on an SN10-8 against one SN10), data parallel scales, and bad splits say why.
#include <catch2/catch.hpp>

#include "arch/fabric.h"
#include "core/error.h"
#include "mapper/mapping.h"
#include "tests/test_paths.h"
#include "tools/pipeline/map_inputs.h"
#include "tools/pipeline/models.h"
#include "tools/pipeline/system_run.h"

namespace rdasim::tools {
namespace {

arch::SystemSpec system(const std::string& name, std::optional<int> devices = {}) {
  return arch::SystemSpec::load_file(test::source_dir() / "configs/systems" / (name + ".yaml"), {}, devices);
}

workloads::Workload workload(const std::string& name, std::vector<std::string> params) {
  return load_model_argument(name, params);
}

TEST_CASE("a segment identical to one mapped already takes its result: the same as mapping it again",
          "[tools][system]") {
  const auto w = workload("inversion", {"batch=64"});
  for (const graphs::Parallelism p : {graphs::Parallelism{4, 1, 1}, graphs::Parallelism{2, 2, 1}}) {
    SystemRunOptions options;
    options.parallelism = p;
    const auto reused = run_on_system(w, system("sn40l-8"), options);
    options.reuse_identical = false;
    const auto full = run_on_system(w, system("sn40l-8"), options);
    REQUIRE(reused.segments.size() == full.segments.size());
    CHECK(std::count_if(reused.segments.begin(), reused.segments.end(), [](auto& s) { return s.reused; }) > 0);
    for (std::size_t i = 0; i < full.segments.size(); ++i)
      CHECK(reused.segments[i].seconds == full.segments[i].seconds);
    CHECK(reused.timeline.seconds == full.timeline.seconds);
  }
}

TEST_CASE("the 32-member ensemble spread over an SN10-8 runs at least 5x faster than on one SN10", "[tools][system]") {
  const auto w = workload("ensemble", {"members=32"});
  const auto run = run_on_system(w, system("sn10-8"), {});
  CHECK(run.layout == "spread");
  CHECK(run.devices == 8);
  const arch::Fabric sn10(*system("sn10-8").fabric);
  const auto one_chip = map_graphs(w.apps, {}, sn10, "o1", 1);
  const double alone = mapper::analytic_cycles(one_chip, sn10.spec()) / (sn10.spec().clock_ghz() * 1e9);
  CHECK(alone / run.timeline.seconds >= 5);
}

TEST_CASE("data parallel: each socket runs its share of the batch", "[tools][system]") {
  const auto w = workload("inversion", {"batch=64"});
  SystemRunOptions options;
  double previous = 0;
  for (const int n : {1, 2, 4, 8}) {
    const auto run = run_on_system(w, system("sn40l-8", n), options, batch_rebuilder("inversion", {"batch=64"}));
    CHECK(run.parallelism.dp == n);  // no split given: data parallel on every socket
    if (previous > 0) CHECK(run.timeline.seconds < previous);
    previous = run.timeline.seconds;
  }
}

TEST_CASE("systems refuse splits they cannot run, saying why", "[tools][system]") {
  const auto w = workload("inversion", {"batch=4"});
  SystemRunOptions options;
  options.parallelism = {4, 4, 1};
  CHECK_THROWS_WITH(
      run_on_system(w, system("sn40l-8"), options),
      Catch::Contains("tp 4 x pp 4 x dp 1 needs 16 devices; the system 'SambaNova SN40L node (8 sockets)' "
                      "has 8"));
  options.parallelism = {1, 1, 2};
  CHECK_THROWS_WITH(run_on_system(workload("ensemble", {"members=3"}), system("sn40l-8"), options),
                    Catch::Contains("split one application; this model has 3"));
  CHECK_THROWS_WITH(run_on_system(w, system("dgx-h100"), {}), Catch::Contains("holds GPUs"));
  options.parallelism = {1, 1, 8};
  CHECK_THROWS_WITH(run_on_system(w, system("sn40l-8"), options, batch_rebuilder("inversion", {"batch=4"})),
                    Catch::Contains("needs a sample per replica; the batch is 4"));
  options.parallelism = {1, 2, 1};
  options.micro_batches = 8;
  CHECK_THROWS_WITH(run_on_system(w, system("sn40l-8"), options, batch_rebuilder("inversion", {"batch=4"})),
                    Catch::Contains("8 micro-batches need as many samples per replica; a replica has 4"));
}

}  // namespace
}  // namespace rdasim::tools
