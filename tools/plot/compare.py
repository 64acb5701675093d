#!/usr/bin/python3
"""Plots of `rdasim compare` from its compare.csv (run by the command itself; by hand:
/usr/bin/python3 tools/plot/compare.py DIR):

    DIR/speedup.png     speedup (GPU time / RDA time) against batch, one panel per case, a line
                        per GPU and way of running it; above 1 the RDA is faster
    DIR/breakdown.png   where the time goes at each case's largest batch: the RDA's
                        reconfiguration, loading and streaming time by the bound of each section,
                        and the GPU's kernel time limited by arithmetic or memory and its time
                        waiting on the host (launch overhead)
"""

import csv
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

TIMES = FuncFormatter(lambda v, _: f"{v:g}x")


def label_speedups(axis):
    """Plain 0.5x, 2x, 10x labels on a log axis instead of powers of ten."""
    axis.set_major_formatter(TIMES)
    axis.set_minor_formatter(TIMES)


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def speedup_plot(rows, out):
    cases = list(dict.fromkeys(r["case"] for r in rows))
    cols = min(4, len(cases))
    nrows = (len(cases) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False)
    for ax, case in zip(axes.flat, cases):
        lines = defaultdict(list)
        for r in rows:
            if r["case"] == case:
                lines[(r["gpu"], r["gpu_run"])].append((int(r["batch"]), float(r["speedup"]), r["gpu_source"]))
        batches = {p[0] for pts in lines.values() for p in pts}
        if len(batches) == 1:  # one batch: a bar per GPU and run, measured ones hatched
            labels = [f"{gpu} {run}" for gpu, run in sorted(lines)]
            values = [lines[k][0][1] for k in sorted(lines)]
            measured = [lines[k][0][2] == "measured" for k in sorted(lines)]
            bars = ax.barh(range(len(values)), values, color=["#9467bd" if m else "#1f77b4" for m in measured])
            for bar, m in zip(bars, measured):
                if m:
                    bar.set_hatch("//")
            ax.set_yticks(range(len(values)))
            ax.set_yticklabels(labels, fontsize=7)
            ax.axvline(1.0, color="grey", lw=0.8, ls="--")
            ax.set_xscale("log")
            label_speedups(ax.xaxis)
            ax.tick_params(axis="x", which="both", labelsize=7)
            ax.set_xlabel(f"speedup over GPU (batch {batches.pop()})")
            ax.set_title(case, fontsize=10)
            continue
        for (gpu, run), points in sorted(lines.items()):
            points.sort()
            line, = ax.plot([p[0] for p in points], [p[1] for p in points], marker="s", ms=3, label=f"{gpu} {run}")
            seen = [p for p in points if p[2] == "measured"]
            if seen:
                ax.plot([p[0] for p in seen], [p[1] for p in seen], "o", ms=7, mfc="none", mec=line.get_color())
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_title(case, fontsize=10)
        ax.set_xlabel("batch")
        ax.set_ylabel("speedup over GPU")
        ax.set_yscale("log")
        label_speedups(ax.yaxis)
        ax.tick_params(axis="y", which="both", labelsize=7)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(cases):]:
        ax.axis("off")
    fig.suptitle("RDA speedup over GPU (above 1 the RDA is faster; circled points and hatched bars: measured GPU times)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def breakdown_plot(rows, out):
    largest = {}
    for r in rows:
        largest[r["case"]] = max(largest.get(r["case"], 0), int(r["batch"]))
    gpus = list(dict.fromkeys(r["gpu"] for r in rows))
    first_gpu = gpus[0]
    bars = []  # (label, {part: seconds per sample})
    for case, batch in largest.items():
        at = [r for r in rows if r["case"] == case and int(r["batch"]) == batch]
        b = float(batch)
        rda = at[0]
        bars.append((f"{case} b{batch}\nRDA", {
            "reconfigure": float(rda["rda_reconfig_s"]) / b, "load": float(rda["rda_load_s"]) / b,
            "compute-bound": float(rda["rda_compute_s"]) / b, "memory-bound": float(rda["rda_memory_s"]) / b,
            "network-bound": float(rda["rda_network_s"]) / b}))
        for r in at:
            if r["gpu"] != first_gpu or r["gpu_run"] not in ("eager", "batched"):
                continue
            bars.append((f"{case} b{batch}\n{r['gpu']} {r['gpu_run']}", {
                "launch wait": float(r["gpu_launch_wait_s"]) / b, "compute-bound": float(r["gpu_compute_s"]) / b,
                "memory-bound": float(r["gpu_memory_s"]) / b}))
    parts = ["reconfigure", "load", "compute-bound", "memory-bound", "network-bound", "launch wait"]
    colours = {"reconfigure": "#8c564b", "load": "#e377c2", "compute-bound": "#1f77b4", "memory-bound": "#ff7f0e",
               "network-bound": "#2ca02c", "launch wait": "#7f7f7f"}
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(bars) + 2.0))
    for i, (_, values) in enumerate(bars):
        total = sum(values.values()) or 1.0
        left = 0.0
        for part in parts:
            share = values.get(part, 0.0) / total
            ax.barh(i, share, left=left, color=colours[part], label=part if i == 0 or part not in ax.get_legend_handles_labels()[1] else None)
            left += share
        ax.text(1.01, i, f"{total * 1e3:.3g} ms/sample", va="center", fontsize=7)
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels([b[0] for b in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.18)
    ax.set_xlabel(f"share of time (GPU: {first_gpu}, modelled breakdown)")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08 - 1.2 / len(bars)),
              ncol=len(unique))
    ax.set_title("Where the time goes, at each case's largest batch")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv):
    if len(argv) != 2:
        print("usage: compare.py DIR   (DIR holds compare.csv from `rdasim compare`)", file=sys.stderr)
        return 2
    folder = Path(argv[1])
    csv_path = folder / "compare.csv"
    if not csv_path.is_file():
        print(f"compare.py: {csv_path}: no such file; run `rdasim compare --out {folder}` first", file=sys.stderr)
        return 2
    rows = load(csv_path)
    if not rows:
        print(f"compare.py: {csv_path} has no rows", file=sys.stderr)
        return 2
    speedup_plot(rows, folder / "speedup.png")
    breakdown_plot(rows, folder / "breakdown.png")
    print(f"wrote {folder / 'speedup.png'} and {folder / 'breakdown.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
