// The `rdasim` program allocates through jemalloc with transparent huge pages for its heap.
// Every sweep point and every simulation runs in a forked worker, which faults in each page of
// the heap it builds (a DCRNN point's graph, mapping and simulator state) afresh: with 4 KiB
// pages that was about a tenth of a sweep's time in the kernel, with 2 MiB pages half of it,
// and fewer TLB misses after. The example sweep (48 points, --jobs 2) ran 269-300 points a
// minute against 243-251 with the C library's malloc, the two builds interleaved three times on
// the 2-core machine (2026-12-07); glibc's own huge-page tunable (glibc.malloc.hugetlb) gave
// about half that gain and is read only from the environment at start-up. MALLOC_CONF in the environment still
// overrides these settings (jemalloc reads it after this string), e.g. MALLOC_CONF=thp:never to measure without.
#include "tools/cli/allocator.h"

#ifdef RDASIM_JEMALLOC
#include <jemalloc/jemalloc.h>

#include <fmt/format.h>

// jemalloc's settings compiled into the program (jemalloc(3), "TUNING": it reads a global of
// this name at start-up): huge pages for its arenas and for its own metadata.
extern "C" {
const char* malloc_conf = "thp:always,metadata_thp:always";
}
#endif

namespace rdasim::tools {

std::string allocator_description() {
#ifdef RDASIM_JEMALLOC
  const char* version = "?";
  const char* thp = "?";
  std::size_t size = sizeof(const char*);
  mallctl("version", static_cast<void*>(&version), &size, nullptr, 0);
  size = sizeof(const char*);
  mallctl("opt.thp", static_cast<void*>(&thp), &size, nullptr, 0);
  return fmt::format("jemalloc {} (huge pages: {})", version, thp);
#else
  return "the C library's malloc";
#endif
}

}  // namespace rdasim::tools
