#!/usr/bin/python3
"""Export one training step of each small workload case, run by PyTorch, as golden data for
rdasim's training steps (autodiff and optimizers): workloads/models/<case>/training_set_0/.

Why: rdasim differentiates its graphs and applies optimizer updates itself. These files pin both
against PyTorch on the real workloads: for the same module, initial weights and inputs as the
committed model.onnx and test_data_set_0 of export_workloads.py, plus seeded targets, they hold
the loss, the gradient of the loss with respect to every trainable parameter and every parameter
after one optimizer step. A further case, training_ops, pins the optimizers (three steps of SGD
with momentum, Adam, AdamW, and Adam's moments) and the loss functions alone.

The model case is built exactly as export_workloads.py builds it (the case's build(rng) with
rng = _seed(0)), and this script fails unless the initial parameters and buffers equal the
initializers of the committed model.onnx, the inputs equal the committed test_data_set_0 inputs
and the float64 forward reproduces the committed expected outputs bit for bit. Targets and masks
are then drawn from a fresh np.random.RandomState(1). The step: the module in train() with every
BatchNorm in eval() (rdasim's training step normalizes with the running statistics; there is no
dropout), forward, loss, backward, one optimizer step. Ground truth, as export_workloads.py: the
step runs in float64 (module.double() on the float32 weights, inputs and targets widened) and the
results are rounded to float32 once; a float32 run is made too and its difference printed.

Names: rdasim names a tensor from a state-dict name by replacing '.' with '/' (<rdasim name>).
Layout (serialized onnx.TensorProto files with their name set, as ONNX's backend test suite):
    <out>/<case>/training_set_0/input_K.pb    the graph inputs (as test_data_set_0), then for
                                              each loss term target/<output> (and mask/<output>)
    <out>/<case>/training_set_0/output_K.pb   loss (shape []), grad/<rdasim name> for every
                                              trainable parameter in named_parameters() order,
                                              then new/<rdasim name> (after one step)
    <out>/ensemble/builder.txt                rdasim MODEL arguments of a 2-member DCRNN ensemble
    <out>/ensemble/training_set_0/...         two DCRNN twins trained independently, every name
                                              prefixed member<m>/; the initial parameters are
                                              inputs (there is no model.onnx); no loss output
    <out>/training_ops/test_data_set_0/...    optimizers and losses alone (no model)
    <out>/TRAINING.md                         the index, with the loss and optimizer formulas
export_workloads.py leaves <case>/training_set_* alone and its --check ignores them.

To regenerate, with Debian's interpreter and packages (python3-torch 1.13, python3-onnx 1.12),
after export_workloads.py (the model cases are checked against its committed files):
    /usr/bin/python3 workloads/python/export_training.py
    /usr/bin/python3 workloads/python/export_training.py --check   # are the files current?
Everything is seeded and single-threaded: re-running writes byte-identical files.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import shutil
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

try:
    import numpy as np
except ImportError:  # reported by main()
    np = None

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_golden import _flatten, _seed, _tensor_bytes, compare_export, packages_present  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "workloads" / "models"
SCRIPT_REL = "workloads/python/export_training.py"
TRAINING_SET = "training_set_0"
TARGET_SEED = 1  # the targets' and masks' RandomState (the model case's own seed is _seed(0))

ENSEMBLE = "ensemble"
ENSEMBLE_BUILDER = ("ensemble -p base=dcrnn -p members=2 -p diffusion=dense -p batch=2 -p sensors=12 "
                    "-p nonzeros=61 -p units=8 -p seq=3 -p horizon=3")
ENSEMBLE_MEMBERS = 2
TRAINING_OPS = "training_ops"


def rdasim_name(state_dict_name: str) -> str:
    return state_dict_name.replace(".", "/")


# --------------------------------------------------------------------------------------------
# Losses, targets and optimizers of the model cases
# --------------------------------------------------------------------------------------------

def _l1(a, b):
    return (a - b).abs().mean()


def _masked_l1(pred, target, mask):
    """DCRNN's masked_mae_loss: mean(|pred - target| * mask) / mean(mask); the mask is an input."""
    return ((pred - target).abs() * mask).mean() / mask.mean()


