#!/usr/bin/python3
"""Times the PyTorch twins of rdasim's science workloads on a CUDA GPU, for the comparison
harness (`rdasim compare`), and writes results/gpu/<gpu>.csv plus <gpu>.json (the command,
the versions, the device).

Each case is one of the harness's rows (src/tools compare cases): the same model at the same
sizes as the C++ builder (workloads/python/twins.py mirrors the builders op for op), at the same
batch, in fp32 or bf16 (the whole module and its inputs cast, so every tensor is bf16 as the
model assumes), run eagerly or through torch.compile (inductor, default mode). A time is the
median of repeated runs, each between CUDA events on an idle stream after warm-up; p10 and p90
are kept too. In eager mode one more run under torch.profiler counts the kernels it launched.

Ensembles run three ways, as the harness models them: the members one after another in one
process (sequential), one process per member started together (concurrent; the time is the wall
time of a round in which every member ran once, over several rounds), and one batched model
whose weights are stacked along a member dimension (batched).

Calibration rows (case calib-*) measure what the GPU spec's efficiencies stand for: a large
GEMM in bf16 and fp32, a device-to-device copy and the time per tiny kernel (launch overhead).

Usage (with the PyTorch that sees the GPU):
    python3 tools/gpu/measure.py                      # every case, eager and compiled
    python3 tools/gpu/measure.py --cases inversion dcrnn-dense --modes eager
    /usr/bin/python3 tools/gpu/measure.py --device cpu --smoke --out /tmp/m   # a check of the
        script itself on tiny sizes, on the CPU (what the test suite runs)
Rows are written as they finish, so a run that is stopped keeps what it measured.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import platform
import re
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "workloads" / "python"))
import twins  # noqa: E402

warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")

COLUMNS = ["gpu", "device", "case", "params", "batch", "precision", "mode", "strategy", "members",
           "median_ms", "p10_ms", "p90_ms", "reps", "kernels", "note"]

# The harness's default batches per case (tools/cli/compare cases); the measurement covers them.
DEFAULT_BATCHES = {
    "lensing": [1, 4, 16], "lensing-denoise": [1, 4, 16], "lensing-deblend": [1, 4, 16],
    "lensing-encoder": [1, 4, 16], "inversion": [32, 128, 512], "dcrnn-sparse": [16, 64, 256],
    "dcrnn-dense": [16, 64, 256], "gp-dcrnn": [64], "ensemble-5": [64], "ensemble-32": [64],
}
# torch.compile is measured at one batch per case, cheapest compile first (each takes tens of
# seconds to minutes); lensing-deblend is the same network as lensing-denoise.
COMPILE_BATCH = {"inversion": 128, "lensing-encoder": 4, "lensing-denoise": 1, "dcrnn-dense": 64,
                 "dcrnn-sparse": 64, "lensing": 1}


# --------------------------------------------------------------------------------------------
# The workloads' twins at the builders' default sizes (smoke: tiny ones)
# --------------------------------------------------------------------------------------------

class Sizes:
    def __init__(self, smoke: bool):
        self.feats, self.blocks, self.image = (8, 1, 111) if smoke else (256, 16, 111)
        self.taus, self.omegas, self.centres, self.hidden = (11, 40, 6, 24) if smoke else (151, 2000, 200, 2000)
        self.sensors, self.nonzeros = (12, 60) if smoke else (207, 1722)
        self.units, self.seq, self.horizon = (4, 2, 2) if smoke else (64, 12, 12)
        self.gp_sensors, self.gp_parts, self.gp_units = (24, 2, 4) if smoke else (11160, 64, 16)


class SparseDCRNN(twins.DCRNN):
    """DCRNN with the diffusion as a sparse-dense product (CSR supports), as the builder's
    -p diffusion=sparse and as the original DCRNN code: [N, N] x [N, B*F]."""

    def __init__(self, supports: Sequence[np.ndarray], batch: int, **kwargs):
        super().__init__(supports, batch, **kwargs)
        self.sparse_supports = [torch.from_numpy(np.asarray(s, dtype=np.float32)).to_sparse_csr() for s in supports]

    def to_device(self, device, dtype):
        self.to(device=device, dtype=dtype)
        self.sparse_supports = [s.to(device=device, dtype=dtype) for s in self.sparse_supports]
        return self

    def diffuse(self, k: int, x):  # x [B, N, F]
        b, n, f = x.shape
        flat = x.permute(1, 0, 2).reshape(n, b * f)
        return torch.sparse.mm(self.sparse_supports[k], flat).reshape(n, b, f).permute(1, 0, 2)

    def gconv(self, inputs, state, g):
        x0 = torch.cat([inputs, state], 2)
        copies = [x0]
        for k in range(self.num_supports):
            prev, cur = x0, self.diffuse(k, x0)
            copies.append(cur)
            for _ in range(2, self.steps + 1):
                nxt = self.diffuse(k, cur) * 2.0 - prev
                copies.append(nxt)
                prev, cur = cur, nxt
        stack = torch.stack(copies, 3).reshape(inputs.shape[0], self.sensors, -1)
        return stack @ g.weight + g.bias


class BatchedEnsemble(nn.Module):
    """M DCRNN members as one model: weights stacked [M, ...], the members a leading dimension of
    every activation ([M, B, N, F]); the supports are shared (one road graph), so the diffusion
    treats members as more batch. Same kernels as one member, each M times larger."""

    def __init__(self, members: List[twins.DCRNN]):
        super().__init__()
        first = members[0]
        self.m, self.first = len(members), first
        self.names = [n for n, _ in first.named_parameters()]
        for name in self.names:
            stacked = torch.stack([dict(m.named_parameters())[name].detach() for m in members])
            self.register_buffer(name.replace(".", "__"), stacked)

    def p(self, name):
        return getattr(self, name.replace(".", "__"))

    def gconv(self, inputs, state, prefix):  # inputs [M, B, N, Fi], state [M, B, N, U]
        f = self.first
        x0 = torch.cat([inputs, state], 3)
        m, b, n, feats = x0.shape
        copies = [x0]
        for k in range(f.num_supports):
            if isinstance(f, SparseDCRNN):
                def diffuse(x, k=k):
                    flat = x.permute(2, 0, 1, 3).reshape(n, m * b * feats)
                    return torch.sparse.mm(f.sparse_supports[k], flat).reshape(n, m, b, feats).permute(1, 2, 0, 3)
            else:
                s = getattr(f, f"support{k + 1}")

                def diffuse(x, s=s):
                    return s @ x
            prev, cur = x0, diffuse(x0)
            copies.append(cur)
            for _ in range(2, f.steps + 1):
                nxt = diffuse(cur) * 2.0 - prev
                copies.append(nxt)
                prev, cur = cur, nxt
        stack = torch.stack(copies, 4).reshape(m, b, n, -1)
        return stack @ self.p(prefix + ".weight").unsqueeze(1) + self.p(prefix + ".bias")[:, None, None, :]

    def cell(self, x, h, prefix):
        f = self.first
        ru = torch.sigmoid(self.gconv(x, h, prefix + ".gconv_ru"))
        r, u = torch.split(ru, [f.units, f.units], 3)
        cand = torch.tanh(self.gconv(x, r * h, prefix + ".gconv_c"))
        return cand + u * (h - cand)

    def forward(self, x):  # x [seq, B, N, 2], the same inputs for every member
        f = self.first
        init = f.initial_state.unsqueeze(0).expand(self.m, -1, -1, -1)
        state = [init] * f.layers
        for t in range(x.shape[0]):
            inp = x[t].unsqueeze(0).expand(self.m, -1, -1, -1)
            for layer in range(f.layers):
                state[layer] = self.cell(inp, state[layer], f"encoder.layer{layer}")
                inp = state[layer]
        wt = self.p("projection.weight").transpose(1, 2).unsqueeze(1)  # [M, 1, U, out]
        inp = f.go.unsqueeze(0).expand(self.m, -1, -1, -1)
        outputs = []
        for _ in range(f.horizon):
            for layer in range(f.layers):
                state[layer] = self.cell(inp, state[layer], f"decoder.layer{layer}")
                inp = state[layer]
            inp = inp @ wt + self.p("projection.bias")[:, None, None, :]
            outputs.append(inp)
        return torch.stack(outputs, 1)  # [M, horizon, B, N, out]


def road_supports(sensors: int, nonzeros: int, seed: int, dual: bool) -> List[np.ndarray]:
    links = twins.generate_road_network(sensors, nonzeros, seed)
    return twins.diffusion_supports(twins.dense(links, sensors), dual)


def make_dcrnn(sz: Sizes, batch: int, sparse: bool, seed: int, supports=None, units=None) -> twins.DCRNN:
    supports = supports if supports is not None else road_supports(sz.sensors, sz.nonzeros, 1, True)
    cls = SparseDCRNN if sparse else twins.DCRNN
    model = cls(supports, batch, units=units or sz.units, horizon=sz.horizon)
    twins.init_parameters(model, seed)
    return model


def dcrnn_input(sz: Sizes, batch: int, sensors: int, rng) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal((sz.seq, batch, sensors, 2)).astype(np.float32))


class Runnable:
    """One case ready to time: `run()` executes one forward pass on the device."""

    def __init__(self, modules: List[nn.Module], run: Callable[[], object], params: str, kernels_hint: str = ""):
        self.modules, self.run, self.params, self.kernels_hint = modules, run, params, kernels_hint


def move(module: nn.Module, device, dtype) -> nn.Module:
    if isinstance(module, SparseDCRNN):
        return module.to_device(device, dtype).eval()
    return module.to(device=device, dtype=dtype).eval()


def build_case(case: str, batch: int, sz: Sizes, device, dtype, compiled: bool, strategy: str) -> Runnable:
    rng = np.random.RandomState(0)
    wrap = (lambda m: torch.compile(m)) if compiled else (lambda m: m)

    def tensor(array):
        return torch.from_numpy(np.asarray(array, dtype=np.float32)).to(device=device, dtype=dtype)

    if case.startswith("lensing"):
        stage = case.split("-", 1)[1] if "-" in case else "full"
        module = move(_seeded(twins.LensingPipeline(stage, sz.feats, sz.blocks)), device, dtype)
        image = tensor(rng.uniform(0, 1, (batch, 3, sz.image, sz.image)))
        eps = tensor(rng.standard_normal((batch, 10)))
        fn = wrap(module)
        run = (lambda: fn(image)) if stage in ("denoise", "deblend") else (lambda: fn(image, eps))
        return Runnable([module], run, f"stage={stage}")
    if case == "inversion":
        module = twins.InversionNet(sz.taus, sz.omegas, sz.centres, sz.hidden)
        twins.init_parameters(module, 1)
        with torch.no_grad():  # RBF centres near the inputs, as training leaves them
            module.rbf.centres.copy_(torch.from_numpy(rng.uniform(0, 1, module.rbf.centres.shape).astype(np.float32)))
            module.rbf.scales.copy_(torch.full_like(module.rbf.scales, 0.5))
        module = move(module, device, dtype)
        e = tensor(rng.uniform(0, 1, (batch, sz.taus)))
        fn = wrap(module)
        return Runnable([module], lambda: fn(e), "")
    if case in ("dcrnn-sparse", "dcrnn-dense"):
        sparse = case == "dcrnn-sparse"
        module = move(make_dcrnn(sz, batch, sparse, 1), device, dtype)
        x = dcrnn_input(sz, batch, sz.sensors, rng).to(device=device, dtype=dtype)
        fn = wrap(module)
        return Runnable([module], lambda: fn(x), f"diffusion={'sparse' if sparse else 'dense'}")
    if case == "gp-dcrnn":
        # The California graph in parts of its METIS sizes (11160 / 64: 174-175 sensors), each a
        # U=16 DCRNN with one support, run one after another as one GPU would.
        sizes = [sz.gp_sensors // sz.gp_parts + (1 if p < sz.gp_sensors % sz.gp_parts else 0) for p in range(sz.gp_parts)]
        parts, inputs = [], []
        for p, n in enumerate(sizes):
            supports = road_supports(n, n * 8 if not SMOKE else n * 3, p + 1, False)
            parts.append(move(make_dcrnn(sz, batch, True, p, supports, sz.gp_units), device, dtype))
            inputs.append(dcrnn_input(sz, batch, n, rng).to(device=device, dtype=dtype))

        def run():
            return [m(x) for m, x in zip(parts, inputs)]
        return Runnable(parts, run, f"parts={sz.gp_parts};units={sz.gp_units}")
    if case.startswith("ensemble-"):
        members = int(case.split("-")[1])
        supports = road_supports(sz.sensors, sz.nonzeros, 1, True)
        models = [make_dcrnn(sz, batch, True, m, supports) for m in range(members)]
        x = dcrnn_input(sz, batch, sz.sensors, rng)
        if strategy == "batched":
            batched = BatchedEnsemble(models)
            batched.first = move(batched.first, device, dtype)
            batched = batched.to(device=device, dtype=dtype)
            xd = x.to(device=device, dtype=dtype)
            return Runnable([batched], lambda: batched(xd), f"members={members};base=dcrnn")
        models = [move(m, device, dtype) for m in models]
        xd = x.to(device=device, dtype=dtype)
        return Runnable(models, lambda: [m(xd) for m in models], f"members={members};base=dcrnn")
    raise ValueError(f"unknown case {case!r}")


def _seeded(module: nn.Module) -> nn.Module:
    twins.init_parameters(module, 1)
    return module


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------

def time_runs(run: Callable[[], object], device, warmup: int, reps: int, budget_s: float) -> List[float]:
    """Milliseconds per run: `warmup` untimed runs, then up to `reps` timed ones (at least 3)
    until `budget_s` of timing is spent. CUDA events on an idle stream; wall clock on the CPU."""
    with torch.no_grad():
        for _ in range(warmup):
            run()
        sync(device)
        times: List[float] = []
        spent = time.perf_counter()
        while len(times) < reps and (len(times) < 3 or time.perf_counter() - spent < budget_s):
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                run()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                run()
                times.append((time.perf_counter() - t0) * 1e3)
    return times


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def count_kernels(run: Callable[[], object], device, table: bool = False) -> int:
    """Kernels (and copies) one run launches on the GPU, from torch.profiler; -1 when unknown.
    With `table`, also prints the kernels that took the most GPU time."""
    if device.type != "cuda":
        return -1
    try:
        from torch.profiler import ProfilerActivity, profile
        with torch.no_grad(), profile(activities=[ProfilerActivity.CUDA]) as prof:
            run()
            sync(device)
        if table:
            print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=15, max_name_column_width=60))
        return sum(1 for e in prof.events() if str(getattr(e, "device_type", "")).endswith("CUDA"))
    except Exception:  # the profiler is optional; a count is a bonus, not the measurement
        return -1


def _concurrent_member(rank: int, case: str, batch: int, smoke: bool, device_name: str, dtype_name: str,
                       rounds: int, barrier, queue):
    """One member of a concurrent ensemble in its own process: build, warm up, wait for the
    others, run `rounds` forward passes, report its finish time."""
    global SMOKE
    SMOKE = smoke
    try:
        device, dtype = torch.device(device_name), getattr(torch, dtype_name)
        sz = Sizes(smoke)
        supports = road_supports(sz.sensors, sz.nonzeros, 1, True)
        model = move(make_dcrnn(sz, batch, True, rank, supports), device, dtype)
        x = dcrnn_input(sz, batch, sz.sensors, np.random.RandomState(0)).to(device=device, dtype=dtype)
        with torch.no_grad():
            for _ in range(2):
                model(x)
            sync(device)
            barrier.wait()
            start = time.time()
            for _ in range(rounds):
                model(x)
            sync(device)
        queue.put((rank, start, time.time(), ""))
    except Exception as error:  # tell the parent, and release the others from the barrier
        barrier.abort()
        queue.put((rank, 0.0, 0.0, f"{type(error).__name__}: {error}"))


def time_concurrent(case: str, batch: int, members: int, smoke: bool, device, dtype, rounds: int) -> List[float]:
    """Wall milliseconds per round of `members` processes each running one forward pass."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(members + 1), ctx.Queue()
    dtype_name = str(dtype).replace("torch.", "")
    procs = [ctx.Process(target=_concurrent_member,
                         args=(r, case, batch, smoke, str(device), dtype_name, rounds, barrier, queue))
             for r in range(members)]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=600)
    except Exception:  # a member failed (it aborted the barrier) or never arrived
        pass
    results = [queue.get(timeout=600) for _ in range(members)]
    for p in procs:
        p.join()
    errors = [r[3] for r in results if r[3]]
    if errors:
        raise RuntimeError(f"{len(errors)} of {members} member processes failed; first: {errors[0]}")
    start = min(r[1] for r in results)
    end = max(r[2] for r in results)
    return [(end - start) * 1e3 / rounds]


