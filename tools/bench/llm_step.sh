#!/usr/bin/env bash
# Wall time of one LLM serving step, built, mapped and simulated from the command line (issue
# 21's speed targets: under 5 s each on 2 cores). A timing, not a test.
#   tools/bench/llm_step.sh [RDASIM]
# Cases: Llama-3-8B decode (batch 1, context 1024) on one sn40l, map and sim; Llama-3-70B decode
# on sn40l-8 at tensor parallel 8, map and sim.
set -euo pipefail
cd "$(dirname "$0")/../.."
rdasim=${1:-build/release/tools/rdasim}
time_it() {
  local label=$1
  shift
  local start end
  start=$(date +%s.%N)
  "$rdasim" "$@" > /dev/null 2>&1
  end=$(date +%s.%N)
  awk -v l="$label" -v s="$start" -v e="$end" 'BEGIN { printf "%-40s %6.1f s\n", l, e - s }'
}
one=(llm -p model=llama-3-8b --arch configs/arch/sn40l.yaml)
eight=(llm -p model=llama-3-70b --system configs/systems/sn40l-8.yaml --tp 8)
time_it "llama-3-8b decode, sn40l: map" map "${one[@]}"
time_it "llama-3-8b decode, sn40l: sim" sim "${one[@]}"
time_it "llama-3-70b decode, sn40l-8 tp 8: map" map "${eight[@]}"
time_it "llama-3-70b decode, sn40l-8 tp 8: sim" sim "${eight[@]}"