def _adam(lr: float, eps: float = 1e-8):
    def make(params):
        import torch
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=eps, weight_decay=0)
    return make


def lensing_edsr_targets(rng, inputs):
    image = inputs["image"].astype(np.float64)
    return [("target/denoise", np.clip(image + 0.05 * rng.standard_normal(image.shape), 0.0, 1.0))]


def lensing_edsr_loss(out, inp, tgt):
    return _l1(out["denoise"], tgt["target/denoise"])


def lensing_encoder_targets(rng, inputs):
    return [("target/detection", np.array([[1.0], [0.0]])),
            ("target/parameters", rng.uniform(0.0, 1.0, (2, 3)))]


def lensing_encoder_loss(out, inp, tgt):
    import torch.nn.functional as F
    return F.binary_cross_entropy(out["detection"], tgt["target/detection"]) \
        + _l1(out["parameters"], tgt["target/parameters"])


INVERSION_SIGMA = 1e-4
INVERSION_ALPHA = 1.0


def inversion_loss(out, inp, tgt):
    r = out["R"]
    chi2 = (((out["E_hat"] - inp["E"]) / INVERSION_SIGMA) ** 2).mean()
    entropy = (r * r.log()).sum(1).mean()
    return chi2 + INVERSION_ALPHA * entropy


def missing_readings(rng, shape) -> Tuple[np.ndarray, np.ndarray]:
    """A standard-normal target with 20% of its entries (rounded) exactly 0 (missing readings,
    chosen without replacement) and its 0/1 mask (target != 0)."""
    target = rng.standard_normal(shape)
    flat = target.reshape(-1)
    flat[rng.choice(flat.size, int(round(0.2 * flat.size)), replace=False)] = 0.0
    return target, (target != 0).astype(np.float64)


def dcrnn_targets(rng, inputs):
    seq, batch, sensors, _ = inputs["x"].shape
    target, mask = missing_readings(rng, (DCRNN_HORIZON, batch, sensors, 1))
    return [("target/forecast", target), ("mask/forecast", mask)]


def dcrnn_loss(out, inp, tgt):
    return _masked_l1(out["forecast"], tgt["target/forecast"], tgt["mask/forecast"])


DCRNN_HORIZON = 3
DCRNN_LR, DCRNN_EPS = 1e-2, 1e-3  # the DCRNN paper's Adam settings


@dataclasses.dataclass
class TrainCase:
    name: str  # a case of export_workloads.CASES
    loss_text: str  # for TRAINING.md
    optimizer_text: str
    # (RandomState(1), {graph input name: float32 array}) -> [(name, float64 array)], stored as float32
    targets: Optional[Callable]
    # ({output name: tensor}, {input name: tensor}, {target name: tensor}) -> scalar tensor
    loss: Callable
    optimizer: Callable  # (params) -> torch.optim.Optimizer


TRAIN_CASES = [
    TrainCase("lensing_edsr",
              "L1 = mean(\\|denoise - target/denoise\\|); target = clip(image + 0.05 N(0, 1), 0, 1)",
              "Adam lr 1e-4, betas (0.9, 0.999), eps 1e-8",
              lensing_edsr_targets, lensing_edsr_loss, _adam(1e-4)),
    TrainCase("lensing_encoder",
              "BCE(detection, target/detection) + mean(\\|parameters - target/parameters\\|); "
              "target/detection [[1], [0]], target/parameters U(0, 1)",
              "Adam lr 1e-4, betas (0.9, 0.999), eps 1e-8",
              lensing_encoder_targets, lensing_encoder_loss, _adam(1e-4)),
    TrainCase("inversion",
              "mean(((E_hat - E) / 1e-4)^2) + 1.0 mean_b(sum_omega R log R); no target (E is the input)",
              "Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8",
              None, inversion_loss, _adam(1e-3)),
    TrainCase("dcrnn",
              "mean(\\|forecast - target/forecast\\| mask/forecast) / mean(mask/forecast); "
              "target N(0, 1) with 20% exact zeros (14 of 72), mask = (target != 0)",
              "Adam lr 1e-2, betas (0.9, 0.999), eps 1e-3",
              dcrnn_targets, dcrnn_loss, _adam(DCRNN_LR, DCRNN_EPS)),
]


