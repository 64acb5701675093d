# The key table of a format's README must be what `rdasim KIND keys --format markdown` prints
# (KIND: arch or system): cmake -DRDASIM=<program> -DKIND=<kind> -DREADME=<file> -P check_keys.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${RDASIM}" ${KIND} keys --format markdown
  RESULT_VARIABLE rc OUTPUT_VARIABLE generated)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "rdasim ${KIND} keys failed with status ${rc}")
endif()
file(READ "${README}" readme)
string(REGEX MATCH "<!-- keys:begin -->\n(.*)<!-- keys:end -->" _ "${readme}")
if(NOT CMAKE_MATCH_1 STREQUAL generated)
  message(FATAL_ERROR "${README}: the key table is out of date; regenerate it with\n"
                      "  rdasim ${KIND} keys --format markdown\n--- expected ---\n${generated}")
endif()
