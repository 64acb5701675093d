#!/usr/bin/env bash
# Checks the C++ format (tools/format.sh), builds rdasim and runs every test twice: an optimized
# build with warnings as errors (the release preset, which tools/demo.sh builds too), then a
# build with AddressSanitizer and UndefinedBehaviorSanitizer; then fuzzes the loaders of
# untrusted input for a bounded time (tools/fuzz.sh). Exit status 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
jobs=${RDASIM_JOBS:-$(nproc)}

# run_suite PRESET CTEST_ARGS: builds build/PRESET (CMakePresets.json) and runs its tests.
run_suite() {
  local dir=build/$1 ctest_args=$2
  echo "== $dir: build"
  tools/build.sh "$1"
  echo "== $dir: tests"
  # shellcheck disable=SC2086
  (cd "$dir" && ctest -j "$jobs" --output-on-failure --timeout 600 $ctest_args)
}

start=$SECONDS
tools/format.sh --check
run_suite release ""
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The science workloads at published size take minutes under the sanitizers, and so do the
# "slow" tests (the example sweep alone and under mpirun): the optimized suite runs them.
run_suite sanitize "-LE published|slow"
tools/fuzz.sh
echo "== all suites passed in $((SECONDS - start)) s"
