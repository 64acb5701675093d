#!/usr/bin/env bash
# Builds rdasim and runs every test twice: an optimized build with warnings as errors, then a
# build with AddressSanitizer and UndefinedBehaviorSanitizer; then fuzzes the loaders of
# untrusted input for a bounded time (tools/fuzz.sh). Exit status 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
jobs=${RDASIM_JOBS:-$(nproc)}

# run_suite DIR CTEST_ARGS CMAKE_OPTIONS...
run_suite() {
  local dir=$1 ctest_args=$2
  shift 2
  echo "== $dir: build"
  tools/build.sh "$dir" -DRDASIM_WERROR=ON -DRDASIM_BUILD_TESTS=ON "$@"
  echo "== $dir: tests"
  # shellcheck disable=SC2086
  (cd "$dir" && ctest -j "$jobs" --output-on-failure --timeout 600 $ctest_args)
}

start=$SECONDS
run_suite build/release "" -DCMAKE_BUILD_TYPE=Release
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The science workloads at published size take minutes under the sanitizers, and so do the
# "slow" tests (the example sweep alone and under mpirun): the optimized suite runs them.
run_suite build/sanitize "-LE published|slow" -DCMAKE_BUILD_TYPE=Debug -DRDASIM_SANITIZE=ON -DRDASIM_BUILD_BENCHMARKS=OFF
tools/fuzz.sh
echo "== all suites passed in $((SECONDS - start)) s"
