#!/bin/sh
# The validation benchmark of issue 23: a full `rdasim validate` (every measured row of
# configs/validation, the SN40L paper's checks, no plots) with --jobs 1 and --jobs 2, and the
# calibration's extra cost (--fit). Prints each run's summary and its wall time.
# Run from the repository root after tools/build.sh: tools/bench/validate.sh [build/release]
set -eu
build=${1:-build/release}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for jobs in 1 2; do
  echo "== --jobs $jobs"
  /usr/bin/time -f "%e s wall, %M KB" "$build/tools/rdasim" -q validate --jobs "$jobs" --no-plots --out "$out/j$jobs"
done
echo "== --jobs 2 --fit"
/usr/bin/time -f "%e s wall, %M KB" "$build/tools/rdasim" -q validate --jobs 2 --fit --no-plots --out "$out/fit"
