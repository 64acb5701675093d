#!/usr/bin/python3
"""PyTorch twins of rdasim's built-in science workloads (workloads/{lensing,inversion,dcrnn}.cpp).

Each twin mirrors its C++ builder op for op (the same arithmetic, so FLOP counts agree when both
are loaded by `rdasim graph`) and parameter for parameter: a parameter's state-dict name with
every '.' replaced by '/' is the builder's tensor name, and its shape is the builder's shape
(PyTorch layouts: Linear weight [out, in], Conv weight [out, in, k, k]; see workloads/layers.h).
Tensors the builders make constants (BatchNorm running statistics, the Laplace kernel, the
diffusion supports, the zero states) are buffers here; `constant_names()` lists them.

    EDSR              layers: edsr() in lensing.cpp (one EDSR at scale 1)
    LensingPipeline   build_lensing(): stage full | denoise | deblend | encoder
    InversionNet      build_inversion()
    DCRNN             build_dcrnn() with -p diffusion=dense (dense [N, N] supports, MatMul)

Needs torch (Debian's python3-torch, torch 1.13); export_workloads.py writes them as ONNX.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

__all__ = [
    "EDSR", "LensingEncoder", "VibHeads", "LensingPipeline", "InversionNet", "DCRNN",
    "laplace_kernel", "generate_road_network", "diffusion_supports", "dense", "constant_names",
    "init_parameters",
]


# --------------------------------------------------------------------------------------------
# Lensing (lensing.cpp)
# --------------------------------------------------------------------------------------------

class EdsrBlock(nn.Module):
    """[conv, ReLU, conv, x0.1, + input], 3x3 convs with padding 1 and bias."""

    def __init__(self, feats: int):
        super().__init__()
        self.conv1 = nn.Conv2d(feats, feats, 3, padding=1)
        self.conv2 = nn.Conv2d(feats, feats, 3, padding=1)

    def forward(self, h):
        c1 = self.conv1(h)
        c2 = self.conv2(torch.relu(c1))
        return c2 * 0.1 + h  # layers::scale (Mul by a scalar constant), then Add


class EDSR(nn.Module):
    """EDSR at scale 1: head 3->F, `blocks` residual blocks block0.., body_end F->F plus the
    head's output (global skip), tail F->3."""

    def __init__(self, feats: int, blocks: int):
        super().__init__()
        self.head = nn.Conv2d(3, feats, 3, padding=1)
        self.blocks = blocks
        for i in range(blocks):
            self.add_module(f"block{i}", EdsrBlock(feats))
        self.body_end = nn.Conv2d(feats, feats, 3, padding=1)
        self.tail = nn.Conv2d(feats, 3, 3, padding=1)

    def forward(self, x):
        head = self.head(x)
        h = head
        for i in range(self.blocks):
            h = getattr(self, f"block{i}")(h)
        body = self.body_end(h)
        return self.tail(body + head)


# (in, out, kernel, stride, pad) of encoder convs conv1..conv5, as in encoder_and_heads().
ENCODER_CONVS = [(3, 64, 4, 2, 1), (64, 64, 4, 2, 1), (64, 128, 4, 3, 1), (128, 128, 4, 3, 1), (128, 256, 3, 1, 0)]
CODE_DIM = 10  # z: 10 means and 10 log sigmas
HEAD_WIDTHS = [10, 15, 15, 10, 3]


class LensingEncoder(nn.Module):
    """conv_i -> BatchNorm conv_i_bn -> ReLU for i = 1..5, then the 1x1 conv `code` 256 -> 20."""

    def __init__(self):
        super().__init__()
        for i, (cin, cout, k, s, p) in enumerate(ENCODER_CONVS, start=1):
            self.add_module(f"conv{i}", nn.Conv2d(cin, cout, k, stride=s, padding=p))
            self.add_module(f"conv{i}_bn", nn.BatchNorm2d(cout))
        self.code = nn.Conv2d(256, 2 * CODE_DIM, 1)

    def forward(self, x):
        h = x
        for i in range(1, len(ENCODER_CONVS) + 1):
            h = torch.relu(getattr(self, f"conv{i}_bn")(getattr(self, f"conv{i}")(h)))
        return self.code(h)