# --------------------------------------------------------------------------------------------
# One training step
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Step:
    loss: float
    outputs: List["np.ndarray"]  # the forward's outputs
    grads: List["np.ndarray"]  # in named_parameters() order
    new: List["np.ndarray"]


def train_step(module, inputs: Dict[str, "np.ndarray"], targets: Dict[str, "np.ndarray"], output_names: Sequence[str],
               loss_fn: Callable, optimizer: Callable, dtype) -> Step:
    """A copy of `module` in `dtype`: train() with every BatchNorm in eval(), forward, loss,
    backward, one optimizer step. The module itself is left as it was."""
    import torch
    from torch import nn
    m = copy.deepcopy(module).to(dtype)
    m.train()
    for sub in m.modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            sub.eval()
    buffers = {n: b.detach().clone() for n, b in m.named_buffers()}
    params = [p for p in m.parameters() if p.requires_grad]
    opt = optimizer(params)
    opt.zero_grad(set_to_none=True)
    tin = {n: torch.from_numpy(np.asarray(a)).to(dtype) for n, a in inputs.items()}
    ttg = {n: torch.from_numpy(np.asarray(a)).to(dtype) for n, a in targets.items()}
    outs = _flatten(m(*tin.values()))
    if len(outs) != len(output_names):
        raise RuntimeError(f"{len(outs)} outputs, expected {len(output_names)} ({', '.join(output_names)})")
    loss = loss_fn(dict(zip(output_names, outs)), tin, ttg)
    loss.backward()
    missing = [n for n, p in m.named_parameters() if p.requires_grad and p.grad is None]
    if missing:
        raise RuntimeError(f"no gradient reaches {', '.join(missing)}")
    grads = [p.grad.detach().numpy().copy() for p in params]
    opt.step()
    for n, b in m.named_buffers():
        if not torch.equal(b, buffers[n]):
            raise RuntimeError(f"buffer {n} changed in the training step")
    return Step(float(loss.detach()), [o.detach().numpy().copy() for o in outs], grads,
                [p.detach().numpy().copy() for p in params])


@dataclasses.dataclass
class Difference:
    """float32 run against the float64 golden: relative to the float64 value's largest magnitude
    (loss; each gradient, the largest over tensors) and, for the updated parameters, relative to
    the float64 update's largest magnitude."""
    loss: float
    grad: float
    update: float

    def text(self) -> str:
        return f"float32 vs float64: loss {self.loss:.1e}, grad {self.grad:.1e}, update {self.update:.1e}"


def _rel(a, b, scale) -> float:
    scale = float(np.max(np.abs(scale))) if np.size(scale) else 0.0
    diff = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) if np.size(a) else 0.0
    return diff / scale if scale > 0 else diff


def difference(s32: Step, s64: Step, initial: Sequence["np.ndarray"]) -> Difference:
    return Difference(abs(s32.loss - s64.loss) / abs(s64.loss),
                      max(_rel(a, b, b) for a, b in zip(s32.grads, s64.grads)),
                      max(_rel(a, b, b - p0) for a, b, p0 in zip(s32.new, s64.new, initial)))


def _f32(array) -> "np.ndarray":
    return np.asarray(array, dtype=np.float32)


def _finite(name: str, arrays) -> None:
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise RuntimeError(f"{name}: a golden tensor is not finite")


