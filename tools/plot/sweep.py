#!/usr/bin/python3
"""The Pareto front of two columns of a sweep's results.csv (written by `rdasim sweep`), coloured
by a third:

    /usr/bin/python3 tools/plot/sweep.py RESULTS_CSV --x COL --y COL [--color COL]
        [--maximize x|y|xy] [--workload NAME ...] [--out FILE.png] [--title TEXT]

One panel per (workload, batch): every ok point, the Pareto-optimal ones outlined and joined by
a step line. Both axes are minimized unless --maximize names them; an axis whose values span
more than 20x is drawn on a log scale. Prints one line per panel with the points on the front
(the x and y values as written in the CSV, then the point's sweep axes; in order of x, then y,
then key). Rows whose status is
not ok are skipped and counted in the title; where a folder holds a point both estimated
(`--fast`, method analytic) and simulated, the simulated row stands. Bad input exits with status 2 and one line on
stderr starting with "sweep.py: ".
"""

import argparse
import csv
import difflib
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

# Columns written by `rdasim sweep` around the sweep axes: key, workload, batch, the axes, then
# method, status, error and the result fields.
IDENTITY = ("key", "workload", "batch")
AFTER_AXES = "method"
UNITS = {
    "seconds": "s", "seconds_per_sample": "s", "samples_per_s": "1/s", "energy_j": "J",
    "energy_per_sample_j": "J", "power_w": "W", "tflops": "TFLOP/s", "area_mm2": "mm²",
    "peak_tflops": "TFLOP/s", "sram_mib": "MiB", "dram_gbps": "GB/s", "gpu_seconds_per_sample": "s",
    "gpu_energy_per_sample_j": "J", "wall_s": "s",
}
CATEGORICAL_MAX = 8
LOG_SPAN = 20.0


class InputError(Exception):
    """Bad input: main() prints it as one line and returns 2."""


def suggest(name, choices, what):
    hint = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    did_you_mean = f"; did you mean '{hint[0]}'?" if hint else ""
    return f"no {what} '{name}'{did_you_mean} (available: {', '.join(choices)})"


def number(text):
    """The cell as a float; None when empty, nan or infinite. ValueError when not a number."""
    if text is None or text.strip() == "":
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def is_number(text):
    try:
        number(text)
        return True
    except ValueError:
        return False


def batch_order(batch):
    return (0, float(batch), batch) if is_number(batch) and batch.strip() else (1, 0.0, batch)


def load(path):
    if not path.is_file():
        raise InputError(f"{path}: no such file; run `rdasim sweep SPEC --out {path.parent}` first")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise InputError(f"{path}: empty file, expected a header row")
        rows = []
        for number_, cells in enumerate(reader, start=2):
            if not cells:
                continue
            if len(cells) != len(header):
                raise InputError(f"{path}:{number_}: {len(cells)} cells, the header has {len(header)}")
            rows.append(dict(zip(header, cells)))
    for required in ("workload", "batch", "status"):
        if required not in header:
            raise InputError(f"{path}: no '{required}' column; not a results.csv of `rdasim sweep`")
    return header, rows


def sweep_axes(header):
    """The sweep axis columns: between batch and method."""
    start = header.index("batch") + 1
    end = header.index(AFTER_AXES) if AFTER_AXES in header else start
    return header[start:end]


def pareto(points, maximize_x, maximize_y):
    """Indices of the points no other point dominates (at least as good on both axes and better
    on one), in order of increasing x. Points with equal values are all kept."""
    sx = -1.0 if maximize_x else 1.0
    sy = -1.0 if maximize_y else 1.0
    keyed = [(sx * x, sy * y, i) for i, (x, y) in enumerate(points)]
    keyed.sort()
    front, best_y = [], math.inf
    run_x, run_y = None, None
    for x, y, i in keyed:
        if (x, y) == (run_x, run_y):  # a tie with the previous front point
            front.append(i)
        elif y < best_y:
            front.append(i)
            best_y, run_x, run_y = y, x, y
    return sorted(front, key=lambda i: (points[i][0], points[i][1], i))


def log_scale(values):
    lo, hi = min(values), max(values)
    return lo > 0 and hi / lo > LOG_SPAN


def label(column, maximize):
    unit = f" [{UNITS[column]}]" if column in UNITS else ""
    return f"{column}{unit} ({'max' if maximize else 'min'})"


