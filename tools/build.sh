#!/usr/bin/env bash
# Configures and builds one build tree from a preset of CMakePresets.json:
#   tools/build.sh PRESET [TARGET...]     (release, sanitize or fuzz; all targets when none named)
# tools/demo.sh, tools/test.sh and tools/fuzz.sh build through it, so each preset's flags are
# written once: the demo and the test suite share build/release, and the second reuses what the
# first compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=$1
shift
jobs=${RDASIM_JOBS:-$(nproc)}
dir=build/$preset
mkdir -p "$dir"
# ccache keys paths relative to the clone, so a second clone of the same commit (CI's fresh
# clone, a colleague's checkout) hits the objects the first one compiled; debug info does not
# hash the build folder's absolute path either.
export CCACHE_BASEDIR=$PWD
export CCACHE_NOHASHDIR=true
cmake --preset "$preset" >"$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log" >&2
  exit 1
}
cmake --build "$dir" -j "$jobs" ${1:+--target "$@"}
