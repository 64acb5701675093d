#!/usr/bin/python3
"""The simulator's figures for issue 6, measured with the CLI on SN10: every science workload at
its published size, simulated with the default token chunk and with half of it. Prints wall time
of `rdasim sim` (mapping included) and of the simulation alone, simulated cycles per second of
host time, the simulated time against the mapper's analytic bound, the change when the chunk is
halved, bytes on the memory tier against the mapper's accounting, and the tenants' slowdown.

Run from the source root after a Release build, on an otherwise idle machine:
    /usr/bin/python3 tools/bench/sim_figures.py [--rdasim build/release/tools/rdasim] [--arch FILE]"""
import argparse
import json
import subprocess
import sys
import time

WORKLOADS = [
    ("lensing", ["lensing"]),
    ("inversion", ["inversion"]),
    ("dcrnn", ["dcrnn"]),
    ("ensemble M=5", ["ensemble", "-p", "members=5"]),
    ("gp-dcrnn 64 apps", ["gp-dcrnn"]),
]


def simulate(rdasim, model, arch, extra):
    start = time.monotonic()
    done = subprocess.run([rdasim, "-q", "sim", *model, "--arch", arch, "--json", *extra], capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"rdasim sim {' '.join(model)} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout), wall


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rdasim", default="build/release/tools/rdasim")
    parser.add_argument("--arch", default="configs/arch/sn10.yaml")
    args = parser.parse_args()
    print("| workload | sim time | analytic | sim/analytic | chunk/2 change | tier bytes vs mapper | slowdown | "
          "firings | wall (map+sim) | wall (sim) | sim cycles/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, model in WORKLOADS:
        report, wall = simulate(args.rdasim, model, args.arch, [])
        half, _ = simulate(args.rdasim, model, args.arch, ["--no-alone", "--chunk", str(report["chunk"] // 2)])
        cycles, analytic = report["cycles"], report["analytic_cycles"]
        mapped = sum(t["dram_bytes"] for t in report["tenants"])
        moved = sum(t["read_bytes"] + t["write_bytes"] for t in report["memory"])
        slowdowns = [t["slowdown"] for t in report["tenants"] if t["alone_cycles"] > 0]
        slowdown = f"{min(slowdowns):.2f}-{max(slowdowns):.2f}x" if slowdowns else "-"
        print(f"| {name} | {report['seconds'] * 1e3:.3f} ms | {analytic / report['clock_hz'] * 1e3:.3f} ms | "
              f"{cycles / analytic:.3f} | {100 * (half['cycles'] - cycles) / cycles:+.2f}% | "
              f"{moved / mapped:.12f} | {slowdown} | {report['events']:.3g} | {wall:.2f} s | "
              f"{report['wall_seconds']:.2f} s | {cycles / report['wall_seconds'] / 1e6:.1f} M |", flush=True)


if __name__ == "__main__":
    main()