def calibration(device, dtype_rows: Sequence[str], smoke: bool):
    """(case, note, ms, derived figure) rows that measure the spec's efficiencies."""
    rows = []
    n = 256 if smoke else 8192
    for name in dtype_rows:
        dtype = getattr(torch, name)
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        times = time_runs(lambda: a @ b, device, 3, 10, 2.0)
        ms = statistics.median(times)
        rows.append((f"calib-gemm-{n}", name, times, f"{2 * n ** 3 / (ms * 1e-3) / 1e12:.1f} TFLOP/s", 1))
    elems = (1 << 20) if smoke else (1 << 28)  # 1 GiB of fp32
    src = torch.empty(elems, device=device)
    dst = torch.empty_like(src)
    times = time_runs(lambda: dst.copy_(src), device, 3, 20, 2.0)
    ms = statistics.median(times)
    rows.append(("calib-copy", "float32", times, f"{2 * elems * 4 / (ms * 1e-3) / 1e12:.2f} TB/s read+write", 1))
    tiny = torch.ones(256, device=device)
    launches = 1000

    def many():
        for _ in range(launches):
            tiny.add_(1.0)
    times = [t / launches for t in time_runs(many, device, 2, 10, 2.0)]
    rows.append(("calib-launch", "float32", times, f"{statistics.median(times) * 1e3:.2f} us per tiny kernel", 1))
    return rows


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

