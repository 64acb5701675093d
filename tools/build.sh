#!/usr/bin/env bash
# Configures and builds one build tree: tools/build.sh DIR [cmake options...]. Shared by
# tools/demo.sh and tools/test.sh so both build the same way (Ninja, ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
jobs=${RDASIM_JOBS:-$(nproc)}
mkdir -p "$dir"
cmake -S . -B "$dir" -G Ninja "$@" >"$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log" >&2
  exit 1
}
# RDASIM_TARGETS limits the build to some targets (tools/fuzz.sh builds only its own).
cmake --build "$dir" -j "$jobs" ${RDASIM_TARGETS:+--target $RDASIM_TARGETS}
