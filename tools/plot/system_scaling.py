#!/usr/bin/python3
"""Scaling plot of tools/plot/system_scaling.sh from its scaling.csv
(/usr/bin/python3 tools/plot/system_scaling.py results/systems/scaling.csv):

    scaling.png   time per sample against the number of sockets or GPUs, log-log, one panel per
                  case, a line per system, with the ideal (1/N from one device) dotted
"""

import csv
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(path):
    rows = list(csv.DictReader(open(path)))
    cases = sorted({r["case"] for r in rows})
    fig, axes = plt.subplots(1, len(cases), figsize=(5.5 * len(cases), 4.2), squeeze=False)
    for axis, case in zip(axes[0], cases):
        lines = defaultdict(list)
        for r in rows:
            if r["case"] == case:
                lines[r["system"]].append((int(r["devices"]), float(r["seconds_per_sample"])))
        for system, points in sorted(lines.items()):
            points.sort()
            xs = [p[0] for p in points]
            ys = [p[1] * 1e3 for p in points]
            (line,) = axis.plot(xs, ys, marker="o", label=system)
            axis.plot(xs, [ys[0] / (x / xs[0]) for x in xs], linestyle=":", color=line.get_color(), alpha=0.6)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks([1, 2, 4, 8, 16])
        axis.set_xticklabels(["1", "2", "4", "8", "16"])
        axis.set_xlabel("sockets or GPUs")
        axis.set_ylabel("time per sample (ms)")
        axis.set_title(case)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(title="dotted: ideal 1/N")
    fig.tight_layout()
    out = Path(path).with_name("scaling.png")
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    main(sys.argv[1])
