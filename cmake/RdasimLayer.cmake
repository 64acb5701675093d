# rdasim_layer(NAME <name> [SOURCES ...] [USES <layer>...] [LIBS <external>...])
#
# Declares one layer of DESIGN.md's table as the target rdasim_<name> with the alias
# rdasim::<name>. USES names the lower layers the folder may use; it is the only place the
# dependency rule is written down. A layer with no sources yet is an INTERFACE target that still
# carries its dependencies, so the link graph is complete from the start. Installed, the layer is
# the same rdasim::<name> of the CMake package (cmake/RdasimInstall.cmake), its headers under
# <prefix>/include/rdasim.
function(rdasim_layer)
  cmake_parse_arguments(L "" "NAME" "SOURCES;USES;LIBS" ${ARGN})
  set(target rdasim_${L_NAME})
  string(REPLACE "/" "_" target "${target}")
  set(deps "")
  foreach(use IN LISTS L_USES)
    string(REPLACE "/" "_" use "${use}")
    list(APPEND deps rdasim_${use})
  endforeach()
  set(includes "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>" "$<INSTALL_INTERFACE:include/rdasim>")
  if(L_SOURCES)
    add_library(${target} STATIC ${L_SOURCES})
    target_include_directories(${target} PUBLIC ${includes})
    # The warning flags are this project's, not its users'.
    target_link_libraries(${target} PUBLIC ${deps} ${L_LIBS} PRIVATE $<BUILD_INTERFACE:rdasim_build_flags>)
    target_compile_features(${target} PUBLIC cxx_std_20)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${includes})
    target_link_libraries(${target} INTERFACE ${deps} ${L_LIBS})
  endif()
  string(REPLACE "rdasim_" "" alias "${target}")
  add_library(rdasim::${alias} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${alias})
  set_property(GLOBAL APPEND PROPERTY RDASIM_LAYER_TARGETS ${target})
  # Recorded for the include check (tests/layers): "folder=used,folders".
  list(JOIN L_USES "," uses)
  set_property(GLOBAL APPEND PROPERTY RDASIM_LAYERS "${L_NAME}=${uses}")
endfunction()
