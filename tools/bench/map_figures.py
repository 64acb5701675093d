#!/usr/bin/python3
"""The mapper's figures for issue 5, measured with the CLI: every science workload at its
published size on SN10 and SN40L, fused (o1) against one op per section (o0): sections, DRAM
traffic, analytic time and their ratios, wall time of the mapping, and the EDSR stack's distance
from the fabric's roofline. Every mapping is checked by `rdasim map` itself (mapper::check).

Run from the source root after a Release build:
    /usr/bin/python3 tools/bench/map_figures.py [--rdasim build/release/tools/rdasim] [--quick]
--quick leaves out the 32-member ensemble and gp-dcrnn (the slow ones)."""
import argparse
import json
import subprocess
import sys
import time

WORKLOADS = [
    ("lensing", []),
    ("lensing-edsr-b4", ["lensing", "-p", "stage=denoise", "-p", "batch=4"]),
    ("inversion", []),
    ("dcrnn", []),
    ("ensemble M=5", ["ensemble", "-p", "members=5"]),
    ("ensemble M=32", ["ensemble", "-p", "members=32"]),
    ("gp-dcrnn 64 apps", ["gp-dcrnn"]),
]
SLOW = {"ensemble M=32", "gp-dcrnn 64 apps"}


def run(rdasim, args):
    start = time.monotonic()
    done = subprocess.run([rdasim, "-q", *args, "--json"], capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"rdasim {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout), wall


def totals(mapping, clock_hz, dram_per_s):
    sections = sum(len(t["sections"]) for t in mapping["tenants"])
    dram = sum(s["dram_read_bytes"] + s["dram_write_bytes"] for t in mapping["tenants"] for s in t["sections"])
    flops = sum(s["flops"] for t in mapping["tenants"] for s in t["sections"])
    cycles = 0.0
    for t in mapping["tenants"]:
        c = sum(max(s["compute_cycles"], s["memory_cycles"], s["network_cycles"]) + s["reconfig_cycles"] for s in t["sections"])
        cycles = max(cycles, c)
    seconds = max(cycles / clock_hz, dram / dram_per_s)  # tenants share the off-chip bandwidth
    return sections, dram, seconds, flops


def arch_facts(rdasim, arch):
    done = subprocess.run([rdasim, "arch", "show", arch, "--json"], capture_output=True, text=True, check=True)
    a = json.loads(done.stdout)
    best = max(a["memory_tiers"], key=lambda t: t["sustained_gbps"])
    return a["clock_ghz"] * 1e9, best["sustained_gbps"] * 1e9, a["compute"]["peak_flops"]


def compulsory_bytes(rdasim, args, element_bytes):
    done = subprocess.run([rdasim, "graph", *args, "--json"], capture_output=True, text=True, check=True)
    g = json.loads(done.stdout)
    total = 0
    for t in g["tensors"]:
        if t["role"] in ("input", "param", "constant", "output"):
            n = 1
            for d in t["shape"]:
                n *= d
            total += n * element_bytes
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rdasim", default="build/release/tools/rdasim")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--modes", default="o1,o0", help="o1,o0 (ratios) or o1 alone")
    opt = parser.parse_args()
    modes = opt.modes.split(",")
    print(f"{'workload':<18} {'arch':<6} {'mode':<4} {'sections':>8} {'DRAM':>10} {'analytic':>10} {'map wall':>9}")
    ratios = []
    for arch_name in ("sn10", "sn40l"):
        arch = f"configs/arch/{arch_name}.yaml"
        clock, dram_per_s, peak = arch_facts(opt.rdasim, arch)
        for name, args in WORKLOADS:
            if opt.quick and name in SLOW:
                continue
            args = args or [name]
            got = {}
            for mode in modes:
                mapping, wall = run(opt.rdasim, ["map", *args, "--arch", arch, "--mode", mode])
                sections, dram, seconds, flops = totals(mapping, clock, dram_per_s)
                got[mode] = (dram, seconds)
                print(f"{name:<18} {arch_name:<6} {mode:<4} {sections:>8} {dram / 1e6:>8.1f}MB {seconds * 1e3:>8.3f}ms {wall:>8.2f}s",
                      flush=True)
                if name == "lensing-edsr-b4" and mode == "o1":
                    compulsory = compulsory_bytes(opt.rdasim, args, 2)
                    roof = max(flops / peak, compulsory / dram_per_s)
                    print(f"  EDSR b4 on {arch_name}: analytic {seconds * 1e3:.3f} ms, roofline {roof * 1e3:.3f} ms "
                          f"(FLOPs/peak {flops / peak * 1e3:.3f} ms, compulsory {compulsory / 1e6:.1f} MB/bandwidth "
                          f"{compulsory / dram_per_s * 1e3:.3f} ms): {seconds / roof:.2f}x the roofline")
            if "o0" in got and "o1" in got:
                ratios.append((name, arch_name, got["o0"][0] / got["o1"][0], got["o0"][1] / got["o1"][1]))
    if ratios:
        print(f"\n{'workload':<18} {'arch':<6} {'DRAM o0/o1':>11} {'time o0/o1':>11}")
        for name, arch_name, dram, t in ratios:
            print(f"{name:<18} {arch_name:<6} {dram:>10.1f}x {t:>10.1f}x")


if __name__ == "__main__":
    main()
