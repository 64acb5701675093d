#!/usr/bin/python3
"""Checks tools/plot/sweep.py on a synthetic results.csv of `rdasim sweep` (2 workloads x 2
batches x 3 axes, two failed points, one error message with a comma): the PNG is written and is
the same bytes on a rerun, the printed Pareto fronts are exactly those found by brute force (also
with analytic rows of the same points, which the simulated ones supersede), and each bad input
exits 2 with its message. Run by CTest (python.sweep_plot) with Debian's
/usr/bin/python3."""

import csv
import hashlib
import itertools
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "plot" / "sweep.py"
sys.path.insert(0, str(SCRIPT.parent))
import sweep  # noqa: E402

AXES = {"pcu.lanes": [16, 32], "pmu.capacity_kib": [256, 512], "memory.tiers.0.bandwidth_gbps": [76.8, 153.6, 307.2]}
WORKLOADS = {"inversion": ([16, 128], 2.0e10, 4.0e6), "dcrnn": ([16, 64], 3.0e11, 9.0e7)}  # batches, FLOP, bytes per sample
RESULTS = ["seconds", "seconds_per_sample", "samples_per_s", "cycles", "energy_j", "energy_per_sample_j", "power_w",
           "tflops", "peak_fraction", "area_mm2", "peak_tflops", "sram_mib", "dram_gbps", "pcus_used", "pmus_used",
           "sections", "bound", "gpu", "gpu_seconds_per_sample", "gpu_energy_per_sample_j", "speedup", "wall_s"]
HEADER = ["key", "workload", "batch", *AXES, "method", "status", "error", *RESULTS]
FAILED = {("dcrnn", 64, 16, 256, 76.8): "does not fit: ops Gemm_3, Gemm_7 need 912 PMUs, the fabric has 640",
          ("inversion", 16, 32, 512, 307.2): "mapper: no route for stream 12"}


def synthetic_rows():
    """One row per point: a roofline time (compute on the lanes, traffic that spills from the
    PMUs over the DRAM bandwidth) and an area growing with lanes, capacity and bandwidth."""
    rows = []
    for workload, (batches, flop, nbytes) in WORKLOADS.items():
        for batch, lanes, kib, gbps in itertools.product(batches, *AXES.values()):
            point = (workload, batch, lanes, kib, gbps)
            key = hashlib.sha256(repr(point).encode()).hexdigest()[:16]
            row = {c: "" for c in HEADER}
            row.update({"key": key, "workload": workload, "batch": str(batch), "pcu.lanes": str(lanes),
                        "pmu.capacity_kib": str(kib), "memory.tiers.0.bandwidth_gbps": str(gbps), "method": "sim"})
            if point in FAILED:
                row.update({"status": "error", "error": FAILED[point]})
                rows.append(row)
                continue
            peak = 640 * lanes * 6 * 2 * 1.25e9
            spill = nbytes * (1.0 + 4.0 * 256 / kib) * (1.0 + 16.0 / batch)
            compute_s, memory_s = flop * batch / peak, spill * batch / (gbps * 1e9)
            seconds = max(compute_s, memory_s) + 8e-6
            area = 150 + 640 * (0.15 * lanes / 32 + 0.21 * kib / 512) + 0.4 * gbps
            energy = flop * batch * 0.15e-12 + spill * batch * 150e-12 + 20 * seconds
            gpu_s = flop / 600e12 + 2e-5 / batch
            values = {"seconds": seconds, "seconds_per_sample": seconds / batch, "samples_per_s": batch / seconds,
                      "cycles": round(seconds * 1.25e9), "energy_j": energy, "energy_per_sample_j": energy / batch,
                      "power_w": energy / seconds, "tflops": flop * batch / seconds / 1e12,
                      "peak_fraction": flop * batch / seconds / peak, "area_mm2": area, "peak_tflops": peak / 1e12,
                      "sram_mib": 640 * kib / 1024, "dram_gbps": gbps, "pcus_used": 600, "pmus_used": 610,
                      "sections": 3, "gpu_seconds_per_sample": gpu_s, "gpu_energy_per_sample_j": gpu_s * 700,
                      "speedup": gpu_s / (seconds / batch), "wall_s": 0.5 + len(rows) * 0.01}
            row.update({k: f"{v:.6g}" for k, v in values.items()})
            row.update({"status": "ok", "bound": "compute" if compute_s >= memory_s else "memory", "gpu": "h100"})
            rows.append(row)
    return rows


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)


def brute_front(rows, x, y, maximize=""):
    """The expected line per (workload, batch), by comparing every pair of points."""
    sx, sy = (-1 if "x" in maximize else 1), (-1 if "y" in maximize else 1)
    lines = {}
    for workload, (batches, _, _) in WORKLOADS.items():
        for batch in batches:
            group = [r for r in rows if r["workload"] == workload and r["batch"] == str(batch) and r["status"] == "ok"]
            value = {id(r): (sx * float(r[x]), sy * float(r[y])) for r in group}
            front = [r for r in group
                     if not any(value[id(q)][0] <= value[id(r)][0] and value[id(q)][1] <= value[id(r)][1]
                                and value[id(q)] != value[id(r)] for q in group)]
            front.sort(key=lambda r: (float(r[x]), float(r[y]), r["key"]))  # ties: by key
            points = "; ".join(f"({r[x]}, {r[y]}) " + " ".join(f"{a}={r[a]}" for a in AXES) for r in front)
            lines[(workload, str(batch))] = (f"{workload} batch {batch}: {len(front)} of {len(group)} on the front "
                                             f"({x}, {y}): {points}")
    return lines


