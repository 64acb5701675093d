#!/usr/bin/env bash
# Fuzzes the loaders of untrusted input (ONNX models, YAML fabric specs and graphs) with
# libFuzzer under AddressSanitizer and UndefinedBehaviorSanitizer:
#   tools/fuzz.sh             a fixed seed and a fixed number of runs per loader (about 30 s
#                             each here), so CI's verdict is reproducible; tools/test.sh runs it
#   tools/fuzz.sh SECONDS     explore: a random seed for that long per loader
# Seeds come from the repository (presets, example graphs, bad ONNX files) and from ONNX's
# backend models. A finding stops the run with libFuzzer's report and a reproducer file under
# build/fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-}
tools/build.sh fuzz rdasim_fuzz_onnx rdasim_fuzz_yaml

corpus=build/fuzz/corpus
rm -rf "$corpus"  # the same seeds every time, so a run is reproducible
mkdir -p "$corpus/onnx" "$corpus/yaml" build/fuzz/findings
cp tests/data/onnx/*.onnx "$corpus/onnx/"
for t in test_conv_with_strides_padding test_gemm_default_matrix_bias test_gru_defaults test_reshape_negative_dim; do
  model=/usr/include/onnx/backend/test/data/node/$t/model.onnx
  [[ -f $model ]] && cp "$model" "$corpus/onnx/$t.onnx"
done
cp configs/arch/*.yaml configs/graphs/*.yaml "$corpus/yaml/"

declare -A runs=([onnx]=400000 [yaml]=50000)
for target in onnx yaml; do
  if [[ -n $seconds ]]; then
    budget=(-max_total_time="$seconds")
    echo "== fuzzing the $target loader for $seconds s"
  else
    budget=(-seed=1 -runs="${runs[$target]}")
    echo "== fuzzing the $target loader: ${runs[$target]} runs from seed 1"
  fi
  log=build/fuzz/$target.log
  status=0
  # Leaks are the gcc sanitizer suite's job: LeakSanitizer's thread stopper hung here after an
  # out-of-memory report. A slow input (over 10 s) counts as a finding.
  ASAN_OPTIONS=detect_leaks=0 build/fuzz/tests/fuzz/rdasim_fuzz_$target "$corpus/$target" \
    "${budget[@]}" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
    -artifact_prefix=build/fuzz/findings/$target- -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$log" || true
  if ((status != 0)); then
    tail -n 60 "$log" >&2
    echo "fuzz: the $target loader failed (status $status); reproducer under build/fuzz/findings/" >&2
    exit 1
  fi
done
echo "== fuzzing found nothing"
