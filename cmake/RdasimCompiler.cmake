# Compiler settings shared by every target: warnings, -Werror on request, sanitizers, ccache.

find_program(RDASIM_CCACHE ccache)
if(RDASIM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${RDASIM_CCACHE}")
  message(STATUS "rdasim: compiling through ccache (${RDASIM_CCACHE})")
endif()

add_library(rdasim_build_flags INTERFACE)
target_compile_options(rdasim_build_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
# Position-independent code (for the Python module) lets another library interpose any exported
# function, so GCC would not inline a call to a function of the same file: the simulator's step
# called its two-line helpers (SectionFlow::ready_at) out of line. Nothing here is interposed.
target_compile_options(rdasim_build_flags INTERFACE $<$<CONFIG:Release>:-fno-semantic-interposition>)
if(RDASIM_WERROR)
  target_compile_options(rdasim_build_flags INTERFACE -Werror)
endif()
# Sanitizers apply to everything, third-party headers included, so they are global.
if(RDASIM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
