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

# yaml-cpp 0.7's config names its target `yaml-cpp` without a namespace.
if(TARGET yaml-cpp AND NOT TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp::yaml-cpp ALIAS yaml-cpp)
endif()

if(RDASIM_BUILD_BENCHMARKS)
  find_package(benchmark 1.6 REQUIRED)
endif()

if(RDASIM_BUILD_TESTS)
  find_package(Catch2 2.13 REQUIRED)
  include(Catch)
endif()