class Colours:
    """The colour of each point from the --color column: categories (a legend) when there are
    few distinct values or they are not numbers, else a continuous scale (a colorbar)."""

    def __init__(self, column, rows):
        self.column = column
        cells = [r[column] for r in rows] if column else []
        distinct = sorted(set(cells), key=batch_order)
        numeric = all(is_number(c) for c in cells)
        self.categorical = not column or len(distinct) <= CATEGORICAL_MAX or not numeric
        if self.categorical:
            cmap = plt.get_cmap("tab10" if len(distinct) <= 10 else "tab20")
            self.colour_of = {c: cmap(i % cmap.N) for i, c in enumerate(distinct)}
            self.norm = self.cmap = None
        else:
            values = [number(c) for c in cells if number(c) is not None]
            self.cmap = plt.get_cmap("viridis")
            self.norm = (matplotlib.colors.LogNorm if log_scale(values) else matplotlib.colors.Normalize)(
                min(values), max(values))

    def of(self, row):
        if not self.column:
            return "#1f77b4"
        if self.categorical:
            return self.colour_of[row[self.column]]
        value = number(row[self.column])
        return "#bbbbbb" if value is None else self.cmap(self.norm(value))

    def legend_or_colorbar(self, fig, axes):
        if not self.column:
            return
        if self.categorical:
            handles = [Line2D([], [], ls="", marker="o", ms=6, color=colour, label=cell or "(empty)")
                       for cell, colour in self.colour_of.items()]
            axes[0][-1].legend(handles=handles, title=self.column, loc="upper left", bbox_to_anchor=(1.03, 1.0),
                               fontsize=8, title_fontsize=8)
        else:
            mappable = matplotlib.cm.ScalarMappable(norm=self.norm, cmap=self.cmap)
            fig.colorbar(mappable, ax=axes, label=self.column, shrink=0.9)


def parse(argv):
    parser = argparse.ArgumentParser(prog="sweep.py", description=__doc__.split(":\n\n")[0] + ".",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, metavar="RESULTS_CSV", help="results.csv of `rdasim sweep`")
    parser.add_argument("--x", default="seconds_per_sample", help="column on the x axis (default: %(default)s)")
    parser.add_argument("--y", default="area_mm2", help="column on the y axis (default: %(default)s)")
    parser.add_argument("--color", help="column that colours the points (default: the first sweep axis)")
    parser.add_argument("--maximize", choices=("x", "y", "xy"), default="",
                        help="axes to maximize; both are minimized otherwise")
    parser.add_argument("--workload", nargs="+", metavar="NAME", help="only these workloads")
    parser.add_argument("--out", type=Path, help="the PNG (default: beside RESULTS_CSV, pareto_X_Y.png)")
    parser.add_argument("--title", help="title of the figure")
    return parser.parse_args(argv)


def select(args, header, rows):
    """Checks the columns and returns (ok rows with numeric x and y, notes for the title)."""
    for option in ("x", "y", "color"):
        column = getattr(args, option)
        if column is not None and column not in header:
            raise InputError(f"{args.results}: --{option}: " + suggest(column, header, "column"))
    if args.workload:
        present = list(dict.fromkeys(r["workload"] for r in rows))
        for name in args.workload:
            if name not in present:
                raise InputError(f"{args.results}: --workload: " + suggest(name, present, "workload"))
        rows = [r for r in rows if r["workload"] in args.workload]
    ok = [r for r in rows if r["status"] == "ok"]
    notes = []
    if len(ok) < len(rows):
        notes.append(f"{len(rows) - len(ok)} failed point{'s' if len(rows) - len(ok) != 1 else ''} skipped")
    if not ok:
        raise InputError(f"{args.results}: no rows with status ok ({len(rows)} rows in all)")
    for option in ("x", "y"):
        column = getattr(args, option)
        for r in ok:
            if not is_number(r[column]):
                raise InputError(f"{args.results}: --{option}: column '{column}' is not numeric "
                                 f"('{r[column]}' in the row of key {r.get('key', '?')})")
    usable = [r for r in ok if number(r[args.x]) is not None and number(r[args.y]) is not None]
    if not usable:
        raise InputError(f"{args.results}: no ok row has values in both '{args.x}' and '{args.y}' "
                         "(energy columns are empty for --fast runs)")
    if len(usable) < len(ok):
        notes.append(f"{len(ok) - len(usable)} ok point{'s' if len(ok) - len(usable) != 1 else ''} "
                     f"without {args.x} or {args.y} skipped")
    # A point both estimated (--fast) and simulated, in one folder: the simulation stands.
    identity = ["workload", "batch", *sweep_axes(header)]
    simulated = {tuple(r[c] for c in identity) for r in usable if r.get("method") == "sim"}
    superseded = [r for r in usable if r.get("method") == "analytic" and tuple(r[c] for c in identity) in simulated]
    if superseded:
        usable = [r for r in usable if not (r.get("method") == "analytic" and tuple(r[c] for c in identity) in simulated)]
        notes.append(f"{len(superseded)} analytic point{'s' if len(superseded) != 1 else ''} "
                     "superseded by simulated ones")
    methods = sorted({r.get("method", "") for r in usable} - {""})
    if len(methods) > 1:
        notes.append(f"methods mixed: {', '.join(methods)}")
    return usable, notes


