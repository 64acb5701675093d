#!/usr/bin/python3
"""Export small PyTorch models to ONNX with golden test data for rdasim's functional reference.

Why: `rdasim check` runs a model through rdasim's functional (numerical) reference and compares
the result with expected outputs. ONNX's own backend suite covers single ops; these cases cover
whole models as PyTorch exports them (the node patterns, attribute forms and opsets seen in the
wild), plus two kinds PyTorch cannot write as single nodes: Gelu (built here with onnx.helper)
and rdasim's own SpMM (a YAML graph).

Ground truth: each model is exported in float32, but its expected outputs come from running the
same PyTorch module in float64 (`module.double()` on the float32 inputs widened to float64) and
rounding the result to float32 once. The golden data thus carries no float32 accumulation error of
its own, and a comparison measures rdasim's error alone.

Layout (that of ONNX's backend test suite, e.g. Debian's libonnx-testdata):
    <out>/<case>/model.onnx                    (or model.yaml for rdasim's own ops)
    <out>/<case>/test_data_set_0/input_K.pb    graph inputs that are not initializers, in order
    <out>/<case>/test_data_set_0/output_K.pb   graph outputs, in order
Each .pb is one serialized onnx.TensorProto. <out>/README.md, the index, is written too.

The files are committed, so CI and `rdasim check` need neither torch nor onnx. To regenerate
them, with Debian's interpreter and packages (`apt-get install python3-torch python3-onnx`;
tested with torch 1.13 and onnx 1.12):
    /usr/bin/python3 workloads/python/export_golden.py
    /usr/bin/python3 workloads/python/export_golden.py --check   # are the committed files current?
Everything is seeded and single-threaded: re-running writes byte-identical files.
"""

from __future__ import annotations  # annotations name numpy types; numpy may be missing

import argparse
import copy
import dataclasses
import hashlib
import io
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

try:
    import numpy as np
except ImportError:  # reported by main()
    np = None

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "workloads" / "models" / "golden"
SCRIPT_REL = "workloads/python/export_golden.py"

# The op kinds rdasim imports (`rdasim ops`); together the cases must contain every one, and no
# case may contain any other. Gelu and SpMM come from the two hand-built cases.
SUPPORTED_OPS = [
    "Conv", "ConvTranspose", "MatMul", "Gemm", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp",
    "Log", "Neg", "Abs", "Reciprocal", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softplus", "Erf",
    "Clip", "Softmax", "LogSoftmax", "LayerNormalization", "BatchNormalization", "MaxPool",
    "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Transpose", "Concat", "Split",
    "Slice", "Gather", "Squeeze", "Unsqueeze", "Expand", "ReduceMean", "ReduceSum", "ReduceMax",
    "Identity", "Constant", "Shape", "Cast", "Where", "GRU", "LSTM", "Gelu", "SpMM",
]


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    name: str
    description: str
    opset: int
    # Returns (module, inputs, input names, output names); called after seeding.
    build: Callable
    # False keeps PyTorch's shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape).
    fold_constants: bool = True
    # Exported with a symbolic batch axis (so PyTorch cannot fold x.size(0) away), then pinned
    # back to the concrete batch in the graph's input and output declarations.
    dynamic_batch: bool = False
    kind: str = "torch"  # torch | onnx (built with onnx.helper) | yaml


def _randn(rng: np.random.RandomState, *shape: int, scale: float = 1.0):
    import torch
    return torch.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32))


def _randomize_batchnorm(bn, rng: np.random.RandomState) -> None:
    """Non-trivial running statistics and affine parameters, so eval-mode BN does something."""
    import torch
    n = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.from_numpy((rng.standard_normal(n) * 0.5).astype(np.float32)))
        bn.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, n).astype(np.float32)))
        bn.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, n).astype(np.float32)))
        bn.bias.copy_(torch.from_numpy((rng.standard_normal(n) * 0.2).astype(np.float32)))


def build_mlp_gemm(rng):
    import torch
    from torch import nn

    class MlpGemm(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(16, 32)  # Gemm, transB=1
            self.fc2 = nn.Linear(32, 10)
            self.w3 = nn.Parameter(torch.randn(10, 6) * 0.3)
            self.b3 = nn.Parameter(torch.randn(6) * 0.1)

        def forward(self, x):
            h = torch.relu(self.fc1(x))
            h = torch.tanh(self.fc2(h))
            z = torch.addmm(self.b3, h, self.w3, beta=0.5, alpha=2.0)  # Gemm alpha=2, beta=0.5
            return torch.log_softmax(z, dim=-1)

    return MlpGemm(), [_randn(rng, 2, 16)], ["x"], ["log_probs"]


def build_conv2d_block(rng):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Conv2dBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4, bias=False)
            # BN after an activation: PyTorch would fold a BN that follows a Conv into it.
            self.bn = nn.BatchNorm2d(8)
            self.conv3 = nn.Conv2d(8, 4, 1)
            self.pool = nn.AdaptiveAvgPool2d(1)  # GlobalAveragePool
            self.fc = nn.Linear(4, 5)

        def forward(self, x):
            h = F.leaky_relu(self.conv1(x), 0.1)
            h = self.bn(F.leaky_relu(self.conv2(h), 0.2)) + h
            h = torch.relu(self.conv3(h))
            return self.fc(torch.flatten(self.pool(h), 1))

    m = Conv2dBlock()
    _randomize_batchnorm(m.bn, rng)
    return m, [_randn(rng, 2, 3, 16, 16)], ["image"], ["logits"]


