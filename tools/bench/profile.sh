#!/usr/bin/env bash
# Where the time goes: flat perf profiles (self time per function, the top N) of the mapper on
# many tenants and of the simulator per event, on the cases that take longest, each run the way
# `rdasim compare` and `rdasim sweep` run them. A measurement, not a test: run it on an idle
# machine, before and after a change, and compare the tables.
#   tools/bench/profile.sh [RDASIM=build/release/tools/rdasim] [TOP=12] [CASES...]
# Cases: map-gp-dcrnn, map-ensemble-32, sim-gp-dcrnn, sim-ensemble-32, sim-ensemble-5-train,
# sim-dcrnn-64, sweep (configs/sweeps/example.yaml, --jobs 1). Needs Debian's linux-perf and
# kernel.perf_event_paranoid <= 2 (the default); samples the CPU clock, so it works in VMs with
# no hardware counters. Forked workers (simulate(), the alone runs) are followed and counted.
set -euo pipefail
cd "$(dirname "$0")/../.."
rdasim=$(realpath "${1:-build/release/tools/rdasim}")
top=${2:-12}
shift $(($# > 2 ? 2 : $#))
cases=("$@")
((${#cases[@]})) || cases=(map-gp-dcrnn map-ensemble-32 sim-gp-dcrnn sim-ensemble-32 sim-ensemble-5-train sim-dcrnn-64 sweep)
command -v perf > /dev/null || { echo "profile.sh: needs perf (Debian: linux-perf)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
arch=configs/arch/sn10.yaml

# The mapping a simulation case runs, made once outside the profile.
mapped() {
  local name=$1
  shift
  [[ -f $tmp/$name/mapping.json ]] || "$rdasim" -q map "$@" --arch "$arch" --out "$tmp/$name" > /dev/null
  echo "$tmp/$name/mapping.json"
}

for case in "${cases[@]}"; do
  case $case in
    map-gp-dcrnn) run=("$rdasim" -q map gp-dcrnn -p batch=64 --arch "$arch") ;;
    map-ensemble-32) run=("$rdasim" -q map ensemble -p members=32 -p batch=64 --arch "$arch") ;;
    sim-gp-dcrnn) run=("$rdasim" -q sim "$(mapped gp gp-dcrnn -p batch=64)" --arch "$arch") ;;
    sim-ensemble-32) run=("$rdasim" -q sim "$(mapped e32 ensemble -p members=32 -p batch=64)" --arch "$arch") ;;
    sim-ensemble-5-train)
      run=("$rdasim" -q sim "$(mapped e5t ensemble -p members=5 -p mode=train -p batch=64)" --arch "$arch") ;;
    sim-dcrnn-64) run=("$rdasim" -q sim "$(mapped d64 dcrnn -p batch=64)" --arch "$arch") ;;
    sweep) run=("$rdasim" -q sweep configs/sweeps/example.yaml --out "$tmp/sweep" --jobs 1 --progress none) ;;
    *) echo "profile.sh: unknown case '$case'" >&2; exit 2 ;;
  esac
  rm -rf "$tmp/sweep"
  start=$(date +%s.%N)
  perf record -q -e cpu-clock -F 999 -o "$tmp/perf.data" -- "${run[@]}" > /dev/null 2> "$tmp/err.txt" ||
    { cat "$tmp/err.txt" >&2; exit 1; }
  wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  echo "== $case: ${wall} s wall (${run[*]#"$rdasim "})"
  # awk reads the report to its end: leaving early would kill perf with SIGPIPE, and pipefail
  # the script, after the first case.
  perf report -i "$tmp/perf.data" --no-children --sort symbol --stdio -g none 2> /dev/null |
    awk -v top="$top" '/^ +[0-9.]+%/ && n++ < top { sub(/^ +/, ""); sub(/ +$/, ""); print }' |
    cut -c1-140 | sed 's/ *$//'
done
