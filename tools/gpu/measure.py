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

Training cases (case *-train, the harness's -p mode=train) time one training step per run:
zero_grad, forward, the paper's loss, backward and Adam's update, with the losses and optimizers
of workloads/models/TRAINING.md (lensing-denoise-train: one EDSR on 32x32 crops, L1 against a
target, Adam lr 1e-4; inversion-train: mean(((E_hat - E)/1e-4)^2) + mean_b sum_omega R log R,
Adam lr 1e-3; dcrnn-sparse-train: masked L1 with a 0/1 mask input, Adam lr 1e-2 eps 1e-3;
ensemble-5-train: five such members trained independently, sequential / concurrent / batched,
the batched model's loss the sum of the members' and its one Adam over the stacked weights,
which is elementwise the members' own). bf16 is as in inference: the module, inputs, targets
and masks cast, so gradients and Adam's moments are bf16 too (no fp32 master weights; PyTorch's
default Adam, the foreach implementation on CUDA). torch.compile compiles the model together
with its loss (a module whose forward returns the loss), as inference compiles the module: its
backward is the compiled (AOTAutograd) one; zero_grad and the optimizer step stay eager.
fp32 rows leave PyTorch's TF32 defaults alone, as inference does (recorded in <gpu>.json).
Compiled ensemble-5-train rows run last (the longest compiles) and are not read by the harness,
which reads ensembles' eager rows only; --no-compile-ensembles skips them.

Calibration rows (case calib-*) measure what the GPU spec's efficiencies stand for: a large
GEMM in bf16 and fp32, a device-to-device copy and the time per tiny kernel (launch overhead).

Usage (with the PyTorch that sees the GPU):
    python3 tools/gpu/measure.py                      # every case, eager and compiled
    python3 tools/gpu/measure.py --cases inversion dcrnn-dense --modes eager
    python3 tools/gpu/measure.py --cases train --precisions bf16 --no-calibration --out $OUT
        # only the four training cases (train stands for them), bf16, eager and compiled
    /usr/bin/python3 tools/gpu/measure.py --device cpu --smoke --out /tmp/m   # a check of the
        script itself on tiny sizes, on the CPU (what the test suite runs)
Rows are written as they finish, so a run that is stopped keeps what it measured.

LLM serving rows (a static batch, input = output length, time to first token and per-token
decode, one GPU): `python3 tools/gpu/measure.py --llm [measure_llm.py's options]`, which runs
tools/gpu/measure_llm.py and writes <gpu>-llm.csv.
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
    "lensing-denoise-train": [16], "inversion-train": [128], "dcrnn-sparse-train": [64], "ensemble-5-train": [64],
}
TRAIN_CASES = [c for c in DEFAULT_BATCHES if c.endswith("-train")]
# Names --cases accepts for several cases.
CASE_GROUPS = {"train": TRAIN_CASES, "infer": [c for c in DEFAULT_BATCHES if c not in TRAIN_CASES]}
# torch.compile is measured at one batch per case, cheapest compile first (each takes tens of
# seconds to minutes); lensing-deblend is the same network as lensing-denoise.
# Training steps compile the forward and the backward; ensemble-5-train (every strategy) comes
# last, being the longest to compile and a row the harness does not read (it reads ensembles'
# eager rows only).
COMPILE_BATCH = {"inversion": 128, "lensing-encoder": 4, "lensing-denoise": 1, "dcrnn-dense": 64,
                 "dcrnn-sparse": 64, "lensing": 1, "inversion-train": 128, "lensing-denoise-train": 16,
                 "dcrnn-sparse-train": 64, "ensemble-5-train": 64}


# --------------------------------------------------------------------------------------------
# The workloads' twins at the builders' default sizes (smoke: tiny ones)
# --------------------------------------------------------------------------------------------

