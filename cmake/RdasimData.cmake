# The data folder the program and the Python module read at run time (core::data_dir): presets
# found by name (`--arch sn10`), LLM configs, serving frameworks, the validation rows and the
# plot scripts. Each folder is copied into <build>/share/rdasim/<dest> at configure time (again
# when a file changes) and installed to <prefix>/share/rdasim/<dest>, the same layout in both,
# so that files naming each other relatively (a system's `arch: ../arch/sn40l.yaml`) resolve.
# No source path is compiled in, so another clone's build hits the same ccache objects.
function(rdasim_ship_data source dest)
  file(GLOB files CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/${source}/*")
  foreach(file IN LISTS files)
    if(IS_DIRECTORY "${file}")
      continue()
    endif()
    get_filename_component(name "${file}" NAME)
    configure_file("${file}" "${PROJECT_BINARY_DIR}/share/rdasim/${dest}/${name}" COPYONLY)
    install(FILES "${file}" DESTINATION "share/rdasim/${dest}" COMPONENT runtime)
  endforeach()
endfunction()

# What the folder holds (also, for pip, a file of its own, so that `pip uninstall` removes it whole).
configure_file("${PROJECT_SOURCE_DIR}/cmake/data_README.md" "${PROJECT_BINARY_DIR}/share/rdasim/README.md" COPYONLY)
install(FILES "${PROJECT_SOURCE_DIR}/cmake/data_README.md" DESTINATION share/rdasim RENAME README.md COMPONENT runtime)
rdasim_ship_data(configs/arch arch)
rdasim_ship_data(configs/gpu gpu)
rdasim_ship_data(configs/systems systems)
rdasim_ship_data(configs/llm llm)
rdasim_ship_data(configs/frameworks frameworks)
rdasim_ship_data(configs/validation validation)
rdasim_ship_data(tools/plot plot)
