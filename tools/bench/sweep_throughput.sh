#!/usr/bin/env bash
# Sweep throughput on this machine: points per minute of configs/sweeps/example.yaml (48 points)
# with the simulator and with --fast (the mapper's analytic estimate), each from an empty
# folder, REPS times. A timing, not a test.
#   tools/bench/sweep_throughput.sh [RDASIM] [REPS] [JOBS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rdasim=${1:-build/release/tools/rdasim}
reps=${2:-3}
jobs=${3:-$(nproc)}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for mode in sim fast; do
  flag=()
  [[ $mode == fast ]] && flag=(--fast)
  for ((i = 1; i <= reps; i++)); do
    rm -rf "$out/run"
    start=$(date +%s.%N)
    "$rdasim" sweep configs/sweeps/example.yaml --out "$out/run" --jobs "$jobs" --progress none "${flag[@]}" > /dev/null
    end=$(date +%s.%N)
    points=$(($(wc -l < "$out/run/results.csv") - 1))
    awk -v m="$mode" -v p="$points" -v s="$start" -v e="$end" -v j="$jobs" \
      'BEGIN { printf "%-4s %d points in %6.1f s with %d jobs: %7.1f points/min\n", m, p, e - s, j, p * 60 / (e - s) }'
  done
done
