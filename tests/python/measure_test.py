#!/usr/bin/python3
"""Checks tools/gpu/measure.py without a GPU (on the CPU, tiny sizes): the batched ensemble and
the sparse DCRNN compute what the twins compute, every case runs and writes its rows, and bad
arguments are refused. Run by CTest (python.measure) with Debian's /usr/bin/python3."""

import csv
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "gpu"))
import measure  # noqa: E402


def check_batched_and_sparse_twins():
    sz = measure.Sizes(smoke=True)
    supports = measure.road_supports(sz.sensors, sz.nonzeros, 1, True)
    x = measure.dcrnn_input(sz, 3, sz.sensors, np.random.RandomState(0))
    with torch.no_grad():
        for sparse in (False, True):
            members = [measure.make_dcrnn(sz, 3, sparse, seed, supports).eval() for seed in range(3)]
            one_by_one = torch.stack([m(x) for m in members])
            batched = measure.BatchedEnsemble(members)(x)
            assert batched.shape == one_by_one.shape, (batched.shape, one_by_one.shape)
            assert torch.allclose(batched, one_by_one, atol=1e-6), f"batched ensemble differs (sparse={sparse})"
        dense = measure.make_dcrnn(sz, 3, False, 7, supports).eval()
        sparse = measure.make_dcrnn(sz, 3, True, 7, supports).eval()
        assert torch.allclose(dense(x), sparse(x), atol=1e-5), "sparse diffusion differs from dense"


def check_rows():
    with tempfile.TemporaryDirectory() as out:
        status = measure.main(["--device", "cpu", "--smoke", "--cases", "inversion", "ensemble-5", "--precisions",
                               "fp32", "--modes", "eager", "--reps", "3", "--budget", "0.05", "--out", out])
        assert status == 0
        with open(Path(out) / "cpu.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert (Path(out) / "cpu.json").is_file()
    cases = [(r["case"], r["batch"], r["strategy"]) for r in rows]
    assert ("inversion", "128", "single") in cases, cases
    for strategy in ("sequential", "batched", "concurrent"):
        assert ("ensemble-5", "64", strategy) in cases, cases
    assert any(r["case"] == "calib-launch" for r in rows)
    failed = [r for r in rows if not r["median_ms"]]
    assert not failed, f"rows without a time: {failed}"
    assert all(float(r["median_ms"]) > 0 for r in rows)


def check_bad_arguments():
    assert measure.main(["--device", "cpu", "--cases", "nonsense"]) == 2


if __name__ == "__main__":
    check_batched_and_sparse_twins()
    check_bad_arguments()
    check_rows()
    print("measure.py: all checks passed")
