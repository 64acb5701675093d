#!/usr/bin/python3
"""Checks that a killed `rdasim sweep` resumes with nothing lost or repeated: a small spec (24
points on SN10, a few seconds in all) runs whole into folder A; the same sweep into folder B is
killed (SIGKILL to its process group, workers included) once a third of its rows are written, a
torn half-line is appended as a kill in the middle of a write would leave, and the rerun into B
says how many points were already done and finishes. B must then hold every key of A once, with
the same values in every column but wall_s. Then: --fast records the analytic method without
energy under other keys, and a spec with other columns is refused on A without touching A's
spec.yaml and command.txt. Run by CTest (python.sweep_resume) as
`sweep_resume_test.py RDASIM`."""

import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RDASIM = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build" / "release" / "tools" / "rdasim")
POINTS = 24  # 8 fabric points x (inversion at 2 batches + dcrnn at 1)

SPEC = f"""name: resume
arch: {ROOT / "configs" / "arch" / "sn10.yaml"}
axes:
  pcu.lanes: [16, 32]
  memory.tiers.0.bandwidth_gbps: [76.8, 153.6, 307.2, 614.4]
workloads:
  - name: inversion
    batches: [16, 64]
  - name: dcrnn
    params: {{sensors: 40, nonzeros: 300, seq: 3, horizon: 3}}
    batches: [8]
"""

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"FAIL: {message}", file=sys.stderr)


def sweep(spec, out, *extra):
    """Runs `rdasim sweep` to the end; returns the completed process."""
    return subprocess.run([RDASIM, "sweep", str(spec), "--out", str(out), *extra], capture_output=True, text=True,
                          timeout=300)


def rows_of(folder):
    """key -> row of folder/results.csv, and the number of records (duplicates counted)."""
    with open(folder / "results.csv", newline="") as f:
        records = list(csv.DictReader(f))
    return {r["key"]: r for r in records}, len(records)