class Sizes:
    def __init__(self, smoke: bool):
        self.feats, self.blocks, self.image = (8, 1, 111) if smoke else (256, 16, 111)
        self.crop = 32  # the EDSRs' training crops (lensing.cpp, mode=train)
        self.taus, self.omegas, self.centres, self.hidden = (11, 40, 6, 24) if smoke else (151, 2000, 200, 2000)
        self.sensors, self.nonzeros = (12, 60) if smoke else (207, 1722)
        self.units, self.seq, self.horizon = (4, 2, 2) if smoke else (64, 12, 12)
        self.gp_sensors, self.gp_parts, self.gp_units = (24, 2, 4) if smoke else (11160, 64, 16)


class _SpmmExplicitTranspose(torch.autograd.Function):
    """S @ x with the backward S^T @ grad from a CSR copy of S^T made once: the fallback where
    autograd cannot differentiate torch.sparse.mm of a CSR matrix on this device and dtype."""

    @staticmethod
    def forward(ctx, s, s_t, x):
        ctx.s_t = s_t
        return torch.sparse.mm(s, x)

    @staticmethod
    def backward(ctx, grad):
        return None, None, torch.sparse.mm(ctx.s_t, grad.contiguous())


_SPARSE_AUTOGRAD: Dict[Tuple[str, torch.dtype], bool] = {}


def sparse_autograd_works(device, dtype) -> bool:
    """Whether autograd differentiates torch.sparse.mm(CSR, dense) on `device` in `dtype`."""
    key = (str(device), dtype)
    if key not in _SPARSE_AUTOGRAD:
        try:
            with torch.enable_grad():
                s = torch.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [4.0, 0.0, 5.0]]).to_sparse_csr()
                s = s.to(device=device, dtype=dtype)
                x = torch.ones(3, 2, device=device, dtype=dtype, requires_grad=True)
                torch.sparse.mm(s, x).sum().backward()
                expected = torch.tensor([5.0, 3.0, 7.0]).unsqueeze(1).expand(3, 2)
                _SPARSE_AUTOGRAD[key] = bool(torch.allclose(x.grad.float().cpu(), expected))
        except Exception:
            _SPARSE_AUTOGRAD[key] = False
    return _SPARSE_AUTOGRAD[key]


_SPARSE_COMPILE: Dict[Tuple[str, torch.dtype], bool] = {}


def sparse_compile_works(device, dtype) -> bool:
    """Whether torch.compile runs and differentiates a module whose forward multiplies by a CSR
    matrix it holds (as SparseDCRNN does) on `device` in `dtype`."""
    key = (str(device), dtype)
    if key not in _SPARSE_COMPILE:
        class Probe(nn.Module):
            def __init__(self):
                super().__init__()
                self.w = nn.Parameter(torch.ones(3, 2, device=device, dtype=dtype))
                csr = torch.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [4.0, 0.0, 5.0]]).to_sparse_csr()
                self.supports = [csr.to(device=device, dtype=dtype)]

            def forward(self, x):
                return torch.sparse.mm(self.supports[0], self.w * x).sum()
        try:
            probe = Probe()
            with torch.enable_grad():
                torch.compile(probe)(torch.ones(3, 2, device=device, dtype=dtype)).backward()
            expected = torch.tensor([5.0, 3.0, 7.0]).unsqueeze(1).expand(3, 2)  # S's column sums
            _SPARSE_COMPILE[key] = bool(torch.allclose(probe.w.grad.float().cpu(), expected))
        except Exception:
            _SPARSE_COMPILE[key] = False
    return _SPARSE_COMPILE[key]


