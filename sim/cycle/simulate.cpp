// simulate(): one simulation in a forked worker (core::Worker), so that a process (the sweep
// runner, the Python module) can run as many as it likes although SystemC elaborates once per
// process.
#include "sim/cycle/simulate.h"

#include <utility>

#include "core/worker.h"

namespace rdasim::sim {

SimResult simulate(const mapper::Mapping& mapping, const arch::Fabric& fabric, const SimOptions& options) {
  SimOptions quiet = options;
  quiet.progress = nullptr;  // the worker's output is the pipe alone
  core::Worker worker([&] {
    auto result = simulate_here(mapping, fabric, quiet);
    return core::Json{{"report", to_json(result.report)}, {"trace", std::move(result.trace)}};
  });
  auto answer = worker.wait();
  return {report_from_json(answer.at("report"), "simulation worker"), std::move(answer.at("trace"))};
}

}  // namespace rdasim::sim