def whole_rows(path):
    """Records in a results.csv being written: whole lines after the header."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return 0
    return max(0, text.count(b"\n") - 1)


def without_wall(row):
    return {k: v for k, v in row.items() if k != "wall_s"}


def main():
    with tempfile.TemporaryDirectory(prefix="rdasim_sweep_resume_") as tmp:
        tmp = Path(tmp)
        spec = tmp / "resume.yaml"
        spec.write_text(SPEC)
        a, b, c = tmp / "A", tmp / "B", tmp / "C"

        dry = subprocess.run([RDASIM, "sweep", str(spec), "--dry-run"], capture_output=True, text=True, check=True)
        check(f"{POINTS} points" in dry.stdout, f"--dry-run: {dry.stdout!r}")

        # A: the whole sweep at once.
        start = time.monotonic()
        run = sweep(spec, a, "--jobs", "2", "--progress", "lines")
        print(f"A: {time.monotonic() - start:.1f} s: {run.stdout.strip()}")
        check(run.returncode == 0, f"A exited {run.returncode}: {run.stderr}")
        check(run.stderr.count("sweep: ok ") == POINTS, f"A: expected {POINTS} progress lines:\n{run.stderr}")
        check(re.search(rf"{POINTS} points, 0 already done; ran {POINTS} \(0 failed\)", run.stdout), run.stdout)
        rows_a, records_a = rows_of(a)
        check(records_a == POINTS and len(rows_a) == POINTS, f"A: {records_a} records, {len(rows_a)} keys")
        check(all(r["status"] == "ok" and r["method"] == "sim" for r in rows_a.values()), "A: a point failed")
        check(all(r["energy_j"] for r in rows_a.values()), "A: a simulated point without energy")
        check((a / "spec.yaml").read_text() == SPEC, "A/spec.yaml is not a copy of the spec")
        check((a / "command.txt").read_text() == f"rdasim sweep {spec} --out {a}\n",
              f"A/command.txt: {(a / 'command.txt').read_text()!r}")

        # B: killed with its workers once a third of the rows are there.
        proc = subprocess.Popen([RDASIM, "sweep", str(spec), "--out", str(b), "--jobs", "2", "--progress", "lines"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while whole_rows(b / "results.csv") < POINTS // 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        check(proc.returncode == -signal.SIGKILL, f"B ended by itself ({proc.returncode}) before it was killed")
        done = whole_rows(b / "results.csv")
        print(f"B: killed after {done} of {POINTS} points")
        check(POINTS // 3 <= done < POINTS, f"B: {done} rows when killed; expected a part of {POINTS}")
        # A kill in the middle of a write leaves a line without its end: here, of a point not done.
        done_keys = {line.split(",")[0] for line in (b / "results.csv").read_text().splitlines()[1:]}
        torn_key = next(k for k in rows_a if k not in done_keys)
        with open(b / "results.csv", "a") as f:
            f.write(torn_key + ",inversion,16,16,76")

        run = sweep(spec, b, "--jobs", "2", "--progress", "lines")
        print(f"B again: {run.stdout.strip()}")
        check(run.returncode == 0, f"B again exited {run.returncode}: {run.stderr}")
        check(re.search(rf"{POINTS} points, {done} already done; ran {POINTS - done} \(0 failed\)", run.stdout),
              f"B again: expected '{done} already done; ran {POINTS - done}' in {run.stdout!r}")
        check(run.stderr.count("sweep: ok ") == POINTS - done, f"B again: progress lines:\n{run.stderr}")
        check((b / "results.csv").read_bytes().endswith(b"\n"), "B: the torn line is still there")
        rows_b, records_b = rows_of(b)
        check(records_b == POINTS, f"B: {records_b} records; expected each of {POINTS} points once")
        check(rows_b.keys() == rows_a.keys(), "B's keys differ from A's")
        for key, row in rows_a.items():
            if key in rows_b:
                check(without_wall(rows_b[key]) == without_wall(row),
                      f"point {key} differs:\n  A {without_wall(row)}\n  B {without_wall(rows_b[key])}")

        # Nothing left to do: a third run runs nothing.
        run = sweep(spec, b, "--jobs", "2", "--progress", "none")
        check(re.search(rf"{POINTS} points, {POINTS} already done; ran 0 ", run.stdout), f"B third: {run.stdout!r}")

        # --fast: the analytic method, no energy, other keys; into B it adds rows beside the simulated ones.
        run = sweep(spec, c, "--jobs", "2", "--progress", "none", "--fast")
        check(run.returncode == 0 and "(analytic, --fast)" in run.stdout, f"--fast: {run.stdout!r} {run.stderr}")
        rows_c, records_c = rows_of(c)
        check(records_c == POINTS, f"--fast: {records_c} records")
        check(not rows_c.keys() & rows_a.keys(), "--fast rows have keys of simulated ones")
        for row in rows_c.values():
            check(row["method"] == "analytic" and row["status"] == "ok", f"--fast row: {row}")
            check(row["energy_j"] == "" and row["energy_per_sample_j"] == "" and row["power_w"] == "",
                  f"--fast row with energy: {row}")
            check(row["seconds"] != "" and row["cycles"] != "", f"--fast row without a time: {row}")
        # The same fabric point and workload in both: the identity columns agree.
        identity = ["workload", "batch", "pcu.lanes", "memory.tiers.0.bandwidth_gbps", "area_mm2"]
        check(sorted(tuple(r[c] for c in identity) for r in rows_c.values()) ==
              sorted(tuple(r[c] for c in identity) for r in rows_a.values()), "--fast covers other points")
        check((c / "command.txt").read_text().endswith(" --fast\n"), "--fast missing from command.txt")
        run = sweep(spec, b, "--progress", "none", "--fast")
        check(re.search(rf"{POINTS} points, 0 already done; ran {POINTS} ", run.stdout), f"--fast into B: {run.stdout!r}")
        check(rows_of(b)[1] == 2 * POINTS, "B: --fast rows did not join the simulated ones")

        # Another spec's columns: refused on A, whose record of its own sweep stays as it was.
        other = tmp / "other.yaml"
        other.write_text(SPEC.replace("pcu.lanes: [16, 32]", "pcu.stages: [4, 6]"))
        before = {p: (a / p).read_bytes() for p in ("results.csv", "spec.yaml", "command.txt")}
        run = sweep(other, a, "--dry-run")
        check(run.returncode == 0, "--dry-run on another sweep's folder: it writes nothing, so it may run")
        run = sweep(other, a)
        check(run.returncode == 2, f"other spec on A exited {run.returncode}")
        check(re.fullmatch(r"rdasim: error: .*/A/results\.csv:1: was written by another sweep \(pcu\.lanes only in it, "
                           r"pcu\.stages only in this sweep\); give another --out\n", run.stderr),
              f"other spec on A: {run.stderr!r}")
        for p, content in before.items():
            check((a / p).read_bytes() == content, f"A/{p} changed by a refused sweep")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
