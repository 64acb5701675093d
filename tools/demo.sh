#!/usr/bin/env bash
# The main job: installs what is missing, builds rdasim, shows what each fabric preset amounts
# to, builds the four science workloads at their published sizes, and checks the functional
# reference (fp32 and bf16 against fp64) on generated inputs, and maps them onto SN40L with
# and without fusion, then several of them at once as isolated tenants, with the placement
# reports in results/demo/, and simulates them on the SystemC model of SN10 (report.json and a
# Perfetto trace in results/demo/), and last compares SN10 with GPUs on every science workload
# (results/compare/: compare.csv, compare.md with the reasons, plots, and the command), and runs
# the example design-space sweep with its Pareto plots (results/sweeps/example/). Systems: an SN10-8
# against DGX A100/H100 on the science workloads and scaling from 1 to 16 sockets (results/systems/).
# Validation: every measured LLM serving row of configs/validation predicted, with the error per
# system, the SN40L paper's ratios and the calibration's held-out error (results/validation/).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
# The programs only; tools/test.sh builds the rest of the same tree (same preset, same flags).
tools/build.sh release rdasim rdasim_python
rdasim=build/release/tools/rdasim
for preset in configs/arch/*.yaml; do
  echo
  "$rdasim" arch show "$preset"
done

echo
echo "== the science workloads at published sizes"
for model in "lensing -p stage=denoise" "lensing -p stage=encoder" "lensing" "inversion" \
             "dcrnn" "dcrnn -p diffusion=dense"; do
  # shellcheck disable=SC2086  # the model's words are separate arguments
  "$rdasim" graph $model | tail -1
done
"$rdasim" graph gp-dcrnn | tail -1
"$rdasim" graph ensemble | tail -1

echo
echo "== mapped onto sn40l: ops fused into sections (o1) against one op per section (o0)"
for model in "lensing -p batch=4" "inversion" "dcrnn"; do
  for mode in o1 o0; do
    # shellcheck disable=SC2086
    "$rdasim" map $model --arch configs/arch/sn40l.yaml --mode "$mode" | grep ' on sn40l ('
  done
done

echo
echo "== several applications at once, each in its own region (configs/deployments/science-mix.yaml)"
"$rdasim" map configs/deployments/science-mix.yaml --arch configs/arch/sn40l.yaml --out results/demo/science-mix
echo "== the 32-member ensemble on SN10: members share tiles in bands of rows"
"$rdasim" map ensemble -p members=32 --arch configs/arch/sn10.yaml | tail -2
echo "(placement.txt and placement.svg in results/demo/science-mix)"

echo
echo "== simulated on sn10 (SystemC, cycle-approximate): time against the mapper's analytic bound"
for model in "lensing" "inversion" "dcrnn"; do
  # shellcheck disable=SC2086
  "$rdasim" -q sim $model --arch configs/arch/sn10.yaml | grep -A1 ' on sn10 ('
done
echo "== the 5-member ensemble side by side on SN10: sharing DRAM slows each member down"
"$rdasim" sim ensemble -p members=5 --arch configs/arch/sn10.yaml --out results/demo/ensemble-sim
echo "(report.json, trace.json for https://ui.perfetto.dev and mapping.json in results/demo/ensemble-sim)"

echo
echo "== the functional reference on generated inputs (fp32 and bf16 against fp64)"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
for model in "inversion -p batch=16" "lensing -p stage=encoder -p batch=8" "dcrnn -p batch=4"; do
  name=${model%% *}
  # shellcheck disable=SC2086
  "$rdasim" -q inputs $model --out "$data/$name" --expected
  for precision in fp32 bf16; do
    # shellcheck disable=SC2086
    printf '%-40s %s  ' "$model" "$precision"
    "$rdasim" check $model --inputs "$data/$name" --precision "$precision" | tail -1
  done
done

echo
echo "== sn10 against GPUs (A100, H100 modelled; H200 measured where results/gpu/h200.csv has the row)"
"$rdasim" compare --arch configs/arch/sn10.yaml --gpu configs/gpu/a100.yaml --gpu configs/gpu/h100.yaml \
  --gpu configs/gpu/h200.yaml --out results/compare
echo "(compare.md explains each row; speedup.png and breakdown.png in results/compare)"

echo
echo "== systems: an SN40L node, SN10-8 against DGX A100 and DGX H100, scaling from 1 to 16 sockets"
"$rdasim" system show configs/systems/sn40l-8.yaml
"$rdasim" compare --system configs/systems/sn10-8.yaml --gpu-system configs/systems/dgx-a100.yaml \
  --gpu-system configs/systems/dgx-h100.yaml --out results/systems
tools/plot/system_scaling.sh "$rdasim" results/systems
echo "(system-compare.md, scaling.csv and scaling.png in results/systems)"

echo
echo "== validation: Argonne's measured LLM serving (SN40L x 8, A100 and H100 x 1-4) against rdasim's predictions"
"$rdasim" validate --fit --out results/validation
echo "(validation.md, validation.csv, predicted_vs_measured.png and error_histogram.png in results/validation)"

echo
echo "== a design-space sweep: 48 points (PCU lanes x PMU capacity x DDR bandwidth x 2 workloads x 2 batches)"
rm -f results/sweeps/example/results.csv  # made again from scratch, not resumed
"$rdasim" sweep configs/sweeps/example.yaml --jobs "$(nproc)"
/usr/bin/python3 tools/plot/sweep.py results/sweeps/example/results.csv --x seconds_per_sample --y area_mm2 \
  --color pcu.lanes
/usr/bin/python3 tools/plot/sweep.py results/sweeps/example/results.csv --x seconds_per_sample \
  --y energy_per_sample_j --color memory.tiers.0.bandwidth_gbps
echo "(results.csv and the Pareto plots in results/sweeps/example; the notebooks in tools/notebooks use"
echo " the Python module: PYTHONPATH=build/release/python /usr/bin/python3 -c 'import rdasim; help(rdasim)')"