class SparseDCRNN(twins.DCRNN):
    """DCRNN with the diffusion as a sparse-dense product (CSR supports), as the builder's
    -p diffusion=sparse and as the original DCRNN code: [N, N] x [N, B*F]. For training,
    PyTorch's autograd differentiates the product (S^T @ grad), unless `explicit_transpose` is
    set (where autograd cannot: sparse_autograd_works())."""

    def __init__(self, supports: Sequence[np.ndarray], batch: int, **kwargs):
        super().__init__(supports, batch, **kwargs)
        self.sparse_supports = [torch.from_numpy(np.asarray(s, dtype=np.float32)).to_sparse_csr() for s in supports]
        self.sparse_supports_t = [torch.from_numpy(np.ascontiguousarray(np.asarray(s, dtype=np.float32).T)).to_sparse_csr()
                                  for s in supports]
        self.explicit_transpose = False
        self.product = self.sparse_product  # or torch.compiler.disable of it: eager_sparse_product()

    def eager_sparse_product(self):
        """torch.compile leaves the sparse products to eager PyTorch (a graph break at each)."""
        self.product = torch.compiler.disable(self.sparse_product)

    def to_device(self, device, dtype):
        self.to(device=device, dtype=dtype)
        self.sparse_supports = [s.to(device=device, dtype=dtype) for s in self.sparse_supports]
        self.sparse_supports_t = [s.to(device=device, dtype=dtype) for s in self.sparse_supports_t]
        return self

    def spmm(self, k: int, flat):  # support k [N, N] x flat [N, C]
        return self.product(k, flat)

    def sparse_product(self, k: int, flat):
        if self.explicit_transpose and torch.is_grad_enabled():
            return _SpmmExplicitTranspose.apply(self.sparse_supports[k], self.sparse_supports_t[k], flat)
        return torch.sparse.mm(self.sparse_supports[k], flat)

    def diffuse(self, k: int, x):  # x [B, N, F]
        b, n, f = x.shape
        flat = x.permute(1, 0, 2).reshape(n, b * f)
        return self.spmm(k, flat).reshape(n, b, f).permute(1, 0, 2)

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
    treats members as more batch. Same kernels as one member, each M times larger. `trainable`:
    the stacked weights are parameters (stacked_parameters()) rather than buffers."""

    def __init__(self, members: List[twins.DCRNN], trainable: bool = False):
        super().__init__()
        first = members[0]
        self.m, self.first = len(members), first
        self.names = [n for n, _ in first.named_parameters()]
        for name in self.names:
            stacked = torch.stack([dict(m.named_parameters())[name].detach() for m in members])
            if trainable:
                self.register_parameter(name.replace(".", "__"), nn.Parameter(stacked.clone()))
            else:
                self.register_buffer(name.replace(".", "__"), stacked)

    def stacked_parameters(self) -> List[nn.Parameter]:
        """The members' stacked weights (not those of `first`, which only holds the shapes and
        the supports)."""
        return [self.p(name) for name in self.names]

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
                    return f.spmm(k, flat).reshape(n, m, b, feats).permute(1, 2, 0, 3)
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
    """One case ready to time: `run()` executes one forward pass on the device (for a training
    case, one training step)."""

    def __init__(self, modules: List[nn.Module], run: Callable[[], object], params: str, kernels_hint: str = "",
                 note: str = ""):
        self.modules, self.run, self.params, self.kernels_hint, self.note = modules, run, params, kernels_hint, note


def move(module: nn.Module, device, dtype, train: bool = False) -> nn.Module:
    """The module on `device` in `dtype` (every parameter and buffer), in eval() or train()."""
    if isinstance(module, SparseDCRNN):
        return module.to_device(device, dtype).train(train)
    return module.to(device=device, dtype=dtype).train(train)


def make_inversion(sz: Sizes, rng) -> twins.InversionNet:
    module = twins.InversionNet(sz.taus, sz.omegas, sz.centres, sz.hidden)
    twins.init_parameters(module, 1)
    with torch.no_grad():  # RBF centres near the inputs, as training leaves them
        module.rbf.centres.copy_(torch.from_numpy(rng.uniform(0, 1, module.rbf.centres.shape).astype(np.float32)))
        module.rbf.scales.copy_(torch.full_like(module.rbf.scales, 0.5))
    return module


def build_case(case: str, batch: int, sz: Sizes, device, dtype, compiled: bool, strategy: str) -> Runnable:
    if case in TRAIN_CASES:
        return build_train_case(case, batch, sz, device, dtype, compiled, strategy)
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
        module = move(make_inversion(sz, rng), device, dtype)
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
# Training steps (workloads/models/TRAINING.md: the papers' losses and optimizers)
# --------------------------------------------------------------------------------------------

EDSR_ADAM = {"lr": 1e-4, "eps": 1e-8}
INVERSION_ADAM = {"lr": 1e-3, "eps": 1e-8}
DCRNN_ADAM = {"lr": 1e-2, "eps": 1e-3}  # the DCRNN paper's
INVERSION_SIGMA, INVERSION_ALPHA = 1e-4, 1.0


def adam(params, lr: float, eps: float) -> torch.optim.Optimizer:
    """PyTorch's Adam as TRAINING.md has it (betas 0.9, 0.999; no weight decay); on CUDA its
    default (foreach) implementation; its moments take the parameters' dtype."""
    return torch.optim.Adam(list(params), lr=lr, betas=(0.9, 0.999), eps=eps, weight_decay=0)


