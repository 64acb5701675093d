// Shared by the mapper's unit tests: fabric presets built once, workloads built as the CLI
// builds them (recurrences unrolled).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "arch/fabric.h"
#include "graphs/transforms.h"
#include "tests/test_paths.h"
#include "workloads/workload.h"

namespace rdasim::test {

/// A fabric preset of configs/arch, built once per test process.
inline const arch::Fabric& fabric(const std::string& preset) {
  static std::map<std::string, std::unique_ptr<arch::Fabric>> cache;
  auto& f = cache[preset];
  if (!f) {
    f = std::make_unique<arch::Fabric>(
        arch::Spec::load_file((source_dir() / "configs/arch" / (preset + ".yaml")).string()));
  }
  return *f;
}

/// A built-in workload's applications, recurrences unrolled.
inline std::vector<graphs::Graph> apps(const std::string& name,
                                       const std::map<std::string, std::string, std::less<>>& params) {
  auto w = workloads::build(name, params);
  for (auto& app : w.apps) app = graphs::expand_recurrent(app);
  return std::move(w.apps);
}

}  // namespace rdasim::test