class VibHeads(nn.Module):
    """z = mu + exp(log sigma) * eps; detection = sigmoid(detect(z)); parameters: the tanh MLP
    model1..model4 (10 -> 15 -> 15 -> 10 -> 3)."""

    def __init__(self):
        super().__init__()
        self.detect = nn.Linear(CODE_DIM, 1)
        for i in range(4):
            self.add_module(f"model{i + 1}", nn.Linear(HEAD_WIDTHS[i], HEAD_WIDTHS[i + 1]))

    def forward(self, code, eps):
        flat = torch.flatten(code, 1)
        mu, log_sigma = torch.split(flat, [CODE_DIM, CODE_DIM], dim=1)
        z = mu + torch.exp(log_sigma) * eps
        detection = torch.sigmoid(self.detect(z))
        m = z
        for i in range(4):
            m = getattr(self, f"model{i + 1}")(m)
            if i < 3:
                m = torch.tanh(m)
        return detection, m


class LensingPipeline(nn.Module):
    """build_lensing(): stage 'denoise' or 'deblend' is one EDSR of that name (image -> image);
    'encoder' is the VIB encoder and heads ((image, eps) -> (detection, parameters)); 'full' is
    denoise -> deblend -> encoder and heads."""

    STAGES = ("full", "denoise", "deblend", "encoder")

    def __init__(self, stage: str = "full", feats: int = 256, blocks: int = 16):
        super().__init__()
        if stage not in self.STAGES:
            raise ValueError(f"stage {stage!r}: expected one of {', '.join(self.STAGES)}")
        self.stage = stage
        if stage in ("denoise", "deblend"):
            self.add_module(stage, EDSR(feats, blocks))
            return
        if stage == "full":
            self.denoise = EDSR(feats, blocks)
            self.deblend = EDSR(feats, blocks)
        self.encoder = LensingEncoder()
        self.vib = VibHeads()

    def forward(self, image, eps: Optional[torch.Tensor] = None):
        if self.stage in ("denoise", "deblend"):
            return getattr(self, self.stage)(image)
        clean = self.deblend(self.denoise(image)) if self.stage == "full" else image
        return self.vib(self.encoder(clean), eps)


# --------------------------------------------------------------------------------------------
# Inversion (inversion.cpp)
# --------------------------------------------------------------------------------------------

TAU_STEP = 5e-4    # MeV^-1
OMEGA_STEP = 1.0   # MeV


def laplace_kernel(taus: int, omegas: int) -> np.ndarray:
    """K[i][j] = exp(-omega_j tau_i) d_omega, [taus, omegas], float64 (as the C++ computes it)."""
    tau = TAU_STEP * np.arange(taus, dtype=np.float64)
    omega = OMEGA_STEP * (np.arange(omegas, dtype=np.float64) + 0.5)
    return np.exp(-omega[None, :] * tau[:, None]) * OMEGA_STEP


class Rbf(nn.Module):
    """out_j = exp(-|E - c_j|^2 s_j^2)."""

    def __init__(self, centres: int, taus: int):
        super().__init__()
        self.centres = nn.Parameter(torch.zeros(centres, taus))
        self.scales = nn.Parameter(torch.zeros(centres))

    def forward(self, e):
        diff = e.unsqueeze(1) - self.centres
        dist2 = (diff * diff).sum(2)
        scaled = dist2 * (self.scales * self.scales)
        return torch.exp(-scaled)


class InversionNet(nn.Module):
    """E(tau) [B, taus] -> RBF -> fc1 + ReLU -> fc2 + exp -> R / (R . K[0]) -> R_hat K^T.
    Returns (R_hat [B, omegas], E_hat [B, taus])."""

    def __init__(self, taus: int = 151, omegas: int = 2000, centres: int = 200, hidden: int = 2000):
        super().__init__()
        self.rbf = Rbf(centres, taus)
        self.fc1 = nn.Linear(centres, hidden)
        self.fc2 = nn.Linear(hidden, omegas)
        k = laplace_kernel(taus, omegas)
        self.register_buffer("laplace_row0", torch.from_numpy(np.ascontiguousarray(k[0:1, :].T)).float())
        self.register_buffer("laplace_kernel_t", torch.from_numpy(np.ascontiguousarray(k.T)).float())

    def forward(self, e):
        h = torch.relu(self.fc1(self.rbf(e)))
        r = torch.exp(self.fc2(h))
        e0 = r @ self.laplace_row0
        r_hat = r / e0
        return r_hat, r_hat @ self.laplace_kernel_t


# --------------------------------------------------------------------------------------------
# DCRNN (dcrnn.cpp, road_network.cpp)
# --------------------------------------------------------------------------------------------

