# The key table of configs/arch/README.md must be what `rdasim arch keys --format markdown`
# prints: cmake -DRDASIM=<program> -DREADME=<file> -P check_arch_keys.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${RDASIM}" arch keys --format markdown
  RESULT_VARIABLE rc OUTPUT_VARIABLE generated)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "rdasim arch keys failed with status ${rc}")
endif()
file(READ "${README}" readme)
string(REGEX MATCH "<!-- keys:begin -->\n(.*)<!-- keys:end -->" _ "${readme}")
if(NOT CMAKE_MATCH_1 STREQUAL generated)
  message(FATAL_ERROR "${README}: the key table is out of date; regenerate it with\n"
                      "  rdasim arch keys --format markdown\n--- expected ---\n${generated}")
endif()
