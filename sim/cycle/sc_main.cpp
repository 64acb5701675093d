// libsystemc refers to sc_main(), the entry point of programs that let SystemC own main().
// rdasim's programs keep their own main() and elaborate models through sim/cycle's functions,
// so this definition only satisfies the library's reference; reaching it is a usage error.
#include <cstdio>

// Declared by SystemC (sc_externs.h) with C linkage.
extern "C" int sc_main(int /*argc*/, char* /*argv*/[]) {
  std::fputs("rdasim: error: SystemC's main() is not rdasim's entry point\n", stderr);
  return 2;
}
