#!/usr/bin/python3
"""Checks that `rdasim sweep` under `mpirun -np 2` gives what it gives alone: configs/sweeps/
example.yaml (48 points) runs locally with --jobs 2 and under mpirun with two ranks of one
worker each, into two temporary folders; both must hold the same 48 keys with the same value in
every column but wall_s (rows come in the order points finish, so they are matched by key).
About a minute in the optimized build. Exits 77 (CTest's skip) when mpirun is missing or rdasim
was built without MPI. Run by CTest (python.sweep_mpi, label slow) as `sweep_mpi_test.py RDASIM`."""

import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RDASIM = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build" / "release" / "tools" / "rdasim")
SPEC = ROOT / "configs" / "sweeps" / "example.yaml"
POINTS = 48
SKIP = 77


def rows_of(folder):
    with open(folder / "results.csv", newline="") as f:
        records = list(csv.DictReader(f))
    return {r["key"]: {k: v for k, v in r.items() if k != "wall_s"} for r in records}, len(records)


def main():
    mpirun = shutil.which("mpirun")
    if not mpirun:
        print("skipped: no mpirun on PATH (Debian: openmpi-bin)")
        return SKIP
    env = dict(os.environ)
    if os.geteuid() == 0:  # Open MPI refuses root unless told
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    with tempfile.TemporaryDirectory(prefix="rdasim_sweep_mpi_") as tmp:
        local, mpi = Path(tmp) / "local", Path(tmp) / "mpi"
        run = subprocess.run([RDASIM, "sweep", str(SPEC), "--out", str(local), "--jobs", "2", "--progress", "none"],
                             capture_output=True, text=True, timeout=600)
        print(run.stdout.strip())
        if run.returncode != 0:
            print(f"local run exited {run.returncode}: {run.stderr}", file=sys.stderr)
            return 1
        run = subprocess.run([mpirun, "-np", "2", "--oversubscribe", RDASIM, "sweep", str(SPEC), "--out", str(mpi),
                              "--jobs", "1", "--progress", "none"],
                             capture_output=True, text=True, timeout=600, env=env)
        print(run.stdout.strip())
        if "built without MPI" in run.stderr:
            print("skipped: rdasim was built without MPI (Debian: libopenmpi-dev)")
            return SKIP
        problems = []
        if run.returncode != 0:
            problems.append(f"mpirun exited {run.returncode}: {run.stderr}")
        if f"{POINTS} points, 0 already done; ran {POINTS} (0 failed)" not in run.stdout or "on 2 MPI ranks" not in run.stdout:
            problems.append(f"mpirun's summary: {run.stdout!r}")
        if run.stdout.count("results: ") != 1:
            problems.append("more than rank 0 printed a summary")
        rows_local, n_local = rows_of(local)
        rows_mpi, n_mpi = rows_of(mpi)
        if n_local != POINTS or n_mpi != POINTS:
            problems.append(f"{n_local} local and {n_mpi} MPI records; expected {POINTS} each")
        if rows_local.keys() != rows_mpi.keys():
            problems.append(f"keys only local: {sorted(rows_local.keys() - rows_mpi.keys())}, "
                            f"only MPI: {sorted(rows_mpi.keys() - rows_local.keys())}")
        for key, row in rows_local.items():
            if key in rows_mpi and rows_mpi[key] != row:
                problems.append(f"point {key} differs:\n  local {row}\n  MPI   {rows_mpi[key]}")
        if any(r["status"] != "ok" for r in rows_local.values()):
            problems.append("a point of the example failed")
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if not problems:
        print(f"{POINTS} points the same locally and on 2 MPI ranks")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
