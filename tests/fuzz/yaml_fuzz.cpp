// libFuzzer target: arbitrary text through both YAML loaders, the fabric spec and the graph
// format. A core::InputError is the expected answer to bad text; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "arch/fabric.h"
#include "core/error.h"
#include "graphs/import/yaml_import.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto root = rdasim::core::ConfigNode::parse(text, "fuzz.yaml");
    try {
      // Building the fabric too: a spec that validates must always make a fabric.
      const rdasim::arch::Fabric fabric(rdasim::arch::Spec::load(root));
      (void)fabric;
    } catch (const rdasim::core::InputError&) {
    }
    (void)rdasim::graphs::parse_yaml_graph(root);
  } catch (const rdasim::core::InputError&) {
  }
  return 0;
}
