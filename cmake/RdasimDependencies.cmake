# Third-party dependencies, all from Debian packages (tools/setup.sh installs them). Nothing is
# downloaded at configure time.
find_package(PkgConfig REQUIRED)
find_package(fmt 9 REQUIRED)
find_package(yaml-cpp 0.7 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 2 REQUIRED)
find_package(Boost 1.74 REQUIRED)            # header-only parts: Boost.Graph
find_package(Eigen3 3.4 REQUIRED NO_MODULE)  # reference kernels and the functional executor
find_package(METIS 5.1 REQUIRED)
find_package(Protobuf REQUIRED)              # Debian's ONNX config needs protobuf::libprotobuf
find_package(ONNX REQUIRED)                  # targets onnx_proto (the protobuf messages) and onnx

# Debian's SystemC 2.3.4 ships only a pkg-config file, and was built as C++17: a C++20
# translation unit must claim 201703L or the version-check symbol does not link.
pkg_check_modules(SystemC REQUIRED IMPORTED_TARGET systemc>=2.3.3)
add_library(rdasim_systemc INTERFACE)
target_link_libraries(rdasim_systemc INTERFACE PkgConfig::SystemC)
target_compile_definitions(rdasim_systemc INTERFACE SC_CPLUSPLUS=201703L)

# jemalloc for the `rdasim` program (Debian: libjemalloc-dev; tools/cli/allocator.cpp says why).
# The sanitizers and libFuzzer bring allocators of their own.
if(RDASIM_JEMALLOC AND NOT RDASIM_SANITIZE AND NOT RDASIM_FUZZ)
  pkg_check_modules(jemalloc REQUIRED IMPORTED_TARGET jemalloc>=5)
  set(RDASIM_LINK_JEMALLOC ON)
endif()

# yaml-cpp 0.7's config names its target `yaml-cpp` without a namespace.
if(TARGET yaml-cpp AND NOT TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp::yaml-cpp ALIAS yaml-cpp)
endif()

# Sweeps across ranks under mpirun (Debian: libopenmpi-dev). Without it `rdasim sweep` still runs
# locally and in --shard pieces.
set(MPI_CXX_SKIP_MPICXX ON)  # the C API only, from C++
find_package(MPI COMPONENTS CXX)
if(NOT MPI_CXX_FOUND)
  message(STATUS "rdasim: MPI not found; `rdasim sweep` will refuse to run under mpirun")
endif()

# The Python module `rdasim` (pybind11) for Debian's /usr/bin/python3, where torch, numpy and
# pandas are installed (the first python3 on PATH may be another interpreter). Not with the
# sanitizers: /usr/bin/python3 cannot load an ASan-instrumented module.
if(RDASIM_BUILD_PYTHON AND NOT RDASIM_SANITIZE)
  if(NOT Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3)
  endif()
  find_package(Python3 COMPONENTS Interpreter Development.Module)
  find_package(pybind11 2.6 CONFIG)
  if(Python3_FOUND AND pybind11_FOUND)
    set(RDASIM_PYTHON_MODULE ON)
    # Static libraries linked into a shared module must be position-independent.
    set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  else()
    message(STATUS "rdasim: pybind11 or Python 3 headers not found; not building the Python module")
  endif()
endif()

if(RDASIM_BUILD_BENCHMARKS)
  find_package(benchmark 1.6 REQUIRED)
endif()

if(RDASIM_BUILD_TESTS)
  find_package(Catch2 2.13 REQUIRED)
  include(Catch)
endif()