def plot(args, header, rows, notes, out):
    maximize_x, maximize_y = "x" in args.maximize, "y" in args.maximize
    axes_columns = sweep_axes(header)
    colour_column = args.color if args.color is not None else (axes_columns[0] if axes_columns else None)
    # Rows in a fixed order (the CSV's follows completion of parallel workers).
    rows = sorted(rows, key=lambda r: (r.get("key", ""), tuple(r[c] for c in header)))
    workloads = list(dict.fromkeys(args.workload)) if args.workload else sorted({r["workload"] for r in rows})
    panels = []
    for workload in workloads:
        batches = sorted({r["batch"] for r in rows if r["workload"] == workload}, key=batch_order)
        panels.append([(workload, b, [r for r in rows if r["workload"] == workload and r["batch"] == b])
                       for b in batches])
    panels = [p for p in panels if p]
    ncols = max(len(p) for p in panels)
    colours = Colours(colour_column, rows)
    fig, grid = plt.subplots(len(panels), ncols, figsize=(4.4 * ncols + 1.6, 3.6 * len(panels) + 0.4), squeeze=False,
                             layout="constrained")
    lines = []
    for r_index, row_panels in enumerate(panels):
        for c_index in range(ncols):
            ax = grid[r_index][c_index]
            if c_index >= len(row_panels):
                ax.axis("off")
                continue
            workload, batch, members = row_panels[c_index]
            batch = batch or "(own)"  # a model file at its own batch
            points = [(number(r[args.x]), number(r[args.y])) for r in members]
            front = pareto(points, maximize_x, maximize_y)
            ax.scatter([p[0] for p in points], [p[1] for p in points], s=22, c=[colours.of(r) for r in members],
                       zorder=2)
            fx = [points[i][0] for i in front]
            fy = [points[i][1] for i in front]
            ax.step(fx, fy, where="pre" if maximize_x else "post", color="black", lw=1.0, zorder=1)
            ax.scatter(fx, fy, s=70, facecolors="none", edgecolors="black", linewidths=1.2, zorder=3)
            if log_scale([p[0] for p in points]):
                ax.set_xscale("log")
            if log_scale([p[1] for p in points]):
                ax.set_yscale("log")
            ax.set_xlabel(label(args.x, maximize_x), fontsize=8)
            ax.set_ylabel(label(args.y, maximize_y), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, which="major", lw=0.4, alpha=0.5)
            ax.set_title(f"{workload}, batch {batch}: {len(front)} of {len(points)} on the front", fontsize=9)
            described = []
            for i in front:
                settings = " ".join(f"{c}={members[i][c]}" for c in axes_columns)
                described.append(f"({members[i][args.x]}, {members[i][args.y]})" + (f" {settings}" if settings else ""))
            lines.append(f"{workload} batch {batch}: {len(front)} of {len(points)} on the front "
                         f"({args.x}, {args.y}): " + "; ".join(described))
    colours.legend_or_colorbar(fig, grid)
    title = args.title or f"Pareto front of {args.y} against {args.x} ({args.results.parent.name or args.results})"
    if notes:
        title += "\n" + "; ".join(notes)
    fig.suptitle(title, fontsize=11)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return lines


def main(argv):
    args = parse(argv[1:])
    try:
        header, rows = load(args.results)
        usable, notes = select(args, header, rows)
        out = args.out or args.results.parent / f"pareto_{args.x}_{args.y}.png"
        lines = plot(args, header, usable, notes, out)
    except InputError as e:
        print(f"sweep.py: {e}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
