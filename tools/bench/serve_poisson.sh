#!/bin/sh
# The serving benchmark of issue 22: 1,000 Poisson requests (4 per second, input and output
# lengths uniform in 128-1024, at most 64 in a batch) of Llama-3-8B on an SN40L node at tensor
# parallel 8, every distinct step simulated (SystemC) once and the rest interpolated. Prints the
# run's summary and its wall time, with continuous batching and with sambaflow's static batches.
# Run from the repository root after tools/build.sh: tools/bench/serve_poisson.sh [build/release]
set -eu
build=${1:-build/release}
for batching in continuous static; do
  echo "== $batching batching"
  /usr/bin/time -f "%e s wall, %M KB" "$build/tools/rdasim" -q serve llama-3-8b \
    --system configs/systems/sn40l-8.yaml --tp 8 --rate 4 --num-requests 1000 --seed 1 --max-batch 64 \
    --framework-set batching=$batching
done