def _splitmix64(state: int):
    """road_network.cpp's Rng: yields uniform doubles in [0, 1)."""
    mask = (1 << 64) - 1
    while True:
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        yield float((z ^ (z >> 31)) >> 11) * 2.0 ** -53


def generate_road_network(sensors: int, nonzeros: int = 0, seed: int = 1) -> Dict[Tuple[int, int], float]:
    """generate_road_network() of road_network.cpp, by brute force rather than a grid: sensors
    uniform in a square of unit density, each linked to its 12 nearest with weight
    exp(-d^2 / sigma^2), weights under 0.1 dropped, self loops of weight 1, then the strongest
    links kept until there are `nonzeros`. Returns {(from, to): weight}."""
    n = sensors
    target = nonzeros if nonzeros > 0 else int(round(n * 1722.0 / 207.0))
    k = min(12, n - 1)
    if n < 2 or not n <= target <= n + n * k:
        raise ValueError(f"{n} sensors can have {n} to {n + n * k} nonzeros, not {target}")
    rng = _splitmix64(seed)
    side = math.sqrt(n)
    xs, ys = [], []
    for _ in range(n):
        xs.append(side * next(rng))
        ys.append(side * next(rng))
    pairs = []
    for i in range(n):
        near = sorted(((xs[j] - xs[i]) ** 2 + (ys[j] - ys[i]) ** 2, j) for j in range(n) if j != i)
        pairs += [(d2, i, j) for d2, j in near[:k]]
    sigma2 = max(sum(p[0] for p in pairs) / len(pairs), 1e-12)
    candidates = [(math.exp(-d2 / sigma2), i, j) for d2, i, j in pairs]
    candidates = [c for c in candidates if c[0] >= 0.1]
    if len(candidates) < target - n:
        raise ValueError(f"only {len(candidates)} links pass the 0.1 threshold; {target} nonzeros cannot be reached")
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    links = {(i, i): 1.0 for i in range(n)}
    # As road_network.cpp: each sensor's 4 strongest links first, then rows under 9 links,
    # then any row, strongest first each time, until the budget is spent.
    row_links = [0] * n
    taken = [False] * len(candidates)
    budget = target - n
    for allowed in (lambda count: count < 4, lambda count: count < 9, lambda count: True):
        for c, (w, i, j) in enumerate(candidates):
            if budget == 0:
                break
            if taken[c] or not allowed(row_links[i]):
                continue
            taken[c] = True
            row_links[i] += 1
            budget -= 1
            links[(i, j)] = w
    return links


def dense(links: Dict[Tuple[int, int], float], n: int) -> np.ndarray:
    w = np.zeros((n, n), dtype=np.float64)
    for (i, j), v in links.items():
        w[i, j] = v
    return w


def diffusion_supports(w: np.ndarray, dual: bool = True) -> List[np.ndarray]:
    """DCRNN's random-walk supports of a weighted adjacency W (float64): S1 = (D_O^-1 W)^T and,
    for dual_random_walk, S2 = (D_I^-1 W^T)^T; D_O the row sums, D_I the column sums."""
    out_degree, in_degree = w.sum(1), w.sum(0)
    supports = [(w / out_degree[:, None]).T]
    if dual:
        supports.append((w.T / in_degree[:, None]).T)
    return [np.ascontiguousarray(s) for s in supports]


class GConv(nn.Module):
    """The weights of one diffusion convolution: weight [(F) * M, out], bias [out]."""

    def __init__(self, rows: int, out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(rows, out))
        self.bias = nn.Parameter(torch.zeros(out))


class DCGRUCell(nn.Module):
    def __init__(self, input_dim: int, units: int, matrices: int):
        super().__init__()
        rows = (input_dim + units) * matrices
        self.gconv_ru = GConv(rows, 2 * units)
        self.gconv_c = GConv(rows, units)


