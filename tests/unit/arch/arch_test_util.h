// Helpers for arch tests: the presets' paths and specs made from YAML text.
#pragma once

#include <string>
#include <vector>

#include "arch/spec.h"
#include "tests/test_paths.h"

namespace rdasim::test {

inline std::string preset(const std::string& name) {
  return (source_dir() / "configs" / "arch" / (name + ".yaml")).string();
}

/// tiny.yaml with overrides applied, e.g. {"tile.rows=3"}.
inline arch::Spec tiny(const std::vector<std::string>& sets = {}) {
  std::vector<core::Override> overrides;
  for (const auto& s : sets) overrides.push_back(core::Override::parse(s));
  return arch::Spec::load_file(preset("tiny"), overrides);
}

}  // namespace rdasim::test