def build_conv1d_dilated(rng):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Conv1dDilated(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(4, 8, 5, stride=2, padding=4, dilation=2)
            self.c2 = nn.Conv1d(8, 8, 3, padding=1, groups=8)  # depthwise
            self.c3 = nn.Conv1d(8, 6, 3, groups=2)

        def forward(self, x):
            h = torch.relu(self.c1(x))
            h = F.softplus(self.c2(h))
            h = torch.clamp(self.c3(h), 0.0, 1.5)  # Clip with min and max
            pooled = F.avg_pool1d(h, 3, stride=2, padding=1, count_include_pad=False)
            return pooled, h.mean(dim=-1)

    return Conv1dDilated(), [_randn(rng, 2, 4, 32)], ["signal"], ["pooled", "channel_mean"]


def build_deconv(rng):
    import torch
    from torch import nn

    class Deconv(nn.Module):
        def __init__(self):
            super().__init__()
            self.up1 = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
            self.up2 = nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1, dilation=2)

        def forward(self, x):
            return torch.sigmoid(self.up2(torch.relu(self.up1(x))))

    return Deconv(), [_randn(rng, 2, 4, 5, 5)], ["latent"], ["image"]


def build_pooling(rng):
    import torch.nn.functional as F
    from torch import nn

    class Pooling(nn.Module):
        def forward(self, x):
            mx = F.max_pool2d(x, 3, stride=2, padding=1)
            avg = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            ceil = F.max_pool2d(x, 2, stride=2, ceil_mode=True)
            dilated = F.max_pool2d(x, 3, stride=1, dilation=2)
            return mx + avg - ceil, dilated, F.adaptive_avg_pool2d(x, 1)

    return Pooling(), [_randn(rng, 2, 4, 15, 15)], ["x"], ["mixed", "dilated", "global"]


def build_gru_seq(rng):
    from torch import nn

    class GruSeq(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(6, 8, num_layers=2, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x, h0):
            seq, hn = self.gru(x, h0)
            return self.head(seq[:, -1]), hn

    # h0 is an input: left out, PyTorch would build zeros with ConstantOfShape.
    return GruSeq(), [_randn(rng, 2, 5, 6), _randn(rng, 2, 2, 8, scale=0.5)], ["x", "h0"], ["y", "hn"]


def build_lstm_bidir(rng):
    from torch import nn

    class LstmBidir(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(5, 6, bidirectional=True)  # sequence first
            self.proj = nn.Linear(12, 4)  # on a 3-D input: MatMul + Add

        def forward(self, x, h0, c0):
            seq, (hn, cn) = self.lstm(x, (h0, c0))
            return self.proj(seq), hn, cn

    inputs = [_randn(rng, 7, 2, 5), _randn(rng, 2, 2, 6, scale=0.5), _randn(rng, 2, 2, 6, scale=0.5)]
    return LstmBidir(), inputs, ["x", "h0", "c0"], ["y", "hn", "cn"]


def build_layernorm_attention(rng):
    import torch
    from torch import nn

    class LayerNormAttention(nn.Module):
        """A pre-norm transformer block, two heads of 8."""

        def __init__(self):
            super().__init__()
            self.heads, self.head_dim, self.dim = 2, 8, 16
            self.ln1 = nn.LayerNorm(16)
            self.qkv = nn.Linear(16, 48)
            self.proj = nn.Linear(16, 16)
            self.ln2 = nn.LayerNorm(16)
            self.ff1 = nn.Linear(16, 32)
            self.act = nn.GELU()  # exported as Div, Erf, Add, Mul
            self.ff2 = nn.Linear(32, 16)

        def forward(self, x):
            b, t = x.size(0), x.size(1)  # dynamic: Shape -> Gather
            q, k, v = self.qkv(self.ln1(x)).split(self.dim, dim=-1)
            q = q.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)
            k = k.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)
            v = v.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)
            att = torch.softmax(q @ k.transpose(-2, -1) * self.head_dim ** -0.5, dim=-1)
            o = (att @ v).transpose(1, 2).reshape(b, t, self.dim)
            x = x + self.proj(o)
            return x + self.ff2(self.act(self.ff1(self.ln2(x))))

    return LayerNormAttention(), [_randn(rng, 2, 6, 16)], ["tokens"], ["out"]