def l1_loss(denoised, image, target):
    return (denoised - target).abs().mean()


def inversion_loss(outputs, e):
    """mean(((E_hat - E) / sigma)^2) + alpha mean over the batch of sum over omega of R log R."""
    r_hat, e_hat = outputs
    chi2 = (((e_hat - e) / INVERSION_SIGMA) ** 2).mean()
    entropy = (r_hat * r_hat.log()).sum(1).mean()
    return chi2 + INVERSION_ALPHA * entropy


def masked_l1(forecast, x, target, mask):
    """DCRNN's masked MAE: mean(|y - t| m) / mean(m), the 0/1 mask an input."""
    return ((forecast - target).abs() * mask).mean() / mask.mean()


def ensemble_masked_l1(forecasts, x, target, mask):
    """The batched ensemble's loss: the sum over members ([M, ...] forecasts) of each member's
    masked L1 against the same target and mask, so each member's gradient is its own."""
    dims = tuple(range(1, forecasts.dim()))
    return (((forecasts - target).abs() * mask).mean(dims) / mask.mean()).sum()


def missing_readings(rng, shape) -> Tuple[np.ndarray, np.ndarray]:
    """A standard-normal target with 20% of its entries exactly 0 (missing readings) and its 0/1
    mask (target != 0), as export_training.py draws DCRNN's."""
    target = rng.standard_normal(shape)
    flat = target.reshape(-1)
    flat[rng.choice(flat.size, int(round(0.2 * flat.size)), replace=False)] = 0.0
    return target.astype(np.float32), (target != 0).astype(np.float32)


class WithLoss(nn.Module):
    """A model and its loss as one module, whose forward(*tensors) returns the loss: the model
    takes the first `inputs` tensors, the loss the model's output and every tensor. What
    torch.compile compiles for a training case."""

    def __init__(self, model: nn.Module, loss: Callable, inputs: int = 1):
        super().__init__()
        self.model, self.loss, self.inputs = model, loss, inputs

    def forward(self, *tensors):
        return self.loss(self.model(*tensors[:self.inputs]), *tensors)


class Trainee:
    """One model's training step: `fn(*tensors)` the loss (compiled or not), its optimizer."""

    def __init__(self, fn: Callable, tensors: Sequence[torch.Tensor], optimizer: torch.optim.Optimizer):
        self.fn, self.tensors, self.optimizer = fn, list(tensors), optimizer

    def step(self):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.fn(*self.tensors)
        loss.backward()
        self.optimizer.step()
        return loss


def training_run(trainees: Sequence[Trainee]) -> Callable[[], object]:
    """One run: each trainee's full step in turn (zero_grad, forward, loss, backward, update),
    with gradients on (the timing loop runs under no_grad)."""
    def run():
        with torch.enable_grad():
            return [t.step() for t in trainees]
    return run


def prepare_compile():
    """A fresh dynamo cache per compiled training row (the cases share WithLoss.forward), and
    room for the recompiles of a graph-broken model (the sparse DCRNN, one per member)."""
    import torch._dynamo
    torch._dynamo.reset()
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(torch._dynamo.config, name):
            setattr(torch._dynamo.config, name, max(64, getattr(torch._dynamo.config, name)))


def sparse_for_training(model: SparseDCRNN, device, dtype, compiled: bool) -> str:
    """Makes the sparse DCRNN trainable on this device and dtype (and under torch.compile if
    `compiled`); returns a note of the fallbacks it needed, if any."""
    notes = []
    if not sparse_autograd_works(device, dtype):
        model.explicit_transpose = True
        notes.append("sparse backward with an explicit CSR S^T (autograd of sparse.mm failed here)")
    if compiled and not sparse_compile_works(device, dtype):
        model.eager_sparse_product()
        notes.append("sparse products left eager (torch.compile of sparse.mm failed here)")
    return "; ".join(notes)