# --------------------------------------------------------------------------------------------
# The model cases
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Result:
    name: str
    files: Dict[str, int]  # relative path -> size in bytes
    losses: List[Tuple[str, float]]  # (label, float32 golden loss)
    differences: List[Tuple[str, Difference]]
    trainable: int
    summary: str  # for TRAINING.md


def _workload_case(name: str):
    from export_workloads import CASES
    for case in CASES:
        if case.name == name:
            return case
    raise RuntimeError(f"export_workloads.py has no case {name}")


def _read_tensors(folder: Path, prefix: str):
    from onnx import TensorProto, numpy_helper
    files = sorted(folder.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[-1]))
    tensors = []
    for p in files:
        t = TensorProto()
        t.ParseFromString(p.read_bytes())
        tensors.append((t.name, numpy_helper.to_array(t), p.read_bytes()))
    return tensors


def committed_case(case, models: Path):
    """Builds the case as export_workloads.py does and checks it against the committed model.onnx
    and test_data_set_0: the initializers (parameters and buffers), input names and values. Returns
    (module, {input name: float32 array}, output names, committed outputs)."""
    import onnx
    from onnx import numpy_helper
    rng = _seed(0)
    module, inputs, input_names, output_names = case.build(rng)
    module.eval()
    model_path = models / case.name / "model.onnx"
    if not model_path.is_file():
        raise RuntimeError(f"{model_path} is missing: run /usr/bin/python3 workloads/python/export_workloads.py first")
    model = onnx.load(str(model_path))
    state = {n: t.detach().numpy() for n, t in module.state_dict().items()}
    problems = []
    initializers = {}
    for init in model.graph.initializer:
        initializers[init.name] = numpy_helper.to_array(init)
    for name in sorted(state.keys() | initializers.keys()):
        if name not in initializers:
            if np.issubdtype(state[name].dtype, np.floating):
                problems.append(f"{name}: a module tensor, not an initializer of {model_path}")
        elif name not in state:
            problems.append(f"{name}: an initializer of {model_path}, not a module tensor")
        elif state[name].dtype != initializers[name].dtype or not np.array_equal(state[name], initializers[name]):
            problems.append(f"{name}: the module's initial value differs from {model_path}'s initializer")
    graph_outputs = [o.name for o in model.graph.output]
    if graph_outputs != list(output_names):
        problems.append(f"graph outputs {graph_outputs}, the case's {list(output_names)}")
    data = models / case.name / "test_data_set_0"
    committed_inputs = _read_tensors(data, "input")
    if [n for n, _, _ in committed_inputs] != list(input_names):
        problems.append(f"{data}: inputs {[n for n, _, _ in committed_inputs]}, the case's {list(input_names)}")
    for (name, arr, raw), t in zip(committed_inputs, inputs):
        if raw != _tensor_bytes(t.numpy(), name):
            problems.append(f"{data}: input {name} differs from the case's")
    if problems:
        raise RuntimeError(f"{case.name}: the case no longer matches the committed export "
                           f"(run export_workloads.py first?):\n  " + "\n  ".join(problems))
    outputs = [arr for _, arr, _ in _read_tensors(data, "output")]
    return module, {n: t.numpy() for n, t in zip(input_names, inputs)}, list(output_names), outputs


def _write(folder: Path, files: Dict[str, bytes]) -> Dict[str, int]:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {rel: len(data) for rel, data in files.items()}


def _data_files(folder: str, inputs: Sequence[Tuple[str, "np.ndarray"]], outputs: Sequence[Tuple[str, "np.ndarray"]]):
    files = {}
    for k, (name, arr) in enumerate(inputs):
        files[f"{folder}/input_{k}.pb"] = _tensor_bytes(arr, name)
    for k, (name, arr) in enumerate(outputs):
        files[f"{folder}/output_{k}.pb"] = _tensor_bytes(arr, name)
    return files


