#!/usr/bin/python3
"""Plots of `rdasim validate` from its validation.csv (run by the command itself; by hand:
/usr/bin/python3 tools/plot/validation.py DIR):

    DIR/predicted_vs_measured.png  each measured row's time against rdasim's prediction, log-log,
                                   one colour per system, the diagonal and +-25% around it;
                                   latency rows as dots, time-to-first-token rows as crosses
    DIR/error_histogram.png        the signed errors (predicted / measured - 1), one colour per
                                   system, stacked
"""

import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402


def load(path):
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if r["status"] == "ok"]


def colours(systems):
    cmap = plt.get_cmap("tab10")
    return {s: cmap(i % 10) for i, s in enumerate(systems)}


def scatter(rows, systems, colour, out):
    fig, ax = plt.subplots(figsize=(7, 6.2))
    for s in systems:
        for metric, marker in (("latency_s", "o"), ("ttft_s", "x")):
            pts = [r for r in rows if r["system"] == s and r["metric"] == metric]
            if not pts:
                continue
            ax.scatter([float(r["predicted_s"]) / (1 + float(r["error"])) for r in pts],
                       [float(r["predicted_s"]) for r in pts], s=22, marker=marker, color=colour[s],
                       label=s if metric == "latency_s" else f"{s} (TTFT)")
    measured = [float(r["predicted_s"]) / (1 + float(r["error"])) for r in rows]
    predicted = [float(r["predicted_s"]) for r in rows]
    lo = min(measured + predicted) / 1.5
    hi = max(measured + predicted) * 1.5
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
    for f in (0.75, 1.25):
        ax.plot([lo, hi], [lo * f, hi * f], color="grey", linewidth=0.6, linestyle="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured (s)")
    ax.set_ylabel("rdasim (s)")
    ax.set_title("rdasim against measured LLM serving (dashed: +-25%)")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", linewidth=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)


def histogram(rows, systems, colour, out):
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    errors = [[100 * float(r["error"]) for r in rows if r["system"] == s] for s in systems]
    flat = [e for es in errors for e in es]
    lo, hi = min(-50.0, min(flat)), max(50.0, max(flat))
    bins = [lo + (hi - lo) * i / 30 for i in range(31)]
    ax.hist(errors, bins=bins, stacked=True, color=[colour[s] for s in systems], label=systems)
    ax.axvline(0, color="black", linewidth=0.8)
    for x in (-25, 25):
        ax.axvline(x, color="grey", linewidth=0.6, linestyle="--")
    ax.xaxis.set_major_formatter(PercentFormatter())
    ax.set_xlabel("error (predicted / measured - 1)")
    ax.set_ylabel("rows")
    ax.set_title("Signed error per measured row")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: validation.py DIR (the folder with validation.csv)")
    folder = Path(sys.argv[1])
    rows = load(folder / "validation.csv")
    if not rows:
        sys.exit(f"{folder / 'validation.csv'}: no row was run; nothing to plot")
    systems = list(dict.fromkeys(r["system"] for r in rows))
    colour = colours(systems)
    scatter(rows, systems, colour, folder / "predicted_vs_measured.png")
    histogram(rows, systems, colour, folder / "error_histogram.png")


if __name__ == "__main__":
    main()
