#!/usr/bin/env bash
# Scaling on systems: time per sample against the number of sockets (1 to 16), for lensing
# (batch 16, data parallel: each socket its share of the images) and the 32-member ensemble
# (batch 64, its members spread over the sockets), on SN40L sockets and SN10 RDUs simulated
# segment by segment, beside DGX H100 GPUs modelled the same way. Writes
# results/systems/scaling.csv and scaling.png:
#   tools/plot/system_scaling.sh [RDASIM] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
rdasim=${1:-build/release/tools/rdasim}
out=${2:-results/systems}
mkdir -p "$out"
csv="$out/scaling.csv"
echo "case,system,devices,batch,seconds,seconds_per_sample" >"$csv"
row() {  # case system devices batch json
  local seconds
  seconds=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])' <<<"$5")
  /usr/bin/python3 -c "print(f'$1,$2,$3,$4,{$seconds:.6g},{$seconds / $4:.6g}')" >>"$csv"
}
for n in 1 2 4 8 16; do
  echo "== $n socket(s)"
  row lensing sn40l "$n" 16 "$("$rdasim" -q sim lensing -p batch=16 --system configs/systems/sn40l-16.yaml --devices "$n" --json)"
  row lensing dgx-h100 "$n" 16 "$("$rdasim" -q gpu lensing -p batch=16 --system configs/systems/dgx-h100.yaml --devices "$n" --json)"
  row ensemble-32 sn10 "$n" 64 "$("$rdasim" -q sim ensemble -p members=32 --system configs/systems/sn10-8.yaml --devices "$n" --json)"
  row ensemble-32 dgx-h100 "$n" 64 "$("$rdasim" -q gpu ensemble -p members=32 --system configs/systems/dgx-h100.yaml --devices "$n" --json)"
done
/usr/bin/python3 tools/plot/system_scaling.py "$csv"
echo "wrote $csv and $out/scaling.png"