def export_model_case(tc: TrainCase, out: Path, models: Path) -> Result:
    module, inputs, output_names, committed_outputs = committed_case(_workload_case(tc.name), models)
    rng = np.random.RandomState(TARGET_SEED)
    targets = [(n, _f32(a)) for n, a in (tc.targets(rng, inputs) if tc.targets else [])]
    target_map = dict(targets)
    s64 = train_step(module, inputs, target_map, output_names, tc.loss, tc.optimizer, _torch_dtype(64))
    s32 = train_step(module, inputs, target_map, output_names, tc.loss, tc.optimizer, _torch_dtype(32))
    for name, got, want in zip(output_names, s64.outputs, committed_outputs):
        if not np.array_equal(_f32(got), want):
            raise RuntimeError(f"{tc.name}: the float64 forward's {name} differs from the committed expected output")
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    initial = [p.detach().numpy().astype(np.float64) for _, p in params]
    diff = difference(s32, s64, initial)
    grads, new = [_f32(g) for g in s64.grads], [_f32(p) for p in s64.new]
    _finite(tc.name, grads + new + [_f32(s64.loss)])
    outputs = [("loss", _f32(s64.loss))]
    outputs += [(f"grad/{rdasim_name(n)}", g) for (n, _), g in zip(params, grads)]
    outputs += [(f"new/{rdasim_name(n)}", p) for (n, _), p in zip(params, new)]
    folder = out / tc.name / TRAINING_SET
    if folder.exists():
        shutil.rmtree(folder)
    files = _data_files(f"{tc.name}/{TRAINING_SET}", list(inputs.items()) + targets, outputs)
    sizes = _write(out, files)
    trainable = sum(p.numel() for _, p in params)
    summary = (f"inputs: {', '.join(n for n, _ in list(inputs.items()) + targets)}; outputs: loss, "
               f"grad/... and new/... of {len(params)} parameters")
    return Result(tc.name, sizes, [("loss", float(_f32(s64.loss)))], [(tc.name, diff)], trainable, summary)


def _torch_dtype(bits: int):
    import torch
    return torch.float64 if bits == 64 else torch.float32


# --------------------------------------------------------------------------------------------
# The ensemble: two DCRNN twins of the dcrnn case, trained independently
# --------------------------------------------------------------------------------------------

