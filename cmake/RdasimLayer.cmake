# rdasim_layer(NAME <name> [SOURCES ...] [USES <layer>...] [LIBS <external>...])
#
# Declares one layer of DESIGN.md's table as the target rdasim_<name> with the alias
# rdasim::<name>. USES names the lower layers the folder may use; it is the only place the
# dependency rule is written down. A layer with no sources yet is an INTERFACE target that still
# carries its dependencies, so the link graph is complete from the start.
function(rdasim_layer)
  cmake_parse_arguments(L "" "NAME" "SOURCES;USES;LIBS" ${ARGN})
  set(target rdasim_${L_NAME})
  string(REPLACE "/" "_" target "${target}")
  set(deps "")
  foreach(use IN LISTS L_USES)
    string(REPLACE "/" "_" use "${use}")
    list(APPEND deps rdasim_${use})
  endforeach()
  if(L_SOURCES)
    add_library(${target} STATIC ${L_SOURCES})
    target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}")
    target_link_libraries(${target} PUBLIC ${deps} ${L_LIBS} PRIVATE rdasim_build_flags)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE "${PROJECT_SOURCE_DIR}")
    target_link_libraries(${target} INTERFACE ${deps} ${L_LIBS})
  endif()
  string(REPLACE "rdasim_" "" alias "${target}")
  add_library(rdasim::${alias} ALIAS ${target})
  # Recorded for the include check (tests/layers): "folder=used,folders".
  list(JOIN L_USES "," uses)
  set_property(GLOBAL APPEND PROPERTY RDASIM_LAYERS "${L_NAME}=${uses}")
endfunction()
