// Which allocator the `rdasim` program runs on (tools/cli/allocator.cpp says why jemalloc), for
// `rdasim --version`: timings are only comparable between builds that allocate alike.
#pragma once

#include <string>

namespace rdasim::tools {

/// "jemalloc VERSION (huge pages: MODE)" when the program was linked with jemalloc, else
/// "the C library's malloc".
[[nodiscard]] std::string allocator_description();

}  // namespace rdasim::tools