def export_ensemble(out: Path, models: Path) -> Result:
    from twins import init_parameters
    module, inputs, output_names, _ = committed_case(_workload_case("dcrnn"), models)
    rng = np.random.RandomState(TARGET_SEED)
    target, mask = (_f32(a) for a in missing_readings(rng, (DCRNN_HORIZON,) + inputs["x"].shape[1:3] + (1,)))
    members = []
    for m in range(ENSEMBLE_MEMBERS):
        member = copy.deepcopy(module)  # the same road graph (supports) and zero states
        init_parameters(member, seed=m)
        members.append(member)
    ins, param_ins, tgt_ins = [], [], []
    grads, news, losses, diffs = [], [], [], []
    trainable = 0
    for m, member in enumerate(members):
        prefix = f"member{m}/"
        params = [(n, p) for n, p in member.named_parameters() if p.requires_grad]
        trainable += sum(p.numel() for _, p in params)
        ins.append((prefix + "x", inputs["x"]))
        param_ins += [(prefix + rdasim_name(n), p.detach().numpy().copy()) for n, p in params]
        tgt_ins += [(f"target/{prefix}forecast", target), (f"mask/{prefix}forecast", mask)]
        tg = {"target/forecast": target, "mask/forecast": mask}
        s64 = train_step(member, inputs, tg, output_names, dcrnn_loss, _adam(DCRNN_LR, DCRNN_EPS), _torch_dtype(64))
        s32 = train_step(member, inputs, tg, output_names, dcrnn_loss, _adam(DCRNN_LR, DCRNN_EPS), _torch_dtype(32))
        initial = [p.detach().numpy().astype(np.float64) for _, p in params]
        diffs.append((f"{ENSEMBLE} member{m}", difference(s32, s64, initial)))
        losses.append((f"member{m} loss (not stored)", float(_f32(s64.loss))))
        grads += [(f"grad/{prefix}{rdasim_name(n)}", _f32(g)) for (n, _), g in zip(params, s64.grads)]
        news += [(f"new/{prefix}{rdasim_name(n)}", _f32(p)) for (n, _), p in zip(params, s64.new)]
        _finite(ENSEMBLE, [a for _, a in grads + news])
    if np.array_equal(param_ins[0][1], param_ins[len(param_ins) // 2][1]):
        raise RuntimeError("ensemble: the members' initial parameters are equal")
    folder = out / ENSEMBLE
    if folder.exists():
        shutil.rmtree(folder)
    files = {f"{ENSEMBLE}/builder.txt": (ENSEMBLE_BUILDER + "\n").encode()}
    files.update(_data_files(f"{ENSEMBLE}/{TRAINING_SET}", ins + param_ins + tgt_ins, grads + news))
    sizes = _write(out, files)
    summary = ("inputs: member<m>/x, member<m>/<parameter> (initial values), target/member<m>/forecast, "
               "mask/member<m>/forecast; outputs: grad/member<m>/... then new/member<m>/...; no loss")
    return Result(ENSEMBLE, sizes, losses, diffs, trainable, summary)


# --------------------------------------------------------------------------------------------
# training_ops: optimizers and losses alone
# --------------------------------------------------------------------------------------------

PINBALL_Q = 0.9


def export_training_ops(out: Path) -> Result:
    import torch
    import torch.nn.functional as F
    rng = np.random.RandomState(TARGET_SEED)
    shape = (5, 4)
    ins = [("p", _f32(rng.uniform(-1.0, 1.0, shape)))]
    ins += [(f"g{k}", _f32(rng.standard_normal(shape))) for k in (1, 2, 3)]
    rows, cols = 6, 5
    ins += [("pred", _f32(rng.standard_normal((rows, cols)))),
            ("target", _f32(rng.standard_normal((rows, cols)))),
            ("prob", _f32(1.0 / (1.0 + np.exp(-rng.standard_normal((rows, cols)))))),
            ("label01", _f32(rng.randint(0, 2, (rows, cols)))),
            ("var", _f32(rng.uniform(0.5, 2.0, (rows, cols)))),
            ("classes", rng.randint(0, cols, rows).astype(np.int64))]
    t = {n: torch.from_numpy(a).double() if a.dtype == np.float32 else torch.from_numpy(a) for n, a in ins}

    def run(make):
        p = torch.nn.Parameter(t["p"].clone())
        opt = make([p])
        for k in (1, 2, 3):
            p.grad = t[f"g{k}"].clone()
            opt.step()
        return p.detach(), opt.state[p]

    sgd, _ = run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9))
    adam, state = run(lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8))
    adamw, _ = run(lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1))
    pred, target = t["pred"], t["target"]
    residual = target - pred
    outputs = [("sgd", sgd), ("adam", adam), ("adamw", adamw),
               ("adam_m", state["exp_avg"]), ("adam_v", state["exp_avg_sq"]),
               ("l1", F.l1_loss(pred, target)),
               ("mse", F.mse_loss(pred, target)),
               ("cross_entropy", F.cross_entropy(pred, t["classes"])),
               ("cross_entropy_soft", F.cross_entropy(pred, torch.softmax(target, dim=1))),
               ("bce", F.binary_cross_entropy(t["prob"], t["label01"])),
               ("gaussian_nll", F.gaussian_nll_loss(pred, target, t["var"])),
               (f"pinball_{PINBALL_Q}", torch.maximum(PINBALL_Q * residual, (PINBALL_Q - 1) * residual).mean())]
    outputs = [(n, _f32(v.numpy())) for n, v in outputs]
    _finite(TRAINING_OPS, [a for _, a in outputs])
    folder = out / TRAINING_OPS
    if folder.exists():
        shutil.rmtree(folder)
    sizes = _write(out, _data_files(f"{TRAINING_OPS}/test_data_set_0", ins, outputs))
    losses = [(n, float(a)) for n, a in outputs if a.ndim == 0]
    summary = ("inputs: " + ", ".join(n for n, _ in ins) + "; outputs: " + ", ".join(n for n, _ in outputs))
    return Result(TRAINING_OPS, sizes, losses, [], 0, summary)


