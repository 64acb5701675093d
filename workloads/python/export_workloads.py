#!/usr/bin/python3
"""Export small configurations of rdasim's science workloads, as their PyTorch twins, to ONNX with
golden test data (workloads/models/<case>/).

Why: rdasim builds the lensing, inversion and DCRNN graphs itself (workloads/*.cpp). The twins in
twins.py mirror those builders op for op and parameter for parameter, so a twin's ONNX export
and the builder's graph can be compared (`rdasim graph`: the same params and FLOPs), and the
export, with its trained-shaped weights and expected outputs, checks rdasim's functional
reference on the real workloads (`rdasim check`).

Naming: rdasim maps an ONNX initializer name to a builder tensor name by replacing every '.'
with '/', so a twin's state-dict names are the builder's names. This script exports without
constant folding and with TrainingMode.PRESERVE on a module in eval() (BatchNormalization is not
fused into Conv), then verifies that the initializers are exactly the twin's parameters and
buffers, none renamed or folded. Buffers (BatchNorm running statistics, the Laplace kernel, the
diffusion supports, zero states) are listed in the model's metadata_props under
"rdasim.constants", comma-separated, so that rdasim makes them constants and its parameter count
is nn.Module's trainable count.

Ground truth, as export_golden.py: models and inputs are float32; the expected outputs come from
the same twin run in float64 (module.double() on the float32 values, inputs widened) and rounded
to float32 once.

Layout (ONNX's backend test suite's, as export_golden.py writes):
    <out>/<case>/model.onnx
    <out>/<case>/test_data_set_0/input_K.pb    graph inputs, in order (serialized TensorProto)
    <out>/<case>/test_data_set_0/output_K.pb   graph outputs, in order
    <out>/<case>/builder.txt                   one line: the rdasim MODEL arguments that build
                                               the same configuration with the C++ builder
    <out>/README.md                            the index (<out>/golden/ is export_golden.py's)

To regenerate, with Debian's interpreter and packages (python3-torch 1.13, python3-onnx 1.12):
    /usr/bin/python3 workloads/python/export_workloads.py
    /usr/bin/python3 workloads/python/export_workloads.py --check   # are the files current?
Everything is seeded and single-threaded: re-running writes byte-identical files.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import io
import shutil
import sys
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Tuple

try:
    import numpy as np
except ImportError:  # reported by main()
    np = None

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_golden import (  # noqa: E402  (the same seeding, tensor files and byte-for-byte check)
    _flatten, _seed, _strip_doc_strings, _tensor_bytes, compare_export, packages_present)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "workloads" / "models"
SCRIPT_REL = "workloads/python/export_workloads.py"
OPSET = 13
CONSTANTS_KEY = "rdasim.constants"


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    name: str
    description: str
    builder: str  # rdasim MODEL arguments for the same configuration
    graph_name: str  # the builder's graph name
    # (rng) -> (module, float32 input tensors, input names, output names); called after seeding
    build: Callable


def _f32(array):
    import torch
    return torch.from_numpy(np.asarray(array, dtype=np.float32))


def lensing_images(rng: np.random.RandomState, batch: int, size: int) -> np.ndarray:
    """Mock strong-lensing cutouts in [0, 1], [batch, 3, size, size]: an elliptical lens galaxy,
    a lensed arc on an Einstein ring, a few compact sources, in three bands, with sky noise."""
    yy, xx = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64), indexing="ij")
    images = np.zeros((batch, 3, size, size))
    for b in range(batch):
        cx, cy = size / 2 + rng.uniform(-2, 2, 2)
        dx, dy = xx - cx, yy - cy
        angle, q = rng.uniform(0, np.pi), rng.uniform(0.6, 1.0)
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = (-dx * np.sin(angle) + dy * np.cos(angle)) / q
        lens = np.exp(-(u * u + v * v) / (2 * (size * rng.uniform(0.04, 0.08)) ** 2))
        radius = size * rng.uniform(0.2, 0.3)
        r, theta = np.hypot(dx, dy), np.arctan2(dy, dx)
        arc = np.exp(-(r - radius) ** 2 / (2 * (size * 0.015 + 0.5) ** 2)) \
            * (0.15 + 0.85 * np.exp(3.0 * (np.cos(theta - rng.uniform(-np.pi, np.pi)) - 1.0)))
        stars = np.zeros_like(xx)
        for _ in range(3):
            sx, sy = rng.uniform(0, size, 2)
            stars += rng.uniform(0.2, 0.6) * np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / (2 * 1.2 ** 2))
        colours = [(0.9, 0.3, 0.5), (0.7, 0.6, 0.5), (0.5, 0.9, 0.5)]  # lens red, arc blue
        for band, (c_lens, c_arc, c_star) in enumerate(colours):
            images[b, band] = c_lens * lens + c_arc * arc + c_star * stars + 0.05 \
                + rng.standard_normal((size, size)) * 0.02
    return np.clip(images, 0.0, 1.0).astype(np.float32)


def build_lensing(stage: str, batch: int, size: int, feats: int, blocks: int):
    def build(rng):
        from twins import LensingPipeline, init_parameters
        module = LensingPipeline(stage, feats, blocks)
        init_parameters(module, seed=int(rng.randint(2 ** 31)))
        image = _f32(lensing_images(rng, batch, size))
        if stage in ("denoise", "deblend"):
            return module, [image], ["image"], [stage]
        eps = _f32(rng.standard_normal((batch, 10)))
        return module, [image, eps], ["image", "eps"], ["detection", "parameters"]
    return build


def response_functions(rng: np.random.RandomState, count: int, omegas: int) -> np.ndarray:
    """Random R(omega) >= 0, [count, omegas]: one or two Gaussian peaks, sum rule sum R d_omega = 1."""
    from twins import OMEGA_STEP
    omega = OMEGA_STEP * (np.arange(omegas) + 0.5)
    r = np.zeros((count, omegas))
    for i in range(count):
        for _ in range(rng.randint(1, 3)):
            r[i] += rng.uniform(0.3, 1.0) * np.exp(-(omega - rng.uniform(15, 150)) ** 2 / (2 * rng.uniform(5, 40) ** 2))
    return r / (r.sum(1, keepdims=True) * OMEGA_STEP)


def build_inversion(batch: int, taus: int, omegas: int, centres: int, hidden: int):
    def build(rng):
        import torch
        from twins import InversionNet, init_parameters, laplace_kernel
        module = InversionNet(taus, omegas, centres, hidden)
        init_parameters(module, seed=int(rng.randint(2 ** 31)))
        k = laplace_kernel(taus, omegas)
        e = response_functions(rng, batch, omegas) @ k.T
        e = e + rng.standard_normal(e.shape) * 1e-4  # measurement noise
        # RBF centres: responses of other R(omega); scales so that |E - c| s is of order 1.
        c = response_functions(rng, centres, omegas) @ k.T
        dist = np.sqrt(((e[:, None, :] - c[None, :, :]) ** 2).sum(2))
        s = rng.uniform(0.5, 1.5, centres) / np.median(dist)
        with torch.no_grad():
            module.rbf.centres.copy_(_f32(c))
            module.rbf.scales.copy_(_f32(s))
        return module, [_f32(e)], ["E"], ["R", "E_hat"]
    return build


def traffic_speeds(rng: np.random.RandomState, seq: int, batch: int, sensors: int) -> np.ndarray:
    """x [seq, batch, sensors, 2] as DCRNN reads METR-LA: z-scored speed (a daily dip per sensor,
    noise) and the time of day in [0, 1), steps of 5 minutes."""
    x = np.zeros((seq, batch, sensors, 2))
    base = rng.uniform(45, 68, sensors)
    depth = rng.uniform(0.1, 0.5, sensors)
    for b in range(batch):
        start = rng.randint(0, 288)
        for t in range(seq):
            tod = ((start + t) % 288) / 288.0
            rush = np.exp(-((tod - 0.33) ** 2) / 0.003) + np.exp(-((tod - 0.72) ** 2) / 0.004)
            speed = base * (1 - depth * rush) + rng.standard_normal(sensors) * 2.0
            x[t, b, :, 0] = (speed - 54.0) / 19.5  # METR-LA's mean and std, roughly
            x[t, b, :, 1] = tod
    return x.astype(np.float32)


def build_dcrnn(batch: int, sensors: int, nonzeros: int, units: int, seq: int, horizon: int, seed: int = 1):
    def build(rng):
        from twins import DCRNN, dense, diffusion_supports, generate_road_network, init_parameters
        # The road graph and supports the C++ builder makes for the same -p sensors/nonzeros/seed.
        w = dense(generate_road_network(sensors, nonzeros, seed), sensors)
        module = DCRNN(diffusion_supports(w, dual=True), batch, units, horizon)
        init_parameters(module, seed=int(rng.randint(2 ** 31)))
        return module, [_f32(traffic_speeds(rng, seq, batch, sensors))], ["x"], ["forecast"]
    return build


CASES = [
    Case("lensing_edsr", "one EDSR (stage denoise): F 8, 2 blocks, 2 images of 24 x 24",
         "lensing -p stage=denoise -p batch=2 -p image=24 -p feats=8 -p blocks=2", "lensing_denoise",
         build_lensing("denoise", 2, 24, 8, 2)),
    Case("lensing_encoder", "VIB encoder (5 conv + BatchNorm) with detection and modeling heads, 2 images of 111 x 111",
         "lensing -p stage=encoder -p batch=2 -p image=111", "lensing_encoder",
         build_lensing("encoder", 2, 111, 256, 16)),
    # No case for stage=full: it would repeat the encoder's 3 MB of weights and the committed
    # models must stay under 5 MB; the two cases above cover both of its modules.
    Case("inversion", "RBF (200 centres) -> MLP (hidden 64) -> R(omega), 500 points, sum rule -> Laplace kernel, 151 taus; batch 4",
         "inversion -p batch=4 -p taus=151 -p omegas=500 -p centres=200 -p hidden=64", "inversion",
         build_inversion(4, 151, 500, 200, 64)),
    # 61 nonzeros, not 60: with 12 sensors every pair is a candidate link, so an even count gives a
    # symmetric W, identical dual supports, and PyTorch would merge support2 into support1.
    Case("dcrnn", "dense-diffusion DCRNN: 12 sensors (61 nonzeros), U 8, K 2, 2 layers, dual random walk; seq 3, horizon 3, batch 2",
         "dcrnn -p diffusion=dense -p batch=2 -p sensors=12 -p nonzeros=61 -p units=8 -p seq=3 -p horizon=3", "dcrnn",
         build_dcrnn(2, 12, 61, 8, 3, 3)),
]


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Result:
    case: Case
    ops: List[str]
    files: Dict[str, int]  # relative path -> size in bytes
    trainable: int  # nn.Module's trainable parameter count
    constants: int  # elements of the floating buffers
    max_f32_error: float  # float32 PyTorch against the float64 golden
    problems: List[str]


def check_initializers(model, module) -> List[str]:
    """The initializers must be exactly the twin's parameters and floating buffers, under their
    state-dict names and shapes; none generated (onnx::..., a folded constant)."""
    from twins import constant_names
    expected = {name: tuple(p.shape) for name, p in module.named_parameters()}
    expected.update({name: tuple(module.get_buffer(name).shape) for name in constant_names(module)})
    got = {i.name: tuple(i.dims) for i in model.graph.initializer}
    problems = []
    for name in sorted(got.keys() - expected.keys()):
        problems.append(f"initializer {name} {list(got[name])} is not a twin parameter or buffer "
                        f"(rdasim name {name.replace('.', '/')})")
    for name in sorted(expected.keys() - got.keys()):
        problems.append(f"twin tensor {name} {list(expected[name])} is not an initializer (renamed or folded?)")
    for name in sorted(expected.keys() & got.keys()):
        if expected[name] != got[name]:
            problems.append(f"initializer {name}: shape {list(got[name])}, twin {list(expected[name])}")
    for name in got:
        if "::" in name or name.startswith("onnx") or name.startswith("_"):
            problems.append(f"initializer {name} has a generated name")
    return problems


def export_case(case: Case):
    import onnx
    import torch
    from twins import constant_names

    rng = _seed(0)
    module, inputs, input_names, output_names = case.build(rng)
    module.eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(inputs), buffer, opset_version=OPSET,
                          input_names=input_names, output_names=output_names,
                          do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    model = onnx.load_from_string(buffer.getvalue())

    reference = copy.deepcopy(module).double().eval()
    with torch.no_grad():
        golden64 = _flatten(reference(*[t.double() for t in inputs]))
        plain32 = _flatten(module(*inputs))
    if len(golden64) != len(model.graph.output):
        raise RuntimeError(f"{case.name}: {len(golden64)} PyTorch outputs but {len(model.graph.output)} graph outputs")
    golden = [g.numpy().astype(np.float32) for g in golden64]
    error = max(float(np.max(np.abs(p.double().numpy() - g.numpy()))) for p, g in zip(plain32, golden64))
    for g in golden:
        if not np.all(np.isfinite(g)):
            raise RuntimeError(f"{case.name}: a golden output is not finite")

    problems = check_initializers(model, module)
    _strip_doc_strings(model)
    model.graph.name = case.graph_name
    initializers = {i.name for i in model.graph.initializer}
    entry = model.metadata_props.add()
    entry.key = CONSTANTS_KEY
    entry.value = ",".join(n for n in constant_names(module) if n in initializers)
    onnx.checker.check_model(model)
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    constants = sum(module.get_buffer(n).numel() for n in constant_names(module))
    return model, [t.numpy() for t in inputs], golden, error, problems, trainable, constants


def _training_owned(name: str) -> bool:
    """<case>/training_set_N folders belong to export_training.py: kept here, and not compared."""
    return name.startswith("training_set_")


def write_case(out: Path, case: Case) -> Result:
    case_dir = out / case.name
    if case_dir.exists():  # all but the training sets, which export_training.py writes
        for entry in case_dir.iterdir():
            if _training_owned(entry.name):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    (case_dir / "test_data_set_0").mkdir(parents=True)
    model, inputs, golden, error, problems, trainable, constants = export_case(case)
    initializers = {i.name for i in model.graph.initializer}
    input_names = [vi.name for vi in model.graph.input if vi.name not in initializers]
    if len(input_names) != len(inputs):
        raise RuntimeError(f"{case.name}: {len(input_names)} graph inputs but {len(inputs)} arrays")
    files: Dict[str, bytes] = {"model.onnx": model.SerializeToString(), "builder.txt": (case.builder + "\n").encode()}
    for k, (name, arr) in enumerate(zip(input_names, inputs)):
        files[f"test_data_set_0/input_{k}.pb"] = _tensor_bytes(arr, name)
    for k, (vi, arr) in enumerate(zip(model.graph.output, golden)):
        files[f"test_data_set_0/output_{k}.pb"] = _tensor_bytes(arr, vi.name)
    for rel, data in files.items():
        (case_dir / rel).write_bytes(data)
    ops = list(dict.fromkeys(n.op_type for n in model.graph.node))
    return Result(case, ops, {rel: len(data) for rel, data in files.items()}, trainable, constants, error, problems)


# --------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------

def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KB"


def write_readme(out: Path, results: List[Result]) -> None:
    total = sum(sum(r.files.values()) for r in results)
    lines = [
        "# Workload models (`workloads/models/`)",
        "",
        f"Written by `{SCRIPT_REL}` (the twins: `workloads/python/twins.py`); do not",
        "edit by hand. `golden/` is a separate set, written by `workloads/python/export_golden.py`.",
        "",
        "Small configurations of rdasim's science workloads (lensing, inversion, DCRNN with dense",
        "diffusion) as PyTorch twins of the C++ builders (`workloads/*.cpp`) exported to ONNX, each with",
        "one set of inputs and expected outputs. A twin mirrors its builder op for op and parameter",
        "for parameter: an initializer's name with '.' replaced by '/' is the builder's tensor name,",
        "so `rdasim graph <case>/model.onnx` and `rdasim graph $(cat <case>/builder.txt)` should show the",
        "same parameters and FLOPs, and `rdasim check <case>/model.onnx` runs the workload with these",
        "weights against the expected outputs.",
        "",
        "```",
        "<case>/model.onnx                    float32, opset 13; BatchNormalization not fused",
        "<case>/builder.txt                   the rdasim MODEL arguments of the same configuration",
        "<case>/test_data_set_0/input_K.pb    graph inputs, in order (serialized onnx.TensorProto)",
        "<case>/test_data_set_0/output_K.pb   graph outputs, in order",
        "```",
        "",
        "`<case>/training_set_0/` (one training step's gradients and updated parameters), `ensemble/` and",
        "`training_ops/` are written by `workloads/python/export_training.py`: see `TRAINING.md`.",
        "",
        "Buffers (BatchNorm running statistics, `laplace_*`, `support*`, DCRNN's zero states) are listed",
        f"in the model's `metadata_props` under `{CONSTANTS_KEY}` (comma-separated initializer names): they",
        "are constants, not trained parameters. Weights are seeded random values of trained-like scale",
        "(uniform +-1/sqrt(fan_in); BatchNorm statistics non-trivial); inputs are mock lensing images",
        "in [0, 1], E(tau) of Gaussian R(omega) through the Laplace kernel, and z-scored traffic speeds",
        "with the time of day on the road graph the C++ generator makes for the same parameters.",
        "Expected outputs come from the twin run in float64, rounded to float32 once. (`dcrnn` has 61",
        "nonzeros, not an even count: with 12 sensors every pair is a candidate link, an even count",
        "gives a symmetric W and identical dual supports, and PyTorch would merge the two initializers.)",
        "",
        "To regenerate (seeded, single-threaded: re-running gives byte-identical files), with Debian's",
        "packages (`apt-get install python3-torch python3-onnx`; torch 1.13, onnx 1.12) and interpreter:",
        "",
        "```sh",
        f"/usr/bin/python3 {SCRIPT_REL}            # writes the case folders and this README",
        f"/usr/bin/python3 {SCRIPT_REL} --check    # exit 1 if the files differ from a fresh export",
        "```",
        "",
        "| case | what | builder (`rdasim graph ...`) | trainable params | constants | model | total |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| `{r.case.name}` | {r.case.description} | `{r.case.builder}` | {r.trainable:,} | "
                     f"{r.constants:,} | {_kb(r.files['model.onnx'])} | {_kb(sum(r.files.values()))} |")
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
    results, problems = [], []
    for case in CASES:
        r = write_case(out, case)
        results.append(r)
        problems += [f"{case.name}: {p}" for p in r.problems]
        if verbose:
            print(f"{case.name:<16} {_kb(sum(r.files.values())):>10}  {r.trainable:>9,} params  "
                  f"{r.constants:>7,} constants  float32 vs float64 max |diff| {r.max_f32_error:.2e}")
    write_readme(out, results)
    if verbose:
        total = sum(sum(r.files.values()) for r in results)
        print(f"{len(results)} cases, {_kb(total)} in all, in {out}")
    return results, problems


def check(out: Path) -> int:
    """Re-exports into a temporary folder and compares with `out`; 0 if identical."""
    names = {c.name for c in CASES}

    def owned(rel: str) -> bool:
        parts = Path(rel).parts
        return rel == "README.md" or (parts[0] in names and not (len(parts) > 2 and _training_owned(parts[1])))
    return compare_export(out, lambda root: export_all(root, verbose=False), sorted(names), SCRIPT_REL, owned)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Export small configurations of rdasim's lensing, inversion and DCRNN workloads, as PyTorch "
                    "twins of the C++ builders, to ONNX with float64-derived golden test data and the rdasim "
                    "builder arguments of each (workloads/models/<case>/).",
        epilog="Needs Debian's python3-torch and python3-onnx; run with /usr/bin/python3.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default: {DEFAULT_OUT.relative_to(REPO_ROOT)} in the repository)")
    parser.add_argument("--check", action="store_true",
                        help="export into a temporary folder and report whether the files in --out are identical")
    args = parser.parse_args(argv)
    if not packages_present():
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # twins.py
    if args.check:
        return check(args.out)
    _, problems = export_all(args.out)
    if problems:
        print("\nFAILED:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("\ninitializers: exactly the twins' parameters and buffers, under their own names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
