#!/usr/bin/python3
"""Checks tools/gpu/measure.py without a GPU (on the CPU, tiny sizes): the batched ensemble and
the sparse DCRNN compute what the twins compute, every case runs and writes its rows, and bad
arguments are refused. The training cases: their losses are export_training.py's (TRAINING.md),
the batched ensemble's step is each member's step, a run updates the weights, the four cases
write their rows (eager; compiled with torch.compile stubbed out, as Debian's torch 1.13 has
none) and the plan has the harness's keys. Run by CTest (python.measure) with Debian's
/usr/bin/python3."""

import csv
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "gpu"))
import measure  # noqa: E402
import export_training  # noqa: E402  (measure puts workloads/python on the path)

TRAIN_KEYS = [("lensing-denoise-train", "16", "single"), ("inversion-train", "128", "single"),
              ("dcrnn-sparse-train", "64", "single"), ("ensemble-5-train", "64", "sequential"),
              ("ensemble-5-train", "64", "batched"), ("ensemble-5-train", "64", "concurrent")]


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


def check_llm_rows():
    """measure.py --llm: the LLM twin served as a static batch, tiny-llama on the CPU."""
    import measure_llm
    config = measure_llm.LlamaConfig(measure_llm.config_path("tiny-llama"))
    torch.manual_seed(1)
    plain = measure_llm.LlamaTwin(config).eval()
    moved = measure_llm.DeviceTwin(config).eval()
    moved.load_state_dict(plain.state_dict())
    ids = torch.randint(0, config.vocab, (2, 5))
    with torch.no_grad():
        assert torch.equal(plain(ids)[0], moved(ids)[0]), "the device twin differs from the twin"
    with tempfile.TemporaryDirectory() as out:
        assert measure.main(["--llm", "--device", "cpu", "--smoke", "--out", out]) == 0
        with open(Path(out) / "cpu-llm.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    assert [(r["batch"], r["input_len"]) for r in rows] == [("1", "8"), ("2", "8")], rows
    for r in rows:
        assert float(r["ttft_s"]) > 0 and float(r["decode_mean_s"]) > 0
        latency = float(r["latency_s"])
        assert abs(float(r["throughput_tok_s"]) - int(r["batch"]) * 16 / latency) < 1e-6 * float(r["throughput_tok_s"])


def check_training_losses():
    """measure.py's losses and targets are export_training.py's, which TRAINING.md documents."""
    rng = np.random.RandomState(3)
    t = lambda *shape: torch.from_numpy(rng.uniform(0.1, 1.0, shape))  # noqa: E731
    out, image, target = t(2, 3, 4, 4), t(2, 3, 4, 4), t(2, 3, 4, 4)
    assert torch.allclose(measure.l1_loss(out, image, target),
                          export_training.lensing_edsr_loss({"denoise": out}, {"image": image}, {"target/denoise": target}))
    r, e_hat, e = t(3, 7), t(3, 5), t(3, 5)
    assert torch.allclose(measure.inversion_loss((r, e_hat), e),
                          export_training.inversion_loss({"R": r, "E_hat": e_hat}, {"E": e}, {}))
    want_t, want_m = export_training.missing_readings(np.random.RandomState(5), (3, 2, 6, 1))
    got_t, got_m = measure.missing_readings(np.random.RandomState(5), (3, 2, 6, 1))
    assert np.array_equal(got_t, want_t.astype(np.float32)) and np.array_equal(got_m, want_m.astype(np.float32))
    forecast, x = t(3, 2, 6, 1), t(4, 2, 6, 2)
    tgt, mask = torch.from_numpy(want_t), torch.from_numpy(want_m)
    assert torch.allclose(measure.masked_l1(forecast, x, tgt, mask),
                          export_training.dcrnn_loss({"forecast": forecast}, {"x": x},
                                                     {"target/forecast": tgt, "mask/forecast": mask}))
    stacked = torch.stack([forecast, forecast * 2])
    assert torch.allclose(measure.ensemble_masked_l1(stacked, x, tgt, mask),
                          measure.masked_l1(forecast, x, tgt, mask) + measure.masked_l1(forecast * 2, x, tgt, mask))


def check_batched_training_step():
    """One step of the trainable batched ensemble (summed loss, one Adam over the stacked
    weights) equals each member's own step, with autograd's sparse backward and the fallback."""
    sz = measure.Sizes(smoke=True)
    supports = measure.road_supports(sz.sensors, sz.nonzeros, 1, True)
    rng = np.random.RandomState(0)
    x = measure.dcrnn_input(sz, 3, sz.sensors, rng)
    target, mask = (torch.from_numpy(a) for a in measure.missing_readings(rng, (sz.horizon, 3, sz.sensors, 1)))
    for explicit in (False, True):
        members = [measure.make_dcrnn(sz, 3, True, seed, supports).train() for seed in range(3)]
        batched = measure.BatchedEnsemble(members, trainable=True).train()
        batched.first.explicit_transpose = explicit
        assert len(batched.stacked_parameters()) == len(list(members[0].parameters()))
        step = measure.Trainee(measure.WithLoss(batched, measure.ensemble_masked_l1), [x, target, mask],
                               measure.adam(batched.stacked_parameters(), **measure.DCRNN_ADAM))
        measure.training_run([step])()
        for m in members:
            m.explicit_transpose = explicit
        singles = [measure.Trainee(measure.WithLoss(m, measure.masked_l1), [x, target, mask],
                                   measure.adam(m.parameters(), **measure.DCRNN_ADAM)) for m in members]
        with torch.no_grad():  # the timing loop's context: the step turns gradients on itself
            measure.training_run(singles)()
        for name in batched.names:
            want = torch.stack([dict(m.named_parameters())[name].detach() for m in members])
            got = batched.p(name).detach()
            assert torch.allclose(got, want, atol=1e-6), f"batched step differs at {name} (explicit={explicit})"


def check_sparse_fallbacks():
    """The sparse DCRNN's fallbacks (explicit S^T backward; sparse products outside
    torch.compile, torch.compiler.disable stubbed where this torch has none) give the same
    gradients as autograd, and the probes answer on the CPU."""
    assert measure.sparse_autograd_works(torch.device("cpu"), torch.float32)
    sz = measure.Sizes(smoke=True)
    supports = measure.road_supports(sz.sensors, sz.nonzeros, 1, True)
    x = measure.dcrnn_input(sz, 2, sz.sensors, np.random.RandomState(0))
    grads = []
    stub = not hasattr(torch, "compiler")
    if stub:
        torch.compiler = types.SimpleNamespace(disable=lambda fn: fn)
    try:
        for explicit, eager in ((False, False), (True, False), (False, True)):
            model = measure.make_dcrnn(sz, 2, True, 4, supports).train()
            model.explicit_transpose = explicit
            if eager:
                model.eager_sparse_product()
            model(x).square().mean().backward()
            grads.append([p.grad for p in model.parameters()])
    finally:
        if stub:
            del torch.compiler
    for other in grads[1:]:
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads[0], other))


