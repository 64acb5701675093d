# Finds METIS 5 (Debian: libmetis-dev), which ships neither a CMake package nor a pkg-config
# file. Defines METIS_FOUND, METIS_VERSION and the imported target METIS::METIS.
find_path(METIS_INCLUDE_DIR NAMES metis.h PATH_SUFFIXES metis)
find_library(METIS_LIBRARY NAMES metis)

if(METIS_INCLUDE_DIR AND EXISTS "${METIS_INCLUDE_DIR}/metis.h")
  set(_parts "")
  foreach(_part MAJOR MINOR SUBMINOR)
    file(STRINGS "${METIS_INCLUDE_DIR}/metis.h" _line REGEX "^#define METIS_VER_${_part}[ \t]+[0-9]+")
    string(REGEX REPLACE "^#define METIS_VER_${_part}[ \t]+([0-9]+).*" "\\1" _v "${_line}")
    list(APPEND _parts "${_v}")
  endforeach()
  list(JOIN _parts "." METIS_VERSION)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(METIS
  REQUIRED_VARS METIS_LIBRARY METIS_INCLUDE_DIR
  VERSION_VAR METIS_VERSION)

if(METIS_FOUND AND NOT TARGET METIS::METIS)
  add_library(METIS::METIS UNKNOWN IMPORTED)
  set_target_properties(METIS::METIS PROPERTIES
    IMPORTED_LOCATION "${METIS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${METIS_INCLUDE_DIR}")
endif()
mark_as_advanced(METIS_INCLUDE_DIR METIS_LIBRARY)