def dcrnn_trainee(sz: Sizes, batch: int, seed: int, supports, device, dtype, compiled: bool,
                  rng) -> Tuple[SparseDCRNN, Trainee, str]:
    """One sparse DCRNN (member `seed`) with its masked L1, inputs from `rng` (x, then target and
    mask: the same data for every member drawn from the same seed) and its Adam."""
    model = move(make_dcrnn(sz, batch, True, seed, supports), device, dtype, train=True)
    note = sparse_for_training(model, device, dtype, compiled)
    x = dcrnn_input(sz, batch, sz.sensors, rng)
    target, mask = missing_readings(rng, (sz.horizon, batch, sz.sensors, 1))
    tensors = [t.to(device=device, dtype=dtype) for t in (x, torch.from_numpy(target), torch.from_numpy(mask))]
    fn = WithLoss(model, masked_l1)
    return model, Trainee(torch.compile(fn) if compiled else fn, tensors, adam(model.parameters(), **DCRNN_ADAM)), note


TRAIN_NOTES = {
    "lensing-denoise-train": "L1; Adam lr 1e-4; 32x32 crops",
    "inversion-train": "chi2/1e-4^2 + R log R; Adam lr 1e-3",
    "dcrnn-sparse-train": "masked L1; Adam lr 1e-2 eps 1e-3",
    "ensemble-5-train": "masked L1 per member; Adam lr 1e-2 eps 1e-3 each",
}


def build_train_case(case: str, batch: int, sz: Sizes, device, dtype, compiled: bool, strategy: str) -> Runnable:
    """One training step of `case` (a *-train case); as build_case, the twins at the builders'
    sizes, all in `dtype`; `compiled`: each model with its loss through torch.compile."""
    rng = np.random.RandomState(0)
    if compiled:
        prepare_compile()
    wrap = (lambda m: torch.compile(m)) if compiled else (lambda m: m)
    note = TRAIN_NOTES[case]

    def tensor(array):
        return torch.from_numpy(np.asarray(array, dtype=np.float32)).to(device=device, dtype=dtype)

    if case == "lensing-denoise-train":
        model = move(_seeded(twins.LensingPipeline("denoise", sz.feats, sz.blocks)), device, dtype, train=True)
        image = rng.uniform(0, 1, (batch, 3, sz.crop, sz.crop))
        target = np.clip(image + 0.05 * rng.standard_normal(image.shape), 0.0, 1.0)
        trainee = Trainee(wrap(WithLoss(model, l1_loss)), [tensor(image), tensor(target)],
                          adam(model.parameters(), **EDSR_ADAM))
        return Runnable([model], training_run([trainee]), f"stage=denoise;mode=train;crop={sz.crop}", note=note)
    if case == "inversion-train":
        model = move(make_inversion(sz, rng), device, dtype, train=True)
        e = tensor(rng.uniform(0, 1, (batch, sz.taus)))
        trainee = Trainee(wrap(WithLoss(model, inversion_loss)), [e], adam(model.parameters(), **INVERSION_ADAM))
        return Runnable([model], training_run([trainee]), "mode=train", note=note)
    if case == "dcrnn-sparse-train":
        model, trainee, extra = dcrnn_trainee(sz, batch, 1, None, device, dtype, compiled, rng)
        return Runnable([model], training_run([trainee]), "diffusion=sparse;mode=train",
                        note="; ".join(n for n in (note, extra) if n))
    if case.startswith("ensemble-"):
        members = int(case.split("-")[1])
        params = f"members={members};base=dcrnn;mode=train"
        supports = road_supports(sz.sensors, sz.nonzeros, 1, True)
        if strategy == "batched":
            models = [make_dcrnn(sz, batch, True, m, supports) for m in range(members)]
            x = dcrnn_input(sz, batch, sz.sensors, rng)
            target, mask = missing_readings(rng, (sz.horizon, batch, sz.sensors, 1))
            batched = BatchedEnsemble(models, trainable=True)
            batched.first = move(batched.first, device, dtype, train=True)
            batched = batched.to(device=device, dtype=dtype).train()
            extra = sparse_for_training(batched.first, device, dtype, compiled)
            # One Adam over the stacked weights: Adam is elementwise, so this is each member's.
            trainee = Trainee(wrap(WithLoss(batched, ensemble_masked_l1)), [tensor(x), tensor(target), tensor(mask)],
                              adam(batched.stacked_parameters(), **DCRNN_ADAM))
            return Runnable([batched], training_run([trainee]), params,
                            note="; ".join(n for n in (note + "; summed loss", extra) if n))
        built = [dcrnn_trainee(sz, batch, m, supports, device, dtype, compiled, np.random.RandomState(0))
                 for m in range(members)]
        return Runnable([b[0] for b in built], training_run([b[1] for b in built]), params,
                        note="; ".join(n for n in (note, built[0][2]) if n))
    raise ValueError(f"unknown training case {case!r}")


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
                       rounds: int, barrier, queue, compiled: bool = False):
    """One member of a concurrent ensemble in its own process: build, warm up, wait for the
    others, run `rounds` forward passes (for a *-train case, training steps), report its finish
    time."""
    global SMOKE
    SMOKE = smoke
    try:
        device, dtype = torch.device(device_name), getattr(torch, dtype_name)
        sz = Sizes(smoke)
        supports = road_supports(sz.sensors, sz.nonzeros, 1, True)
        if case in TRAIN_CASES:
            if compiled:
                prepare_compile()
            _, trainee, _ = dcrnn_trainee(sz, batch, rank, supports, device, dtype, compiled, np.random.RandomState(0))
            run = training_run([trainee])
        else:
            model = move(make_dcrnn(sz, batch, True, rank, supports), device, dtype)
            fn = torch.compile(model) if compiled else model
            x = dcrnn_input(sz, batch, sz.sensors, np.random.RandomState(0)).to(device=device, dtype=dtype)

            def run():
                return fn(x)
        with torch.no_grad():
            for _ in range(2):
                run()
            sync(device)
            barrier.wait()
            start = time.time()
            for _ in range(rounds):
                run()
            sync(device)
        queue.put((rank, start, time.time(), ""))
    except Exception as error:  # tell the parent, and release the others from the barrier
        barrier.abort()
        queue.put((rank, 0.0, 0.0, f"{type(error).__name__}: {error}"))