def check_training_updates():
    """A training case's run changes every trainable weight (the step happened under no_grad)."""
    sz = measure.Sizes(smoke=True)
    for case, strategy in (("lensing-denoise-train", "single"), ("inversion-train", "single"),
                           ("dcrnn-sparse-train", "single"), ("ensemble-5-train", "sequential"),
                           ("ensemble-5-train", "batched")):
        job = measure.build_case(case, 4, sz, torch.device("cpu"), torch.float32, False, strategy)
        params = [p for m in job.modules for p in
                  (m.stacked_parameters() if isinstance(m, measure.BatchedEnsemble) else m.parameters())]
        before = [p.detach().clone() for p in params]
        with torch.no_grad():
            losses = job.run()
        assert all(torch.isfinite(loss) for loss in losses), (case, losses)
        unchanged = [i for i, (p, b) in enumerate(zip(params, before)) if torch.equal(p.detach(), b)]
        assert not unchanged, f"{case} {strategy}: {len(unchanged)} of {len(params)} weights unchanged"
        assert all(p.grad is not None for p in params), f"{case} {strategy}: a weight without a gradient"


def read_rows(out):
    with open(Path(out) / "cpu.csv", newline="") as f:
        return list(csv.DictReader(f))


def check_training_rows():
    """The four training cases end to end (eager, concurrent included), then compiled with
    torch.compile stubbed to the identity (the plumbing, not inductor)."""
    with tempfile.TemporaryDirectory() as out:
        status = measure.main(["--device", "cpu", "--smoke", "--cases", "train", "--precisions", "fp32",
                               "--modes", "eager", "--reps", "3", "--budget", "0.05", "--no-calibration", "--out", out])
        assert status == 0
        rows = read_rows(out)
    keys = [(r["case"], r["batch"], r["strategy"]) for r in rows]
    assert sorted(keys) == sorted(TRAIN_KEYS), keys
    assert all(r["mode"] == "eager" and r["precision"] == "fp32" for r in rows), rows
    assert all(r["median_ms"] and float(r["median_ms"]) > 0 for r in rows), f"rows without a time: {rows}"
    assert all("mode=train" in r["params"] for r in rows), [r["params"] for r in rows]

    had_compile = hasattr(torch, "compile")
    saved_compile, saved_prepare = getattr(torch, "compile", None), measure.prepare_compile
    torch.compile = lambda module, **kwargs: module
    measure.prepare_compile = lambda: None
    try:
        with tempfile.TemporaryDirectory() as out:
            status = measure.main(["--device", "cpu", "--smoke", "--cases", "train", "--precisions", "fp32",
                                   "--compile-precisions", "fp32", "--modes", "compile", "--no-concurrent",
                                   "--reps", "3", "--budget", "0.05", "--no-calibration", "--out", out])
            assert status == 0
            rows = read_rows(out)
    finally:
        measure.prepare_compile = saved_prepare
        if had_compile:
            torch.compile = saved_compile
        else:
            del torch.compile
    keys = [(r["case"], r["batch"], r["strategy"]) for r in rows]
    assert sorted(keys) == sorted(k for k in TRAIN_KEYS if k[2] != "concurrent"), keys
    assert all(r["mode"] == "compile" and r["median_ms"] for r in rows), rows
    assert not any("failed here" in r["note"] for r in rows), [r["note"] for r in rows]  # the probes passed