class DCRNN(nn.Module):
    """Seq2seq DCGRU (dense diffusion): x [seq, B, N, 2] -> forecast [horizon, B, N, 1]; the
    encoder runs over however many steps x has.

    `supports`: dense [N, N] float arrays (buffers support1, support2, ...). The zero initial
    state and the decoder's zero first input are the buffers initial_state [B, N, U] and
    go [B, N, 1], as the builder's constants (so the graph needs no ConstantOfShape); hence a
    twin is built for one batch size."""

    def __init__(self, supports: Sequence[np.ndarray], batch: int, units: int = 64, horizon: int = 12,
                 diffusion_steps: int = 2, layers: int = 2, input_dim: int = 2, output_dim: int = 1):
        super().__init__()
        self.batch, self.units, self.horizon = batch, units, horizon
        self.steps, self.layers = diffusion_steps, layers
        self.sensors = int(supports[0].shape[0])
        self.num_supports = len(supports)
        matrices = self.num_supports * diffusion_steps + 1
        self.encoder = nn.Module()
        self.decoder = nn.Module()
        for l in range(layers):
            self.encoder.add_module(f"layer{l}", DCGRUCell(input_dim if l == 0 else units, units, matrices))
            self.decoder.add_module(f"layer{l}", DCGRUCell(output_dim if l == 0 else units, units, matrices))
        self.projection = nn.Linear(units, output_dim)
        for k, s in enumerate(supports):
            self.register_buffer(f"support{k + 1}", torch.from_numpy(np.asarray(s, dtype=np.float32)))
        self.register_buffer("initial_state", torch.zeros(batch, self.sensors, units))
        self.register_buffer("go", torch.zeros(batch, self.sensors, output_dim))

    def gconv(self, inputs, state, g: GConv):
        x0 = torch.cat([inputs, state], 2)
        copies = [x0]
        for k in range(self.num_supports):
            s = getattr(self, f"support{k + 1}")
            prev, cur = x0, s @ x0
            copies.append(cur)
            for _ in range(2, self.steps + 1):
                nxt = (s @ cur) * 2.0 - prev
                copies.append(nxt)
                prev, cur = cur, nxt
        # [B, N, F, M], the copies innermost (weight row f * M + m), as [B, N, F * M]
        stack = torch.stack(copies, 3).reshape(self.batch, self.sensors, -1)
        return stack @ g.weight + g.bias

    def cell(self, x, h, c: DCGRUCell):
        ru = torch.sigmoid(self.gconv(x, h, c.gconv_ru))
        r, u = torch.split(ru, [self.units, self.units], 2)
        cand = torch.tanh(self.gconv(x, r * h, c.gconv_c))
        return cand + u * (h - cand)  # u H + (1 - u) C

    def forward(self, x):
        state = [self.initial_state] * self.layers
        for t in range(x.shape[0]):
            inp = x[t]
            for l in range(self.layers):
                state[l] = self.cell(inp, state[l], getattr(self.encoder, f"layer{l}"))
                inp = state[l]
        wt = self.projection.weight.t()
        inp = self.go
        outputs = []
        for _ in range(self.horizon):
            for l in range(self.layers):
                state[l] = self.cell(inp, state[l], getattr(self.decoder, f"layer{l}"))
                inp = state[l]
            inp = inp @ wt + self.projection.bias
            outputs.append(inp)
        return torch.stack(outputs, 0)


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------

def constant_names(module: nn.Module) -> List[str]:
    """Names of the module's floating buffers (the builder's constants), in state-dict order."""
    return [name for name, b in module.named_buffers() if b.is_floating_point()]


def init_parameters(module: nn.Module, seed: int) -> None:
    """Seeded, reasonable non-zero values for every parameter and buffer (but zero states):
    weights and biases uniform in +-1/sqrt(fan_in) (fan_in of the weight: prod(shape[1:]) for
    PyTorch layouts, rows for DCRNN's [rows, out] weights); BatchNorm weight in [0.8, 1.2], bias
    N(0, 0.1), running_mean N(0, 0.1), running_var in [0.5, 1.5]. The RBF centres and scales of
    InversionNet are set by the caller (they depend on the data)."""
    rng = np.random.RandomState(seed)
    modules = dict(module.named_modules())
    with torch.no_grad():
        for name, p in module.named_parameters():
            owner_name, _, leaf = name.rpartition(".")
            owner = modules[owner_name]
            if isinstance(owner, nn.modules.batchnorm._BatchNorm):
                values = rng.uniform(0.8, 1.2, p.shape) if leaf == "weight" else rng.standard_normal(p.shape) * 0.1
            elif isinstance(owner, Rbf):
                values = rng.uniform(0.5, 1.5, p.shape)
            else:
                w = owner.weight
                fan_in = w.shape[0] if isinstance(owner, GConv) else int(np.prod(w.shape[1:]))
                bound = 1.0 / math.sqrt(fan_in)
                values = rng.uniform(-bound, bound, p.shape)
            p.copy_(torch.from_numpy(np.asarray(values, dtype=np.float32)))
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.from_numpy((rng.standard_normal(m.num_features) * 0.1).astype(np.float32)))
                m.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, m.num_features).astype(np.float32)))
