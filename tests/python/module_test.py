#!/usr/bin/python3
"""The Python module gives what the CLI gives for the same inputs: mapping.json byte for byte, the
simulation report, the GPU estimate, sweep rows; errors raise with the CLI's messages. Run by CTest
(python.module) as: module_test.py RDASIM_BINARY MODULE_DIR."""

import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RDASIM = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import rdasim  # noqa: E402

SN10 = str(ROOT / "configs/arch/sn10.yaml")
H100 = str(ROOT / "configs/gpu/h100.yaml")


def cli(*args, check=True):
    return subprocess.run([RDASIM, "-q", *args], capture_output=True, text=True, check=check, cwd=ROOT)


def cli_error(*args):
    r = subprocess.run([RDASIM, *args], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    return r.stderr.strip().removeprefix("rdasim: error: ")


def raises(exception, call):
    try:
        call()
    except exception as e:
        return str(e)
    raise AssertionError(f"expected {exception.__name__}")


def check_map_and_simulate(tmp):
    arch = rdasim.Arch.load(SN10, {"pcu.lanes": 16})
    graph = rdasim.Graph.load("inversion", batch=16)
    mapping = rdasim.map(graph, arch, seed=3)
    cli("map", "inversion", "-p", "batch=16", "--arch", SN10, "--set", "pcu.lanes=16", "--seed", "3", "--out", str(tmp / "m"))
    assert mapping.to_json() == (tmp / "m" / "mapping.json").read_text(), "mapping.json differs from rdasim map's"
    assert mapping.placement_svg() == (tmp / "m" / "placement.svg").read_text(), "placement.svg differs"
    report = rdasim.simulate(mapping, arch)
    expected = json.loads(cli("sim", "inversion", "-p", "batch=16", "--arch", SN10, "--set", "pcu.lanes=16", "--seed", "3",
                              "--json").stdout)
    for r in (report, expected):
        r.pop("wall_seconds")  # host time, the one field that varies
    assert report == expected, "simulate() differs from rdasim sim --json"
    # A second simulation in the same process: every one runs in its own worker.
    again = rdasim.simulate(mapping, arch)
    again.pop("wall_seconds")
    assert again == report
    # Several tenants, as `rdasim map A B`.
    members = rdasim.Graph.load_all("ensemble", members=2, base="inversion", batch=4)
    assert len(members) == 2
    two = rdasim.map(members, arch)
    cli("map", "ensemble", "-p", "members=2", "-p", "base=inversion", "-p", "batch=4", "--arch", SN10, "--set",
        "pcu.lanes=16", "--out", str(tmp / "e"))
    assert two.to_json() == (tmp / "e" / "mapping.json").read_text(), "a two-tenant mapping differs"


def check_gpu():
    graph = rdasim.Graph.load("dcrnn", batch=8, seq=3, horizon=3)
    est = rdasim.gpu_estimate(graph, H100, precision="bf16", fuse=True, kernels=True)
    expected = json.loads(cli("gpu", "dcrnn", "-p", "batch=8", "-p", "seq=3", "-p", "horizon=3", "--gpu", H100, "--fuse",
                              "--json").stdout)["estimate"]
    assert est == expected, "gpu_estimate() differs from rdasim gpu --json"


def check_graph_and_reference():
    g = rdasim.Graph.load(str(ROOT / "configs/graphs/mlp.yaml"), batch=4)
    assert g.summary()["ops"] == 4 and [op["kind"] for op in g.ops] == ["Gemm", "Relu", "Gemm", "Softmax"]
    expected = json.loads(cli("graph", str(ROOT / "configs/graphs/mlp.yaml"), "-p", "batch=4", "--json").stdout)
    assert json.loads(g.to_json()) == expected and g.ops == expected["ops"]
    x = np.random.default_rng(0).standard_normal((4, 784))
    out = rdasim.reference(g, {"x": x}, "fp64")["y"]
    assert out.shape == (4, 10) and np.allclose(out.sum(axis=1), 1.0, atol=1e-12), "softmax rows must sum to 1"
    # The MLP by hand with the params the reference drew: identical in fp64.
    bf16 = rdasim.reference(g, {"x": x}, "bf16")["y"]
    assert 0 < np.abs(bf16 - out).max() < 2e-2, "bf16 differs from fp64 by rounding, not more"
    assert np.array_equal(rdasim.reference(g, {"x": x}, "fp64")["y"], out), "the reference is deterministic"


def check_sweep(tmp):
    spec = tmp / "s.yaml"
    spec.write_text(f"""name: py
arch: {SN10}
axes:
  pcu.lanes: [16, 32]
  pmu.capacity_kib: [256, 512]
workloads:
  - name: inversion
    batches: [8]
gpu: {H100}
""")
    rows = rdasim.sweep(str(spec), out=str(tmp / "py"), jobs=2)
    cli("sweep", str(spec), "--out", str(tmp / "cli"), "--jobs", "2", "--progress", "none")
    with open(tmp / "cli" / "results.csv", newline="") as f:
        cli_rows = {r["key"]: r for r in csv.DictReader(f)}
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert len(records) == 4 and set(r["key"] for r in records) == set(cli_rows)
    for r in records:
        c = cli_rows[r["key"]]
        for column, value in r.items():
            if column == "wall_s":
                continue
            text = c[column]
            if isinstance(value, float):
                assert value == float(text), (column, value, text)
            else:
                assert (value or "") == text, (column, value, text)


def check_errors():
    missing = str(ROOT / "configs/arch/nope.yaml")
    message = raises(rdasim.InputError, lambda: rdasim.Arch.load(missing))
    assert message == cli_error("arch", "show", missing), message
    assert isinstance(rdasim.InputError("x"), ValueError)
    message = raises(rdasim.InputError, lambda: rdasim.Graph.load("inversoin"))
    assert message == cli_error("graph", "inversoin"), message
    message = raises(rdasim.InputError, lambda: rdasim.Arch.load(SN10, {"pcu.lanes": 0}))
    assert message == cli_error("arch", "show", SN10, "--set", "pcu.lanes=0"), message
    message = raises(rdasim.InputError, lambda: rdasim.Graph.load("ensemble", members=2))
    assert "Graph.load_all" in message or "applications" in message, message
    # A one-row band of the tiny fabric cannot hold fc1 (tests/errors/map/op_too_large.yaml).
    tiny = rdasim.Arch.load(str(ROOT / "configs/arch/tiny.yaml"))
    mlp = rdasim.Graph.load(str(ROOT / "configs/graphs/mlp.yaml"))
    message = raises(rdasim.Infeasible, lambda: rdasim.map(mlp, tiny, rows_per_app=1))
    cli_message = subprocess.run([RDASIM, "map", str(ROOT / "configs/graphs/mlp.yaml"), "--arch",
                                  str(ROOT / "configs/arch/tiny.yaml"), "--rows-per-app", "1"],
                                 capture_output=True, text=True).stderr
    reasons = [line.strip() for line in cli_message.splitlines()[1:]]
    assert reasons and all(r in message for r in reasons), (message, cli_message)
    raises(rdasim.InputError, lambda: rdasim.reference(rdasim.Graph.load("inversion", batch=2), {}, "fp64"))
    raises(rdasim.InputError, lambda: rdasim.reference(rdasim.Graph.load("inversion", batch=2), {}, "fp16"))


def check_docs():
    for name in ("Arch", "Graph", "Mapping", "map", "simulate", "reference", "gpu_estimate", "sweep"):
        doc = getattr(rdasim, name).__doc__
        assert doc and len(doc) > 30, f"{name} has no useful docstring"
    assert "Arch.load" in rdasim.__doc__


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        check_map_and_simulate(tmp)
        check_gpu()
        check_graph_and_reference()
        check_sweep(tmp)
        check_errors()
        check_docs()
    print("module: all checks passed")


if __name__ == "__main__":
    main()