def check_training_plan():
    """--cases train: the harness's keys (compare.cpp's cases and batches, its strategies),
    eager rows first; --no-compile-ensembles drops only the compiled ensemble rows."""
    args = measure.parse_args(["--cases", "train", "--precisions", "bf16"])
    args.cases = measure.expand_cases(args.cases)
    plan = measure.make_plan(args)
    for mode in ("eager", "compile"):
        got = sorted((case, str(batch), strategy) for m, case, precision, batch, strategy in plan
                     if m == mode and precision == "bf16")
        assert got == sorted(TRAIN_KEYS), (mode, got)
    assert len(plan) == 2 * len(TRAIN_KEYS), plan
    assert [m for m, *_ in plan] == sorted((m for m, *_ in plan), key=["eager", "compile"].index)
    args.no_compile_ensembles = True
    assert sorted(p for p in measure.make_plan(args) if p[0] == "compile") == \
        sorted(("compile", c, "bf16", int(b), s) for c, b, s in TRAIN_KEYS if not c.startswith("ensemble"))
    assert measure.expand_cases(["inversion", "train", "inversion-train"])[:2] == ["inversion", "lensing-denoise-train"]


def check_bad_arguments():
    assert measure.main(["--device", "cpu", "--cases", "nonsense"]) == 2


if __name__ == "__main__":
    check_batched_and_sparse_twins()
    check_bad_arguments()
    check_rows()
    check_llm_rows()
    check_training_losses()
    check_batched_training_step()
    check_sparse_fallbacks()
    check_training_updates()
    check_training_plan()
    check_training_rows()
    print("measure.py: all checks passed")
