# `cmake --install <build> --prefix P`: the program (P/bin/rdasim), the data folder
# (P/share/rdasim, cmake/RdasimData.cmake), the Python module (tools/CMakeLists.txt), and for C++
# users the layer libraries with their headers and a CMake package:
#   find_package(rdasim) -> rdasim::rdasim (every layer) and rdasim::<layer> (rdasim::core,
#   rdasim::arch, rdasim::mapper, rdasim::sim_cycle, ...), headers included as "arch/fabric.h".
# examples/embed/ builds against it.
include(CMakePackageConfigHelpers)
set(RDASIM_INSTALL_CMAKEDIR lib/cmake/rdasim)

install(TARGETS rdasim RUNTIME DESTINATION bin COMPONENT runtime)

# rdasim::rdasim: the whole library, what a program embedding the simulator links.
add_library(rdasim_all INTERFACE)
target_link_libraries(rdasim_all INTERFACE rdasim_tools)
set_target_properties(rdasim_all PROPERTIES EXPORT_NAME rdasim)
add_library(rdasim::rdasim ALIAS rdasim_all)
set_target_properties(rdasim_systemc PROPERTIES EXPORT_NAME systemc)

get_property(layer_targets GLOBAL PROPERTY RDASIM_LAYER_TARGETS)
install(TARGETS ${layer_targets} rdasim_all rdasim_systemc EXPORT rdasimTargets
  ARCHIVE DESTINATION lib COMPONENT development)
install(EXPORT rdasimTargets NAMESPACE rdasim:: DESTINATION "${RDASIM_INSTALL_CMAKEDIR}" COMPONENT development)

# Headers, each layer's folder as in the source tree (tools/: what the program and the module
# share, pipeline/ and sweep/).
file(GLOB_RECURSE headers RELATIVE "${PROJECT_SOURCE_DIR}" CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/core/*.h" "${PROJECT_SOURCE_DIR}/arch/*.h" "${PROJECT_SOURCE_DIR}/graphs/*.h"
  "${PROJECT_SOURCE_DIR}/workloads/*.h" "${PROJECT_SOURCE_DIR}/mapper/*.h" "${PROJECT_SOURCE_DIR}/sim/*.h"
  "${PROJECT_SOURCE_DIR}/tools/pipeline/*.h" "${PROJECT_SOURCE_DIR}/tools/sweep/*.h")
foreach(header IN LISTS headers)
  get_filename_component(dir "${header}" DIRECTORY)
  install(FILES "${header}" DESTINATION "include/rdasim/${dir}" COMPONENT development)
endforeach()

configure_package_config_file(cmake/rdasimConfig.cmake.in "${PROJECT_BINARY_DIR}/rdasimConfig.cmake"
  INSTALL_DESTINATION "${RDASIM_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/rdasimConfigVersion.cmake" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/rdasimConfig.cmake" "${PROJECT_BINARY_DIR}/rdasimConfigVersion.cmake"
  cmake/FindMETIS.cmake cmake/installed_data_dir.cpp sim/cycle/sc_main.cpp
  DESTINATION "${RDASIM_INSTALL_CMAKEDIR}" COMPONENT development)