def build_shape_folding_view(rng):
    import torch
    from torch import nn

    class ShapeFoldingView(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(4 * 4 * 4, 5)

        def forward(self, x):
            h = self.pool(torch.relu(self.conv(x)))
            flat = h.view(h.size(0), -1)  # Shape -> Gather -> Unsqueeze -> Concat -> Reshape
            per_channel = h.reshape(h.size(0), h.size(1), -1).amax(-1)
            return self.fc(flat), per_channel

    return ShapeFoldingView(), [_randn(rng, 2, 2, 8, 8)], ["x"], ["logits", "channel_max"]


def build_elementwise_math(rng):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class ElementwiseMath(nn.Module):
        def forward(self, a, b, mask):
            pos = torch.abs(b) + 0.5
            y = a - b
            y = y + a * b
            y = y + a / pos
            y = y + torch.pow(pos, 1.5)  # Pow with a float exponent
            y = y + torch.sqrt(pos)
            y = y + torch.exp(-a)
            y = y + torch.log(pos)
            y = y + torch.reciprocal(pos)
            y = y + torch.erf(a)
            y = y + F.softplus(b)
            y = y + torch.clamp(a, -0.5, 0.75)
            y = y * torch.sigmoid(b) + torch.tanh(a)
            y = y + F.leaky_relu(b, 0.05)
            chosen = torch.where(mask.bool(), a / pos, -b)  # condition: Cast to bool
            # a * 4 is exact in float32 and float64, so truncation toward zero agrees.
            truncated = (a * 4.0).to(torch.int64).to(a.dtype)
            return y, chosen, truncated

    mask = torch.from_numpy((rng.uniform(size=(2, 3, 8)) > 0.5).astype(np.float32))
    inputs = [_randn(rng, 2, 3, 8), _randn(rng, 2, 3, 8), mask]
    return ElementwiseMath(), inputs, ["a", "b", "mask"], ["y", "chosen", "truncated"]


def build_tensor_shuffle(rng):
    import torch
    from torch import nn

    class TensorShuffle(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("index", torch.tensor([4, 0, 2]))
            self.register_buffer("expand_to", torch.zeros(2, 4, 5, 3))

        def forward(self, x, y):
            perm = x.permute(0, 2, 3, 1)  # Transpose [2, 4, 5, 6]
            a, b, c = torch.split(x, [1, 2, 3], dim=1)  # unequal Split
            strided = x[:, 0:6:2, 1:4, 0:5:2]  # Slice with steps
            picked = x[:, :, :, 2]  # Gather, scalar index
            selected = torch.index_select(x, 3, self.index)  # Gather, index vector
            # Expand to a constant shape: expand() would write ConstantOfShape, Equal and Where,
            # and expand_as(activation) Shape -> Expand; the Shape of a buffer folds away.
            expanded = a.squeeze(1).unsqueeze(-1).expand_as(self.expand_to)
            flat = torch.flatten(torch.cat([b, c], dim=1), 1)  # Concat, Flatten
            bmm = torch.bmm(perm.reshape(2, 20, 6), y)  # Reshape, 3-D batched MatMul
            return strided, picked + selected[:, :, :, 1], expanded, flat, bmm, x  # x: Identity

    inputs = [_randn(rng, 2, 6, 4, 5), _randn(rng, 2, 6, 3)]
    outputs = ["strided", "gathered", "expanded", "flat", "bmm", "passthrough"]
    return TensorShuffle(), inputs, ["x", "y"], outputs


def build_reductions(rng):
    import torch
    from torch import nn

    class Reductions(nn.Module):
        def forward(self, x):
            centered = x - x.mean(dim=(1, 2), keepdim=True)
            sum_sq = torch.sum(centered * centered, dim=1)
            row_max = torch.amax(x, dim=-1)
            soft = torch.softmax(x, dim=1)  # a non-last axis (opset 13)
            log_soft = torch.log_softmax(x, dim=1)
            return sum_sq, row_max, soft, log_soft, x.mean()

    return Reductions(), [_randn(rng, 2, 5, 6)], ["x"], ["sum_sq", "row_max", "softmax1", "log_softmax1", "mean_all"]


# Gelu: an ONNX op only from opset 20, which torch 1.13 decomposes. The graph is written with
# onnx.helper at opset 17 with Gelu in the default domain, which rdasim's importer accepts.
def build_gelu(rng):
    import torch.nn.functional as F
    from onnx import TensorProto, helper

    shape = [2, 3, 8]
    graph = helper.make_graph(
        [helper.make_node("Gelu", ["x"], ["y_exact"], name="gelu_exact", approximate="none"),
         helper.make_node("Gelu", ["x"], ["y_tanh"], name="gelu_tanh", approximate="tanh")],
        "gelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y_exact", TensorProto.FLOAT, shape),
         helper.make_tensor_value_info("y_tanh", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, producer_name=SCRIPT_REL, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    x = _randn(rng, *shape, scale=2.0)
    xd = x.double()
    outs = [F.gelu(xd, approximate="none"), F.gelu(xd, approximate="tanh")]
    return model, [x.numpy()], [o.numpy().astype(np.float32) for o in outs]


# SpMM: rdasim's sparse CSR x dense op, not an ONNX op, so this case is a YAML graph
# (configs/graphs/README.md). Values are multiples of 1/16, exact in float32.
SPMM_ROWS, SPMM_COLS, SPMM_N = 10, 12, 4


def build_spmm(rng):
    import torch

    dense = np.zeros((SPMM_ROWS, SPMM_COLS), dtype=np.float64)
    positions = rng.choice(SPMM_ROWS * SPMM_COLS, size=30, replace=False)
    values = rng.randint(1, 33, size=30) * rng.choice([-1, 1], size=30) / 16.0
    dense.flat[positions] = values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sparse CSR support is in beta
        csr = torch.from_numpy(dense).to_sparse_csr()
    row_ptr = csr.crow_indices().numpy().astype(np.int64)
    col_idx = csr.col_indices().numpy().astype(np.int64)
    nz = csr.values().numpy()
    bias = rng.randint(-8, 9, size=SPMM_N) / 16.0
    x = (rng.standard_normal((SPMM_COLS, SPMM_N))).astype(np.float32)
    xd = torch.from_numpy(x.astype(np.float64))
    ax = torch.sparse.mm(csr, xd) if hasattr(torch.sparse, "mm") else csr @ xd
    assert np.allclose(ax.numpy(), dense @ xd.numpy(), rtol=0, atol=1e-12)
    y = torch.relu(ax + torch.from_numpy(bias)).numpy().astype(np.float32)

    def fmt(vals, integer=False):
        return "[" + ", ".join(str(int(v)) if integer else repr(float(v)) for v in vals) + "]"

    text = "\n".join([
        f"# Written by {SCRIPT_REL}; do not edit. Golden data: test_data_set_0/.",
        "# y = relu(A x + bias), A a 10 x 12 sparse CSR matrix with 30 nonzeros.",
        "name: spmm",
        "description: sparse CSR times dense (rdasim's SpMM), then a bias and ReLU",
        "inputs:",
        f"  - {{name: x, shape: [{SPMM_COLS}, {SPMM_N}]}}",
        "consts:",
        f"  - {{name: row_ptr, shape: [{len(row_ptr)}], dtype: i64, values: {fmt(row_ptr, True)}}}",
        f"  - {{name: col_idx, shape: [{len(col_idx)}], dtype: i64, values: {fmt(col_idx, True)}}}",
        f"  - {{name: values, shape: [{len(nz)}], dtype: f32, values: {fmt(nz)}}}",
        "params:",
        f"  - {{name: bias, shape: [{SPMM_N}], values: {fmt(bias)}}}",
        "ops:",
        f"  - {{name: spmm, op: SpMM, inputs: [row_ptr, col_idx, values, x], outputs: [ax], attrs: {{cols: {SPMM_COLS}}}}}",
        "  - {name: add_bias, op: Add, inputs: [ax, bias], outputs: [h]}",
        "  - {name: relu, op: Relu, inputs: [h], outputs: [y]}",
        "outputs: [y]",
        "",
    ])
    ops = ["SpMM", "Add", "Relu"]
    return text, ops, [("x", x)], [("y", y)]


CASES = [
    Case("mlp_gemm", "two nn.Linear (Gemm transB=1) and torch.addmm (Gemm alpha=2, beta=0.5)", 13, build_mlp_gemm),
    Case("conv2d_block", "Conv2d with stride, pads, dilation and groups; eval BatchNorm; residual; global pool; Linear", 11, build_conv2d_block),
    Case("conv1d_dilated", "Conv1d strided and dilated, depthwise and grouped; Softplus; Clip; AveragePool 1-D", 12, build_conv1d_dilated),
    Case("deconv", "ConvTranspose2d with stride, output_padding, groups and dilation", 15, build_deconv),
    Case("pooling", "MaxPool with pads, ceil_mode and dilation; AveragePool without counting pads; GlobalAveragePool", 12, build_pooling),
    Case("gru_seq", "two-layer batch-first GRU with an initial state, last step through Linear", 14, build_gru_seq),
    Case("lstm_bidir", "bidirectional sequence-first LSTM, MatMul projection of the sequence", 11, build_lstm_bidir),
    Case("layernorm_attention", "pre-norm transformer block: LayerNormalization, 2-head attention, GELU (Erf) MLP; "
         "unfolded shape sub-graphs", 17, build_layernorm_attention, fold_constants=False, dynamic_batch=True),
    Case("shape_folding_view", "Conv, MaxPool, x.view(x.size(0), -1) and x.reshape(b, c, -1) as PyTorch writes them "
         "without constant folding", 16, build_shape_folding_view, fold_constants=False, dynamic_batch=True),
    Case("elementwise_math", "unary and binary elementwise ops, Pow with a float exponent, Where on a Cast-to-bool mask, "
         "Cast to int64 and back", 14, build_elementwise_math),
    Case("tensor_shuffle", "Transpose, unequal Split, strided Slice, Gather, Squeeze/Unsqueeze/Expand, Concat, Flatten, "
         "Reshape, 3-D batched MatMul, an Identity output", 13, build_tensor_shuffle),
    Case("reductions", "ReduceMean/Sum/Max over chosen and all axes, Softmax and LogSoftmax over axis 1", 13, build_reductions),
    Case("gelu", "Gelu nodes, approximate='none' and 'tanh' (built with onnx.helper)", 17, build_gelu, kind="onnx"),
    Case("spmm", "rdasim's sparse CSR SpMM, bias and ReLU (YAML graph)", 0, build_spmm, kind="yaml"),
]


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Result:
    case: Case
    ops: List[str]  # node kinds, in first-seen order
    files: Dict[str, int]  # relative path -> size in bytes
    max_f32_error: Optional[float] = None  # float32 PyTorch against the float64 golden
    model: object = None  # the onnx.ModelProto, or None for YAML


def packages_present() -> bool:
    """Whether numpy, onnx and torch import; if not, says what to install. Shared by the export
    scripts."""
    try:
        import numpy  # noqa: F401
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        print(f"error: {e}; install python3-torch and python3-onnx and run with /usr/bin/python3", file=sys.stderr)
        return False
    return True


def _seed(seed: int = 0) -> np.random.RandomState:
    import torch
    torch.manual_seed(seed)
    np.random.seed(seed)
    return np.random.RandomState(seed)


def _flatten(outputs) -> list:
    if isinstance(outputs, (tuple, list)):
        return [t for o in outputs for t in _flatten(o)]
    return [outputs]


def _tensor_bytes(array: np.ndarray, name: str) -> bytes:
    from onnx import numpy_helper
    # np.array, not np.ascontiguousarray, which turns a 0-d array into a 1-d one
    return numpy_helper.from_array(np.array(array, order="C"), name).SerializeToString()


def _pin_dims(model, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> None:
    """Replaces symbolic dimensions of the graph's inputs and outputs with the concrete ones."""
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    runtime_inputs = [vi for vi in graph.input if vi.name not in initializers]
    for vi, arr in list(zip(runtime_inputs, inputs)) + list(zip(graph.output, outputs)):
        dims = vi.type.tensor_type.shape.dim
        assert len(dims) == arr.ndim, (vi.name, len(dims), arr.shape)
        for d, size in zip(dims, arr.shape):
            d.Clear()
            d.dim_value = int(size)
    del graph.value_info[:]


def _strip_doc_strings(model) -> None:
    model.doc_string = ""
    model.graph.doc_string = ""
    for node in model.graph.node:
        node.doc_string = ""


def export_torch_case(case: Case):
    import onnx
    import torch

    rng = _seed(0)
    module, inputs, input_names, output_names = case.build(rng)
    module.eval()
    dynamic_axes = None
    if case.dynamic_batch:
        dynamic_axes = {name: {0: "batch"} for name in input_names + output_names}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(inputs), buffer, opset_version=case.opset,
                          input_names=input_names, output_names=output_names,
                          do_constant_folding=case.fold_constants, dynamic_axes=dynamic_axes)
    model = onnx.load_from_string(buffer.getvalue())

    # Golden outputs: the same module in float64 on the same (float32-representable) inputs.
    reference = copy.deepcopy(module).double().eval()
    with torch.no_grad():
        golden64 = _flatten(reference(*[t.double() if t.is_floating_point() else t for t in inputs]))
        plain32 = _flatten(module(*inputs))
    if len(golden64) != len(model.graph.output):
        raise RuntimeError(f"{case.name}: {len(golden64)} PyTorch outputs but {len(model.graph.output)} graph outputs")
    golden = [g.numpy().astype(np.float32) if g.is_floating_point() else g.numpy() for g in golden64]
    error = max(float(np.max(np.abs(p.double().numpy() - g.numpy()))) for p, g in zip(plain32, golden64))
    for g in golden:
        if not np.all(np.isfinite(g)):
            raise RuntimeError(f"{case.name}: a golden output is not finite")

    input_arrays = [t.numpy() for t in inputs]
    if case.dynamic_batch:
        _pin_dims(model, input_arrays, golden)
    _strip_doc_strings(model)
    model.graph.name = case.name  # rather than torch_jit
    onnx.checker.check_model(model)
    return model, input_arrays, golden, error


def write_case(out: Path, case: Case) -> Result:
    case_dir = out / case.name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    data_dir = case_dir / "test_data_set_0"
    data_dir.mkdir(parents=True)
    files: Dict[str, bytes] = {}
    model = None
    error = None
    if case.kind == "yaml":
        text, ops, named_inputs, named_outputs = case.build(_seed(0))
        files["model.yaml"] = text.encode()
        for k, (name, arr) in enumerate(named_inputs):
            files[f"test_data_set_0/input_{k}.pb"] = _tensor_bytes(arr, name)
        for k, (name, arr) in enumerate(named_outputs):
            files[f"test_data_set_0/output_{k}.pb"] = _tensor_bytes(arr, name)
    else:
        if case.kind == "onnx":
            model, inputs, golden = case.build(_seed(0))
        else:
            model, inputs, golden, error = export_torch_case(case)
        initializers = {i.name for i in model.graph.initializer}
        input_names = [vi.name for vi in model.graph.input if vi.name not in initializers]
        if len(input_names) != len(inputs):
            raise RuntimeError(f"{case.name}: {len(input_names)} graph inputs but {len(inputs)} arrays")
        files["model.onnx"] = model.SerializeToString()
        for k, (name, arr) in enumerate(zip(input_names, inputs)):
            files[f"test_data_set_0/input_{k}.pb"] = _tensor_bytes(arr, name)
        for k, (vi, arr) in enumerate(zip(model.graph.output, golden)):
            files[f"test_data_set_0/output_{k}.pb"] = _tensor_bytes(arr, vi.name)
        ops = list(dict.fromkeys(n.op_type for n in model.graph.node))
    for rel, data in files.items():
        (case_dir / rel).write_bytes(data)
    return Result(case, ops, {rel: len(data) for rel, data in files.items()}, error, model)


# --------------------------------------------------------------------------------------------
# Checks: op coverage, op kinds outside the supported list, attribute variety
# --------------------------------------------------------------------------------------------

def _constants(model) -> Dict[str, np.ndarray]:
    from onnx import numpy_helper
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(a.t)
    return values


def _attr(node, name, default=None):
    from onnx import helper
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _ranks(model) -> Dict[str, int]:
    import onnx
    inferred = onnx.shape_inference.infer_shapes(model)
    ranks = {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        if vi.type.tensor_type.HasField("shape"):
            ranks[vi.name] = len(vi.type.tensor_type.shape.dim)
    for i in g.initializer:
        ranks[i.name] = len(i.dims)
    return ranks


def _has_shape_chain(model) -> bool:
    """Whether a Reshape takes its shape from Concat <- Unsqueeze <- Gather <- Shape."""
    producer = {out: n for n in model.graph.node for out in n.output}

    def made_by(name, kind):
        n = producer.get(name)
        return n if n is not None and n.op_type == kind else None

    for n in model.graph.node:
        concat = made_by(n.input[1], "Concat") if n.op_type == "Reshape" else None
        for c in concat.input if concat is not None else []:
            unsq = made_by(c, "Unsqueeze")
            gather = made_by(unsq.input[0], "Gather") if unsq is not None else None
            if gather is not None and made_by(gather.input[0], "Shape") is not None:
                return True
    return False


def feature_checks(results: List[Result]) -> List[Tuple[str, List[str]]]:
    """Attribute forms the cases are meant to exercise; returns (feature, cases having it)."""
    from onnx import TensorProto
    found: Dict[str, List[str]] = {}

    def mark(feature, case):
        found.setdefault(feature, [])
        if case not in found[feature]:
            found[feature].append(case)

    for r in results:
        if r.model is None:
            if "SpMM" in r.ops:
                mark("SpMM (YAML graph)", r.case.name)
            continue
        name, consts = r.case.name, _constants(r.model)
        ranks = _ranks(r.model) if r.case.kind == "torch" else {}
        if _has_shape_chain(r.model):
            mark(SHAPE_SUBGRAPH, name)
        for n in r.model.graph.node:
            op = n.op_type
            if op in ("Conv", "ConvTranspose"):
                k = _attr(n, "kernel_shape", [])
                mark(f"{op} {len(k)}-D", name)
                if _attr(n, "group", 1) > 1:
                    mark(f"{op} group > 1", name)
                if any(s > 1 for s in _attr(n, "strides", [])):
                    mark(f"{op} stride > 1", name)
                if any(d > 1 for d in _attr(n, "dilations", [])):
                    mark(f"{op} dilation > 1", name)
                if any(p > 0 for p in _attr(n, "pads", [])):
                    mark(f"{op} pads", name)
                if any(p > 0 for p in _attr(n, "output_padding", [])):
                    mark(f"{op} output_padding", name)
            elif op in ("MaxPool", "AveragePool"):
                if any(s > 1 for s in _attr(n, "strides", [])) and any(p > 0 for p in _attr(n, "pads", [])):
                    mark(f"{op} stride and pads", name)
                if _attr(n, "ceil_mode", 0):
                    mark(f"{op} ceil_mode", name)
                if any(d > 1 for d in _attr(n, "dilations", [])):
                    mark(f"{op} dilation", name)
            elif op == "Gemm":
                if _attr(n, "transB", 0):
                    mark("Gemm transB=1", name)
                if _attr(n, "alpha", 1.0) != 1.0 and _attr(n, "beta", 1.0) != 1.0:
                    mark("Gemm alpha and beta", name)
            elif op == "MatMul":
                if ranks.get(n.input[0]) == 3 and ranks.get(n.input[1]) == 3:
                    mark("MatMul 3-D x 3-D (batched)", name)
            elif op in ("Softmax", "LogSoftmax"):
                rank, axis = ranks.get(n.input[0]), _attr(n, "axis", -1)
                if rank is not None and axis not in (-1, rank - 1):
                    mark(f"{op} on a non-last axis", name)
            elif op == "Split":
                sizes = _attr(n, "split") or (list(consts[n.input[1]]) if len(n.input) > 1 and n.input[1] in consts else [])
                if len(set(int(s) for s in sizes)) > 1:
                    mark("Split into unequal parts", name)
            elif op == "Slice":
                if len(n.input) > 4 and n.input[4] in consts and np.any(consts[n.input[4]] != 1):
                    mark("Slice with steps", name)
            elif op == "Clip":
                if len(n.input) >= 3 and n.input[1] and n.input[2]:
                    mark("Clip with min and max", name)
            elif op == "Pow":
                e = consts.get(n.input[1])
                if e is not None and e.dtype.kind == "f" and np.any(e != np.round(e)):
                    mark("Pow with a float exponent", name)
            elif op == "Cast":
                to = _attr(n, "to")
                if to == TensorProto.INT64:
                    mark("Cast to int64", name)
                if to == TensorProto.BOOL:
                    mark("Cast to bool", name)
            elif op in ("LSTM", "GRU"):
                mark(f"{op} {_attr(n, 'direction', b'forward').decode()}", name)
            elif op == "Gelu":
                mark(f"Gelu approximate={_attr(n, 'approximate', b'none').decode()}", name)
            elif op == "BatchNormalization":
                if not _attr(n, "training_mode", 0):
                    mark("BatchNormalization inference", name)
    return sorted(found.items())


SHAPE_SUBGRAPH = "shape sub-graph Shape -> Gather -> Unsqueeze -> Concat -> Reshape"
REQUIRED_FEATURES = [
    "Conv 1-D", "Conv 2-D", "Conv group > 1", "Conv stride > 1", "Conv dilation > 1", "Conv pads",
    "ConvTranspose stride > 1", "ConvTranspose output_padding", "Gemm transB=1", "Gemm alpha and beta",
    "MatMul 3-D x 3-D (batched)", "Softmax on a non-last axis", "Split into unequal parts",
    "Slice with steps", "Clip with min and max", "Pow with a float exponent", "Cast to int64",
    "Cast to bool", "LSTM bidirectional", "GRU forward", "Gelu approximate=none", "Gelu approximate=tanh",
    "MaxPool stride and pads", "AveragePool stride and pads", "BatchNormalization inference",
    "SpMM (YAML graph)",
]


def check_coverage(results: List[Result]) -> List[str]:
    """Prints the coverage tables; returns the problems found."""
    problems = []
    print("\nOp coverage:")
    width = max(len(op) for op in SUPPORTED_OPS)
    for op in SUPPORTED_OPS:
        cases = [r.case.name for r in results if op in r.ops]
        print(f"  {op:<{width}}  {', '.join(cases) if cases else 'MISSING'}")
        if not cases:
            problems.append(f"op kind {op} is in no case")
    for r in results:
        extra = [op for op in r.ops if op not in SUPPORTED_OPS]
        if extra:
            problems.append(f"case {r.case.name} has op kinds rdasim does not support: {', '.join(extra)}")

    print("\nAttribute forms:")
    features = dict(feature_checks(results))
    width = max(len(f) for f in list(features) + REQUIRED_FEATURES)
    for feature in sorted(set(features) | set(REQUIRED_FEATURES)):
        cases = features.get(feature, [])
        print(f"  {feature:<{width}}  {', '.join(cases) if cases else 'MISSING'}")
        if feature in REQUIRED_FEATURES and not cases:
            problems.append(f"no case has: {feature}")
    shape_cases = features.get(SHAPE_SUBGRAPH, [])
    if len(shape_cases) < 2:
        problems.append(f"the shape sub-graph pattern is in {len(shape_cases)} models; expected at least 2")
    return problems


# --------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------

def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def write_readme(out: Path, results: List[Result]) -> None:
    total = sum(sum(r.files.values()) for r in results)
    lines = [
        "# Golden models (`workloads/models/golden/`)",
        "",
        f"Written by `{SCRIPT_REL}`; do not edit by hand.",
        "",
        "Small PyTorch models exported to ONNX, each with one set of inputs and expected outputs, for",
        "rdasim's functional reference (`rdasim check`).",
        "Together they contain every op kind rdasim imports; `gelu` is built with `onnx.helper` (PyTorch",
        "1.13 cannot write a Gelu node) and `spmm` is a YAML graph (SpMM is rdasim's own op).",
        "",
        "Each case is laid out as ONNX's backend test suite is:",
        "",
        "```",
        "<case>/model.onnx                    (model.yaml for spmm: configs/graphs/README.md)",
        "<case>/test_data_set_0/input_K.pb    graph inputs that are not initializers, in order",
        "<case>/test_data_set_0/output_K.pb   graph outputs, in order",
        "```",
        "",
        "Each `.pb` is one serialized `onnx.TensorProto`. Models and inputs are float32; the expected",
        "outputs come from the same PyTorch module run in float64, rounded to float32 once, so they carry",
        "no float32 rounding error of their own. `layernorm_attention` and `shape_folding_view` are",
        "exported without constant folding and with a symbolic batch axis, so they keep PyTorch's shape",
        "arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape); the batch is then pinned to 2",
        "in the declared inputs and outputs.",
        "",
        "The files are committed: CI needs neither torch nor onnx. To regenerate them (seeded,",
        "single-threaded: re-running gives byte-identical files), with Debian's packages",
        "(`apt-get install python3-torch python3-onnx`; torch 1.13, onnx 1.12) and interpreter:",
        "",
        "```sh",
        f"/usr/bin/python3 {SCRIPT_REL}            # writes this folder",
        f"/usr/bin/python3 {SCRIPT_REL} --check    # exit 1 if the committed files differ",
        "```",
        "",
        "| case | what | ops | opset | model | total |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        model_file = "model.yaml" if r.case.kind == "yaml" else "model.onnx"
        opset = "YAML" if r.case.kind == "yaml" else str(r.case.opset)
        ops = ", ".join(sorted(r.ops))
        lines.append(f"| `{r.case.name}` | {r.case.description} | {ops} | {opset} | "
                     f"{_kb(r.files[model_file])} | {_kb(sum(r.files.values()))} |")
    lines += ["", f"{len(results)} cases, {_kb(total)} in all.", ""]
    (out / "README.md").write_text("\n".join(lines))


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def export_all(out: Path, verbose: bool = True) -> Tuple[List[Result], List[str]]:
    import torch
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for case in CASES:
        r = write_case(out, case)
        results.append(r)
        if verbose:
            size = sum(r.files.values())
            err = "" if r.max_f32_error is None else f"  float32 vs float64 max |diff| {r.max_f32_error:.2e}"
            print(f"{case.name:<22} {_kb(size):>9}  {len(r.ops):2} kinds{err}")
    write_readme(out, results)
    if verbose:
        total = sum(sum(r.files.values()) for r in results)
        print(f"{len(results)} cases, {_kb(total)} in all, in {out}")
    problems = check_coverage(results) if verbose else []
    return results, problems


def _tree(root: Path) -> Dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def compare_export(out: Path, export: Callable[[Path], object], managed: Sequence[str], script: str,
                   owned: Optional[Callable[[str], bool]] = None) -> int:
    """Runs `export` into a temporary folder and compares it with the files of `out` it manages
    (its case folders and README.md, or the relative paths `owned` accepts); prints what differs.
    0 if identical. Shared with export_workloads.py and export_training.py."""
    with tempfile.TemporaryDirectory(prefix="rdasim_export_check_") as tmp:
        fresh_root = Path(tmp)
        export(fresh_root)
        fresh = _tree(fresh_root)
    names = set(managed)
    if owned is None:
        owned = lambda rel: rel == "README.md" or rel.split(os.sep)[0] in names  # noqa: E731
    fresh = {rel: h for rel, h in fresh.items() if owned(rel)}
    committed = {rel: h for rel, h in _tree(out).items() if owned(rel)} if out.is_dir() else {}
    differ = sorted(rel for rel in fresh.keys() & committed.keys() if fresh[rel] != committed[rel])
    missing = sorted(fresh.keys() - committed.keys())
    stale = sorted(committed.keys() - fresh.keys())
    for label, rels in (("differs", differ), ("missing", missing), ("not written any more", stale)):
        for rel in rels:
            print(f"{label}: {out / rel}")
    if differ or missing or stale:
        print(f"{out} is not current: run /usr/bin/python3 {script}")
        return 1
    print(f"{out}: all {len(fresh)} files are identical to a fresh export")
    return 0


def check(out: Path) -> int:
    """Re-exports into a temporary folder and compares with `out`; 0 if identical."""
    return compare_export(out, lambda root: export_all(root, verbose=False), [c.name for c in CASES], SCRIPT_REL)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Export small PyTorch models to ONNX with float64-derived golden test data "
                    "(workloads/models/golden/) for `rdasim check`.",
        epilog="Needs Debian's python3-torch and python3-onnx; run with /usr/bin/python3.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default: {DEFAULT_OUT.relative_to(REPO_ROOT)} in the repository)")
    parser.add_argument("--check", action="store_true",
                        help="export into a temporary folder and report whether the files in --out are identical")
    args = parser.parse_args(argv)
    if not packages_present():
        return 2
    if args.check:
        return check(args.out)
    _, problems = export_all(args.out)
    if problems:
        print("\nFAILED:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("\nall op kinds and attribute forms covered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
