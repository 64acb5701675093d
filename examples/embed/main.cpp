// Embedding rdasim: load a fabric (a preset's name or a YAML file), build a science workload,
// map it (sections, placement, routes) and simulate the mapping on the SystemC model, then print
// the simulated time; the same numbers as `rdasim sim WORKLOAD -p batch=B --arch ARCH`.
//   embed [ARCH=sn10] [WORKLOAD=inversion] [BATCH=16]
#include <cstdio>
#include <exception>
#include <string>

#include "arch/fabric.h"
#include "arch/spec.h"
#include "core/error.h"
#include "sim/cycle/simulate.h"
#include "tools/pipeline/map_inputs.h"

int main(int argc, char** argv) {
  using namespace rdasim;
  const std::string arch_name = argc > 1 ? argv[1] : "sn10";
  const std::string workload = argc > 2 ? argv[2] : "inversion";
  const std::string batch = argc > 3 ? argv[3] : "16";
  try {
    const arch::Fabric fabric(arch::Spec::load_file(arch_name));
    tools::MapInputs inputs;
    inputs.models = {workload};
    inputs.params = {"batch=" + batch};
    const mapper::Mapping mapping = tools::map_inputs(inputs, fabric);
    const sim::SimResult result = sim::simulate(mapping, fabric, sim::SimOptions{});
    std::printf("%s on %s, batch %s: %.9g s, %.9g cycles, %.9g J\n", workload.c_str(), fabric.spec().name().c_str(),
                batch.c_str(), result.report.seconds, result.report.cycles, result.report.energy.total_j());
    return 0;
  } catch (const core::InputError& e) {
    std::fprintf(stderr, "embed: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embed: internal error: %s\n", e.what());
    return 3;
  }
}