# --------------------------------------------------------------------------------------------
# TRAINING.md
# --------------------------------------------------------------------------------------------

def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def write_index(out: Path, results: List[Result]) -> None:
    total = sum(sum(r.files.values()) for r in results)
    lines = [
        "# Training goldens (`workloads/models/`)",
        "",
        f"Written by `{SCRIPT_REL}`; do not edit by hand. One training step of each small",
        "workload case (the twins of `workloads/python/twins.py`), run by PyTorch, for rdasim's autodiff and",
        "optimizers; `training_ops` pins the optimizers and losses alone.",
        "",
        "```",
        "<case>/training_set_0/input_K.pb    the case's graph inputs (test_data_set_0's), then each loss",
        "                                    term's target/<output> (and mask/<output>)",
        "<case>/training_set_0/output_K.pb   loss (shape []), grad/<name> for every trainable parameter",
        "                                    (named_parameters() order), then new/<name> after one step",
        "ensemble/builder.txt                rdasim MODEL arguments: two DCRNN members of the dcrnn case",
        "ensemble/training_set_0/            every name prefixed member<m>/; no model.onnx, so the",
        "                                    members' initial parameters are inputs; no loss output",
        "training_ops/test_data_set_0/       optimizers (3 steps) and loss functions alone; no model",
        "```",
        "",
        "Each `.pb` is one serialized `onnx.TensorProto` with its name set; `<name>` is rdasim's",
        "(the state-dict name with '.' replaced by '/'), `<output>` the ONNX graph output's name.",
        "A model case starts from exactly the committed `model.onnx` initializers and",
        "`test_data_set_0` inputs (the script checks both, and that the float64 forward reproduces",
        "`test_data_set_0`'s outputs); targets and masks are drawn from `np.random.RandomState(1)`.",
        "The step: the module in train() with every BatchNorm in eval() (normalized with the running",
        "statistics, which do not change; no dropout), forward, loss, backward, one optimizer step.",
        "It runs in float64 on the float32 weights, inputs and targets, and the results are rounded to",
        "float32 once. Tolerances: a float32 step differs from it by about 1e-6 relative in the",
        "gradients, but Adam's first step is lr g / (|g| + eps), so where |g| is of the order of",
        "eps (some of `lensing_encoder`'s conv weights have |g| ~ 1e-8) a float32 update can differ",
        "by a few percent of lr: compare new/ with an absolute tolerance of that order, not relative.",
        "",
        "Optimizers (PyTorch's; t the step, from 1; g the gradient):",
        "",
        "- Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;",
        "  p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) (eps added after the bias",
        "  correction: PyTorch's form, not TensorFlow's epsilon-hat, which matters for eps 1e-3).",
        "- AdamW: p -= lr wd p first, then the Adam step.",
        "- SGD with momentum: b = g at t = 1, b = momentum b + g after; p -= lr b.",
        "",
        "| case | loss | optimizer | trainable params | loss value | files | size |",
        "|---|---|---|---|---|---|---|",
    ]
    texts = {tc.name: (tc.loss_text, tc.optimizer_text) for tc in TRAIN_CASES}
    texts[ENSEMBLE] = ("as dcrnn, for each member (same x, target and mask); members initialized with "
                       "init_parameters(seed=0) and (seed=1)", "as dcrnn, each member its own")
    texts[TRAINING_OPS] = ("l1, mse, cross_entropy (class indices; probability targets = softmax(target)), "
                           "bce, gaussian_nll (full False, eps 1e-6), pinball_0.9 = mean(max(q r, (q - 1) r)), "
                           "r = target - pred", "sgd (lr 0.1, momentum 0.9), adam (lr 0.01), adamw (lr 0.01, "
                           "weight decay 0.1): 3 steps with g1, g2, g3; adam_m, adam_v: Adam's moments after")
    for r in results:
        loss_text, opt_text = texts[r.name]
        values = "<br>".join(f"{label} {value:.7g}" for label, value in r.losses)
        trainable = f"{r.trainable:,}" if r.trainable else "-"
        lines.append(f"| `{r.name}` | {loss_text} | {opt_text} | {trainable} | {values} | "
                     f"{len(r.files)} | {_kb(sum(r.files.values()))} |")
    lines += ["", f"{len(results)} sets, {_kb(total)} in all.", ""]
    for r in results:
        lines.append(f"- `{r.name}`: {r.summary}")
    lines += [
        "",
        "To regenerate (seeded, single-threaded: re-running gives byte-identical files), after",
        "`workloads/python/export_workloads.py`, with Debian's `python3-torch` and `python3-onnx`:",
        "",
        "```sh",
        f"/usr/bin/python3 {SCRIPT_REL}            # writes the training sets and this file",
        f"/usr/bin/python3 {SCRIPT_REL} --check    # exit 1 if the files differ from a fresh export",
        "```",
        "",
    ]
    (out / "TRAINING.md").write_text("\n".join(lines))


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def export_all(out: Path, models: Path = DEFAULT_OUT, verbose: bool = True) -> List[Result]:
    import torch
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for tc in TRAIN_CASES:
        results.append(export_model_case(tc, out, models))
    results.append(export_ensemble(out, models))
    results.append(export_training_ops(out))
    write_index(out, results)
    if verbose:
        for r in results:
            print(f"{r.name:<16} {_kb(sum(r.files.values())):>10}  " +
                  ", ".join(f"{label} {value:.7g}" for label, value in r.losses))
            for label, d in r.differences:
                print(f"{'':<16} {label}: {d.text()}")
        print(f"{len(results)} sets, {_kb(sum(sum(r.files.values()) for r in results))} in all, in {out}")
    return results