SMOKE = False


def gpu_slug(name: str) -> str:
    for known in ("H200", "H100", "A100", "V100", "L40S", "A10"):
        if known in name.upper():
            return known.lower()
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "gpu"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_BATCHES),
                        help="cases to time (default: all): " + ", ".join(DEFAULT_BATCHES))
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"], choices=["bf16", "fp32"])
    parser.add_argument("--modes", nargs="+", default=["eager", "compile"], choices=["eager", "compile"])
    parser.add_argument("--compile-precisions", nargs="+", default=["bf16"], choices=["bf16", "fp32"],
                        help="precisions measured under torch.compile (default bf16, the comparison's)")
    parser.add_argument("--batches", type=int, nargs="+", help="override every case's batches")
    parser.add_argument("--reps", type=int, default=20, help="timed runs per row at most (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timing per row before stopping early")
    parser.add_argument("--no-concurrent", action="store_true", help="skip the one-process-per-member ensembles")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (a check of the script only)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for checking the script")
    parser.add_argument("--profile", action="store_true", help="print each eager row's costliest kernels")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "gpu", help="folder for <gpu>.csv")
    parser.add_argument("--name", help="file name instead of the GPU's (h200, a100, ...)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    global SMOKE
    args = parse_args(argv)
    SMOKE = args.smoke
    unknown = [c for c in args.cases if c not in DEFAULT_BATCHES]
    if unknown:
        print(f"measure.py: unknown case(s) {', '.join(unknown)}; expected: {', '.join(DEFAULT_BATCHES)}", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("measure.py: no CUDA GPU is visible to this PyTorch (use --device cpu --smoke to check the script)",
              file=sys.stderr)
        return 2
    torch.manual_seed(0)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    slug = args.name or (gpu_slug(device_name) if device.type == "cuda" else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path, meta_path = args.out / f"{slug}.csv", args.out / f"{slug}.json"
    meta = {"command": "python3 tools/gpu/measure.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": device_name, "torch": torch.__version__, "cuda": torch.version.cuda,
            "python": platform.python_version(), "smoke": args.smoke,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        meta.update(multiprocessors=props.multi_processor_count, memory_bytes=props.total_memory)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"measuring on {device_name} (torch {torch.__version__}); rows -> {csv_path}", flush=True)
    sz = Sizes(args.smoke)
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()

        def emit(case, params, batch, precision, mode, strategy, members, times, kernels, note=""):
            row = {"gpu": slug, "device": device_name, "case": case, "params": params, "batch": batch,
                   "precision": precision, "mode": mode, "strategy": strategy, "members": members,
                   "median_ms": f"{statistics.median(times):.6g}" if times else "",
                   "p10_ms": f"{np.percentile(times, 10):.6g}" if times else "",
                   "p90_ms": f"{np.percentile(times, 90):.6g}" if times else "",
                   "reps": len(times), "kernels": kernels, "note": note}
            writer.writerow(row)
            f.flush()
            shown = f"{row['median_ms']} ms" if times else "failed"
            print(f"  {case:16} {params:28} b={batch:<4} {precision} {mode:7} {strategy:10} {shown}"
                  f"{'  kernels ' + str(kernels) if kernels not in (-1, '') else ''}  {note}", flush=True)

        for case, note, times, figure, _ in calibration(device, ["bfloat16", "float32"], args.smoke):
            emit(case, "", 1, "bf16" if note == "bfloat16" else "fp32", "eager", "single", 1, times, -1, figure)
        plan = []
        for mode in args.modes:  # eager first: compiled rows take longest and may be cut off
            cases = args.cases
            if mode == "compile":
                if not hasattr(torch, "compile"):
                    print("  (this PyTorch has no torch.compile: compiled rows skipped)")
                    continue
                cases = [c for c in COMPILE_BATCH if c in args.cases]
            for case in cases:
                batches = args.batches or (DEFAULT_BATCHES[case] if mode == "eager" else [COMPILE_BATCH[case]])
                precisions = args.precisions if mode == "eager" else [p for p in args.compile_precisions]
                for precision in precisions:
                    for batch in batches:
                        strategies = ["single"]
                        if case.startswith("ensemble-"):
                            strategies = ["sequential", "batched"] + ([] if args.no_concurrent else ["concurrent"])
                        plan += [(mode, case, precision, batch, s) for s in strategies]
        for mode, case, precision, batch, strategy in plan:
            dtype = torch.bfloat16 if precision == "bf16" else torch.float32
            members = int(case.split("-")[1]) if case.startswith("ensemble-") else 1
            try:
                if strategy == "concurrent":
                    rounds = 2 if args.smoke else 10
                    times = time_concurrent(case, batch, members, args.smoke, device, dtype, rounds)
                    emit(case, f"members={members};base=dcrnn", batch, precision, mode, strategy, members, times, -1,
                         f"{members} processes, {rounds} rounds")
                    continue
                job = build_case(case, batch, sz, device, dtype, mode == "compile", strategy)
                times = time_runs(job.run, device, args.warmup, args.reps, args.budget)
                kernels = count_kernels(job.run, device, args.profile) if mode == "eager" else -1
                emit(case, job.params, batch, precision, mode, strategy, members, times, kernels)
                del job
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            except Exception as error:  # one failing row must not lose the others
                message = f"{type(error).__name__}: {error}".replace("\n", " ")[:300]
                emit(case, "", batch, precision, mode, strategy, members, [], -1, message)
    print(f"wrote {csv_path} and {meta_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