def time_concurrent(case: str, batch: int, members: int, smoke: bool, device, dtype, rounds: int,
                    compiled: bool = False) -> List[float]:
    """Wall milliseconds per round of `members` processes each running one forward pass (for a
    *-train case, one training step)."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(members + 1), ctx.Queue()
    dtype_name = str(dtype).replace("torch.", "")
    procs = [ctx.Process(target=_concurrent_member,
                         args=(r, case, batch, smoke, str(device), dtype_name, rounds, barrier, queue, compiled))
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
                        help="cases to time (default: all): " + ", ".join(DEFAULT_BATCHES)
                        + "; or train (the *-train cases: one training step each), infer (the others)")
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"], choices=["bf16", "fp32"])
    parser.add_argument("--modes", nargs="+", default=["eager", "compile"], choices=["eager", "compile"])
    parser.add_argument("--compile-precisions", nargs="+", default=["bf16"], choices=["bf16", "fp32"],
                        help="precisions measured under torch.compile (default bf16, the comparison's)")
    parser.add_argument("--batches", type=int, nargs="+", help="override every case's batches")
    parser.add_argument("--reps", type=int, default=20, help="timed runs per row at most (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timing per row before stopping early")
    parser.add_argument("--no-concurrent", action="store_true", help="skip the one-process-per-member ensembles")
    parser.add_argument("--no-compile-ensembles", action="store_true",
                        help="skip torch.compile rows of ensemble-5-train (the harness reads ensembles' eager rows)")
    parser.add_argument("--no-calibration", action="store_true", help="skip the calib-* rows")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (a check of the script only)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for checking the script")
    parser.add_argument("--profile", action="store_true", help="print each eager row's costliest kernels")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "gpu", help="folder for <gpu>.csv")
    parser.add_argument("--name", help="file name instead of the GPU's (h200, a100, ...)")
    return parser.parse_args(argv)


def expand_cases(cases: Sequence[str]) -> List[str]:
    """The case names, groups (train, infer) replaced by their cases, each name once."""
    out: List[str] = []
    for name in cases:
        for case in CASE_GROUPS.get(name, [name]):
            if case not in out:
                out.append(case)
    return out


def make_plan(args, can_compile: bool = True) -> List[Tuple[str, str, str, int, str]]:
    """(mode, case, precision, batch, strategy) of every row to measure, in order: every eager
    row first (compiled rows take longest and may be cut off), then the compiled ones in
    COMPILE_BATCH's order, at one batch per case (unless --batches)."""
    plan = []
    for mode in args.modes:
        cases = args.cases
        if mode == "compile":
            if not can_compile:
                continue
            cases = [c for c in COMPILE_BATCH if c in args.cases
                     and not (args.no_compile_ensembles and c.startswith("ensemble-"))]
        for case in cases:
            batches = args.batches or (DEFAULT_BATCHES[case] if mode == "eager" else [COMPILE_BATCH[case]])
            precisions = args.precisions if mode == "eager" else [p for p in args.compile_precisions]
            for precision in precisions:
                for batch in batches:
                    strategies = ["single"]
                    if case.startswith("ensemble-"):
                        strategies = ["sequential", "batched"] + ([] if args.no_concurrent else ["concurrent"])
                    plan += [(mode, case, precision, batch, s) for s in strategies]
    return plan