def owned(rel: str) -> bool:
    """The paths under the output folder that this script writes."""
    parts = Path(rel).parts
    if rel == "TRAINING.md" or parts[0] in (ENSEMBLE, TRAINING_OPS):
        return True
    return len(parts) > 2 and parts[0] in {tc.name for tc in TRAIN_CASES} and parts[1].startswith("training_set_")


def check(out: Path) -> int:
    """Re-exports into a temporary folder (from the model cases in `out`) and compares; 0 if identical."""
    managed = [tc.name for tc in TRAIN_CASES] + [ENSEMBLE, TRAINING_OPS]
    return compare_export(out, lambda root: export_all(root, models=out, verbose=False), managed, SCRIPT_REL, owned)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Export one PyTorch training step (loss, gradients, updated parameters; float64 ground truth) "
                    "of each small workload case, a 2-member DCRNN ensemble, and optimizer/loss references "
                    "(workloads/models/<case>/training_set_0/, ensemble/, training_ops/, TRAINING.md).",
        epilog="Needs Debian's python3-torch and python3-onnx; run with /usr/bin/python3.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"the models folder (default: {DEFAULT_OUT.relative_to(REPO_ROOT)} in the repository); "
                             "its committed model cases are read, and the training sets written beside them")
    parser.add_argument("--check", action="store_true",
                        help="export into a temporary folder and report whether the files in --out are identical")
    args = parser.parse_args(argv)
    if not packages_present():
        return 2
    if args.check:
        return check(args.out)
    try:
        export_all(args.out)
    except RuntimeError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
