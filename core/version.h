// Which rdasim this is: the project version and the commit it was built from.
#pragma once

#include <string_view>

namespace rdasim::core {

/// "<project version>+g<commit>" (PEP 440's local version, so that pip and Python read it as
/// one), with ".dirty" when the build had uncommitted changes to tracked files; the project
/// version alone when built outside a git checkout. Written at build time by
/// cmake/RdasimVersion.cmake.
[[nodiscard]] std::string_view version();

}  // namespace rdasim::core