def main(argv=None) -> int:
    global SMOKE
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--llm" in argv:  # LLM serving rows: tools/gpu/measure_llm.py with the remaining options
        argv.remove("--llm")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import measure_llm  # noqa: E402
        return measure_llm.main(argv)
    args = parse_args(argv)
    SMOKE = args.smoke
    unknown = [c for c in args.cases if c not in DEFAULT_BATCHES and c not in CASE_GROUPS]
    if unknown:
        print(f"measure.py: unknown case(s) {', '.join(unknown)}; expected: {', '.join(DEFAULT_BATCHES)} "
              f"or {', '.join(CASE_GROUPS)}", file=sys.stderr)
        return 2
    args.cases = expand_cases(args.cases)
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
            print(f"  {case:21} {params:28} b={batch:<4} {precision} {mode:7} {strategy:10} {shown}"
                  f"{'  kernels ' + str(kernels) if kernels not in (-1, '') else ''}  {note}", flush=True)

        if not args.no_calibration:
            for case, note, times, figure, _ in calibration(device, ["bfloat16", "float32"], args.smoke):
                emit(case, "", 1, "bf16" if note == "bfloat16" else "fp32", "eager", "single", 1, times, -1, figure)
        can_compile = hasattr(torch, "compile")
        if "compile" in args.modes and not can_compile:
            print("  (this PyTorch has no torch.compile: compiled rows skipped)")
        for mode, case, precision, batch, strategy in make_plan(args, can_compile):
            dtype = torch.bfloat16 if precision == "bf16" else torch.float32
            members = int(case.split("-")[1]) if case.startswith("ensemble-") else 1
            training = case in TRAIN_CASES
            try:
                if strategy == "concurrent":
                    rounds = 2 if args.smoke else 10
                    times = time_concurrent(case, batch, members, args.smoke, device, dtype, rounds, mode == "compile")
                    note = f"{members} processes, {rounds} rounds"
                    emit(case, f"members={members};base=dcrnn" + (";mode=train" if training else ""), batch, precision,
                         mode, strategy, members, times, -1, note + (f"; {TRAIN_NOTES[case]}" if training else ""))
                    continue
                job = build_case(case, batch, sz, device, dtype, mode == "compile", strategy)
                times = time_runs(job.run, device, args.warmup, args.reps, args.budget)
                kernels = count_kernels(job.run, device, args.profile) if mode == "eager" else -1
                emit(case, job.params, batch, precision, mode, strategy, members, times, kernels, job.note)
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
