#!/usr/bin/python3
"""Host time of every `rdasim compare` case at its largest batch, one case at a time: the time to
map, the simulation's own host time and simulated cycles per second of it (its report's
wall_seconds, alone runs included, as `rdasim sim` prints them), and the whole point's wall time
(the workload, the GPU model and the CSV included), of the fastest of --reps runs (a shared machine's
noise only ever adds time). The cases and their largest batches are read off a compare.csv
(default: results/compare/compare.csv, the default command's), so this script holds no list of
its own. A timing, not a test: run it from the source root after a Release build, on an
otherwise idle machine.
    /usr/bin/python3 tools/bench/compare_cases.py [--rdasim PROGRAM] [--jobs N] [--reps N] [--csv FILE]"""
import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time

LOG = re.compile(r"compare: (\S+) at batch (\d+): RDA .*; mapped in ([\d.]+) s, simulated in ([\d.]+) s "
                 r"\(([\d.]+ ?\w?) simulated cycles/s\)")


def largest_batches(compare_csv):
    largest = {}
    with open(compare_csv, newline="") as f:
        for row in csv.DictReader(f):
            largest[row["case"]] = max(largest.get(row["case"], 0), int(row["batch"]))
    return largest


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rdasim", default="build/release/tools/rdasim")
    parser.add_argument("--arch", default="sn10")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--csv", default="results/compare/compare.csv")
    args = parser.parse_args()
    print(f"| case | batch | map | simulate | simulated cycles/s | whole point (--jobs {args.jobs}) |")
    print("|---|---|---|---|---|---|")
    for case, batch in largest_batches(args.csv).items():
        runs = [run_point(args, case, batch) for _ in range(args.reps)]
        wall, map_s, sim_s, rate = min(runs)
        print(f"| {case} | {batch} | {map_s:.1f} s | {sim_s:.1f} s | {rate} | {wall:.1f} s |", flush=True)


def run_point(args, case, batch):
    """(whole point's wall time, map seconds, simulate seconds, simulated cycles/s) of one run."""
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        done = subprocess.run([args.rdasim, "compare", "--arch", args.arch, "--gpu", "h100", "--workloads", case,
                               "--batch", str(batch), "--jobs", str(args.jobs), "--no-plots", "--out", out],
                              capture_output=True, text=True)
        wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"rdasim compare --workloads {case} failed ({done.returncode}):\n{done.stderr}")
    found = LOG.search(done.stderr)
    if found is None:
        sys.exit(f"rdasim compare --workloads {case}: no timing line in its log:\n{done.stderr}")
    _, _, map_s, sim_s, rate = found.groups()
    return wall, float(map_s), float(sim_s), rate


if __name__ == "__main__":
    main()