def run(*args):
    return subprocess.run(["/usr/bin/python3", str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def printed_fronts(stdout):
    pattern = re.compile(r"^(\S+) batch (\S+): \d+ of \d+ on the front ")
    return {m.groups(): line for line in stdout.splitlines() if (m := pattern.match(line))}


def check_helpers():
    assert sweep.pareto([(1, 3), (2, 2), (2, 2), (3, 1), (3, 3), (1, 4)], False, False) == [0, 1, 2, 3]
    assert sweep.pareto([(1, 3), (2, 2), (3, 1)], True, False) == [2]
    assert sweep.pareto([(1, 3), (2, 2), (3, 1)], True, True) == [0, 1, 2]
    assert sweep.pareto([(1, 1), (2, 2), (3, 3)], True, True) == [2]
    assert sweep.pareto([(1, 1), (2, 2), (3, 3)], False, True) == [0, 1, 2]
    assert sweep.pareto([(1, 2), (2, 2), (1, 3)], False, False) == [0]  # equal y, larger x: dominated
    assert sweep.pareto([(1, 2), (2, 2), (2, 1)], True, True) == [1]
    assert sweep.log_scale([1.0, 21.0]) and not sweep.log_scale([1.0, 20.0]) and not sweep.log_scale([0.0, 100.0])


def check_fronts(folder, rows):
    results = folder / "results.csv"
    text = results.read_text()
    assert '"does not fit: ops Gemm_3, Gemm_7 need 912 PMUs, the fabric has 640"' in text, "comma not quoted"
    done = run(results)
    assert done.returncode == 0, done.stderr
    expected = brute_front(rows, "seconds_per_sample", "area_mm2")
    assert printed_fronts(done.stdout) == {k: v for k, v in expected.items()}, (done.stdout, expected)
    assert "note: 2 failed points skipped" in done.stdout, done.stdout
    png = folder / "pareto_seconds_per_sample_area_mm2.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first = png.read_bytes()
    again = run(results)
    assert again.returncode == 0 and again.stdout == done.stdout
    assert png.read_bytes() == first, "the PNG differs on a rerun"

    # Throughput up and energy down, coloured by a many-valued numeric column (a colorbar).
    out = folder / "plots" / "throughput.png"
    done = run(results, "--x", "samples_per_s", "--y", "energy_per_sample_j", "--maximize", "x", "--color", "wall_s",
               "--out", out, "--title", "throughput against energy")
    assert done.returncode == 0, done.stderr
    assert printed_fronts(done.stdout) == brute_front(rows, "samples_per_s", "energy_per_sample_j", "x")
    assert out.is_file()

    # Both maximized, a categorical string colour, one workload.
    done = run(results, "--x", "speedup", "--y", "peak_fraction", "--maximize", "xy", "--color", "bound",
               "--workload", "dcrnn", "--out", folder / "dcrnn.png")
    assert done.returncode == 0, done.stderr
    expected = {k: v for k, v in brute_front(rows, "speedup", "peak_fraction", "xy").items() if k[0] == "dcrnn"}
    assert printed_fronts(done.stdout) == expected, (done.stdout, expected)
    assert "note: 1 failed point skipped" in done.stdout, done.stdout

    # A --fast pass over the same folder: where a point is also simulated, the simulation stands.
    mixed = folder / "mixed" / "results.csv"
    mixed.parent.mkdir()
    analytic = [{**r, "key": r["key"][::-1], "method": "analytic",
                 "seconds_per_sample": f"{float(r['seconds_per_sample']) / 2:.6g}"}
                for r in rows if r["status"] == "ok" and r["workload"] == "inversion"]
    write_csv(mixed, rows + analytic)
    done = run(mixed)
    assert done.returncode == 0, done.stderr
    assert printed_fronts(done.stdout) == brute_front(rows, "seconds_per_sample", "area_mm2"), done.stdout
    assert f"note: {len(analytic)} analytic points superseded by simulated ones" in done.stdout, done.stdout


def check_errors(folder, rows):
    results = folder / "results.csv"
    cases = [
        ((folder / "missing.csv",), "no such file"),
        ((results, "--y", "area_mm"), "--y: no column 'area_mm'; did you mean 'area_mm2'? (available: key, workload"),
        ((results, "--color", "pcu.lane"), "did you mean 'pcu.lanes'?"),
        ((results, "--x", "bound"), "--x: column 'bound' is not numeric ('memory' in the row of key"),
        ((results, "--workload", "dcrn"), "--workload: no workload 'dcrn'; did you mean 'dcrnn'?"),
    ]
    failed_only = folder / "failed" / "results.csv"
    failed_only.parent.mkdir()
    write_csv(failed_only, [r for r in rows if r["status"] != "ok"])
    cases.append(((failed_only,), "no rows with status ok (2 rows in all)"))
    analytic = folder / "analytic" / "results.csv"  # --fast: no energy
    analytic.parent.mkdir()
    write_csv(analytic, [{**r, "method": "analytic", "energy_j": "", "energy_per_sample_j": "", "power_w": ""}
                         for r in rows])
    cases.append(((analytic, "--y", "energy_j"), "no ok row has values in both 'seconds_per_sample' and 'energy_j'"))
    for args, message in cases:
        done = run(*args)
        assert done.returncode == 2, (args, done.returncode, done.stderr)
        assert done.stderr.startswith("sweep.py: ") and message in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert not done.stdout, done.stdout
    done = run(results, "--maximize", "z")
    assert done.returncode == 2 and "--maximize" in done.stderr, done.stderr


if __name__ == "__main__":
    check_helpers()
    rows = synthetic_rows()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_csv(folder / "results.csv", rows)
        check_fronts(folder, rows)
        check_errors(folder, rows)
    print("sweep.py: all checks passed")
