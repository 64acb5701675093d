#!/usr/bin/python3
"""The README's comparison table from a compare.csv: per case, time per sample at its middle
batch (lensing and its EDSR stages at batch 1), the RDA's speedup over each GPU (its eager run;
the ensembles' sequential, concurrent and batched runs each), over the H100 as CUDA graphs would
run it (the GPU's best case: graph, or batched-graph on the batched row), and what limits either
side.

    /usr/bin/python3 tools/plot/readme_table.py results/compare/compare.csv"""
import csv
import sys
from collections import OrderedDict

BATCH_ONE = {"lensing", "lensing-denoise", "lensing-deblend"}
ENSEMBLE_RUNS = ("sequential", "concurrent", "batched")


def seconds(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-6:.3g} us"


def main(path):
    rows = list(csv.DictReader(open(path, newline="")))
    if not rows:
        sys.exit(f"{path}: no rows")
    arch = "SN10"
    batches = OrderedDict()
    for r in rows:
        batches.setdefault(r["case"], [])
        if r["batch"] not in batches[r["case"]]:
            batches[r["case"]].append(r["batch"])
    pick = {c: ("1" if c in BATCH_ONE else b[len(b) // 2]) for c, b in batches.items()}
    by_key = {(r["case"], r["batch"], r["gpu"], r["gpu_run"]): r for r in rows}
    print(f"| case | batch | {arch} (simulated) | A100 (model) | H100 (model) | H200 (measured) "
          "| H100, CUDA graph (model) | what limits the RDA | what limits the GPU (H100) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case, batch in pick.items():
        runs = ENSEMBLE_RUNS if case.startswith("ensemble") else ("eager",)
        for run in runs:
            cells = []
            first = None
            for gpu in ("a100", "h100", "h200"):
                r = by_key.get((case, batch, gpu, run))
                if r is None:
                    cells.append("-")
                    continue
                first = first or r
                note = " model" if gpu == "h200" and r["gpu_source"] != "measured" else ""
                cells.append(f"{seconds(float(r['gpu_s_per_sample']))} ({float(r['speedup']):.2f}x){note}")
            if first is None:
                continue
            h100 = by_key.get((case, batch, "h100", run), first)
            twin = {"eager": "graph", "batched": "batched-graph"}.get(run)
            g = by_key.get((case, batch, "h100", twin)) if twin else None
            cells.append(f"{seconds(float(g['gpu_s_per_sample']))} ({float(g['speedup']):.2f}x)" if g else "-")
            name = case if len(runs) == 1 else f"{case} {run}"
            print(f"| {name} | {batch} | {seconds(float(first['rda_s_per_sample']))} | {' | '.join(cells)} "
                  f"| {first['rda_why'].removeprefix('RDA: ')} | {h100['gpu_why'].removeprefix('GPU: ')} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
