#!/usr/bin/python3
"""Export the PyTorch twin of rdasim's `llm` builder (llm_twin.py) at the tiny config
(configs/llm/tiny-llama.json) to ONNX, with golden test data: a prefill of 8 tokens for 2
sequences and 8 greedy decode steps with the KV cache (workloads/models/llm/).

Why: the builder (workloads/llm.cpp) and the ONNX importer must both reproduce what PyTorch
computes for a Llama written the usual way (rotate_half, repeat_kv by expand, a causal mask
built from arange). Ground truth is the twin run in float64 on the float32 weights, rounded to
float32 once; each decode step's token is the argmax of the step before and its past the float64
presents, so every step checks from the same state.

Layout:
    llm/prefill/model.onnx                 input_ids [2, 8] -> logits, presents (opset 13; --opset)
    llm/prefill/test_data_set_0/           the prefill
    llm/decode/model.onnx                  input_ids [2, 1], past [2, 2, past, 16] per layer
                                           (past: a symbolic dimension) -> logits, presents
    llm/decode/test_data_set_K/            decode step K + 1 (past = 8 + K)
    llm/builder/prefill/, decode_K/        the same data in the builder's layout: input_ids
                                           flat [B x S]; caches [B, past + S, KV heads, 16], the
                                           step's positions zero in the input
    llm/README.md                          this layout and the commands that check it

The initializers are exactly the twin's parameters under their state-dict names (checked), so
`rdasim check llm ... --weights llm/prefill/model.onnx` loads them into the builder's graph.

To regenerate (seeded, single-threaded: byte-identical files), with Debian's python3-torch and
python3-onnx:
    /usr/bin/python3 workloads/python/export_llm.py
    /usr/bin/python3 workloads/python/export_llm.py --check   # are the files current?
"""

from __future__ import annotations

import argparse
import copy
import io
import shutil
import sys
import warnings
from pathlib import Path
from typing import Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_golden import (  # noqa: E402
    _seed, _strip_doc_strings, _tensor_bytes, compare_export, packages_present)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "workloads" / "models"
CONFIG = REPO_ROOT / "configs" / "llm" / "tiny-llama.json"
SCRIPT_REL = "workloads/python/export_llm.py"
OPSET = 13
BATCH, PROMPT, STEPS = 2, 8, 8


def init_weights(module, rng: np.random.RandomState) -> None:
    """Linear weights uniform in +-1/sqrt(fan_in), as nn.Linear draws them; the embedding N(0, 1);
    RMSNorm scales in [0.8, 1.2], so that they matter."""
    import torch
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("embed_tokens.weight"):
                values = rng.standard_normal(p.shape)
            elif p.dim() == 1:
                values = rng.uniform(0.8, 1.2, p.shape)
            else:
                bound = 1.0 / np.sqrt(p.shape[1])
                values = rng.uniform(-bound, bound, p.shape)
            p.copy_(torch.from_numpy(np.asarray(values, dtype=np.float32)))


def cache_names(layers: int, kind: str) -> List[str]:
    return [f"layer{i}/{kind}_{kv}" for i in range(layers) for kv in ("key", "value")]


def export_onnx(module, inputs, input_names, output_names, dynamic_axes, opset: int) -> object:
    import onnx
    import torch
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(inputs), buffer, opset_version=opset, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=False)
    model = onnx.load_from_string(buffer.getvalue())
    _strip_doc_strings(model)
    onnx.checker.check_model(model)
    expected = {name: tuple(p.shape) for name, p in module.named_parameters()}
    got = {i.name: tuple(i.dims) for i in model.graph.initializer}
    if got != expected:
        raise RuntimeError(f"initializers {sorted(got)} are not the twin's parameters {sorted(expected)}")
    return model


def to_builder_cache(hf: np.ndarray, new_tokens: int) -> np.ndarray:
    """[B, KV heads, L, D] (Hugging Face) -> [B, L + new, KV heads, D]: the builder's state, with
    zeros where the step writes its `new_tokens` tokens."""
    b, kv, length, d = hf.shape
    out = np.zeros((b, length + new_tokens, kv, d), dtype=np.float32)
    out[:, :length] = hf.transpose(0, 2, 1, 3)
    return out


def write_set(folder: Path, inputs: List[np.ndarray], input_names: List[str], outputs: List[np.ndarray],
              output_names: List[str], files: Dict[str, bytes], root: Path) -> None:
    rel = folder.relative_to(root)
    for k, (name, arr) in enumerate(zip(input_names, inputs)):
        files[str(rel / f"input_{k}.pb")] = _tensor_bytes(arr, name)
    for k, (name, arr) in enumerate(zip(output_names, outputs)):
        files[str(rel / f"output_{k}.pb")] = _tensor_bytes(arr, name)


def export_all(out: Path, verbose: bool = True, opset: int = OPSET) -> Dict[str, bytes]:
    import torch
    from llm_twin import LlamaConfig, LlamaTwin
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = _seed(0)
    config = LlamaConfig(CONFIG)
    module = LlamaTwin(config).eval()
    init_weights(module, rng)
    reference = copy.deepcopy(module).double().eval()
    layers = config.layers
    past_names, present_names = cache_names(layers, "past"), cache_names(layers, "present")
    root = out / "llm"
    files: Dict[str, bytes] = {}

    # Prefill: 2 prompts of 8 tokens into an empty cache.
    ids = torch.from_numpy(rng.randint(0, config.vocab, (BATCH, PROMPT)).astype(np.int64))
    with torch.no_grad():
        golden = [t.numpy().astype(np.float32) for t in reference(ids)]
        plain = [t.numpy() for t in module(ids)]
    worst = max(float(np.max(np.abs(p - g))) for p, g in zip(plain, golden))
    prefill = export_onnx(module, [ids], ["input_ids"], ["logits"] + present_names, None, opset)
    files["llm/prefill/model.onnx"] = prefill.SerializeToString()
    write_set(root / "prefill/test_data_set_0", [ids.numpy()], ["input_ids"], golden, ["logits"] + present_names,
              files, out)
    builder_presents = [to_builder_cache(p, 0) for p in golden[1:]]
    write_set(root / "builder/prefill", [ids.numpy().reshape(-1)] + [np.zeros_like(p) for p in builder_presents],
              ["input_ids"] + past_names, [golden[0]] + builder_presents, ["logits"] + present_names, files, out)

    # Decode: each step's token the argmax of the last logits, the cache the float64 presents.
    past = [torch.from_numpy(p.astype(np.float64)) for p in golden[1:]]
    logits = golden[0][:, -1]
    decode_model = None
    for step in range(STEPS):
        token = torch.from_numpy(np.argmax(logits, axis=-1).astype(np.int64)[:, None])
        past32 = [p.to(torch.float32) for p in past]
        with torch.no_grad():
            outputs = reference(token, *past)
            golden = [t.numpy().astype(np.float32) for t in outputs]
            plain = [t.numpy() for t in module(token, *past32)]
        worst = max([worst] + [float(np.max(np.abs(p - g))) for p, g in zip(plain, golden)])
        if decode_model is None:
            axes = {name: {2: "past"} for name in past_names}
            axes.update({name: {2: "present"} for name in present_names})
            decode_model = export_onnx(module, [token] + past32, ["input_ids"] + past_names,
                                       ["logits"] + present_names, axes, opset)
            files["llm/decode/model.onnx"] = decode_model.SerializeToString()
        write_set(root / f"decode/test_data_set_{step}", [token.numpy()] + [p.numpy() for p in past32],
                  ["input_ids"] + past_names, golden, ["logits"] + present_names, files, out)
        write_set(root / f"builder/decode_{step}",
                  [token.numpy().reshape(-1)] + [to_builder_cache(p.numpy(), 1)
                                                 for p in past32],
                  ["input_ids"] + past_names,
                  [golden[0]] + [to_builder_cache(p, 0) for p in golden[1:]], ["logits"] + present_names,
                  files, out)
        past = [o.detach() for o in outputs[1:]]
        logits = golden[0][:, -1]

    files["llm/README.md"] = readme(worst, prefill, decode_model, opset).encode()
    if root.exists():
        shutil.rmtree(root)
    for rel, data in sorted(files.items()):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    if verbose:
        print(f"{len(files)} files, {sum(map(len, files.values())) / 1024:.1f} KB in {root}; "
              f"float32 PyTorch against the float64 golden: max |diff| {worst:.2e}")
    return files


def readme(worst: float, prefill, decode, opset: int) -> str:
    ops = sorted({n.op_type for m in (prefill, decode) for n in m.graph.node})
    return "\n".join([
        "# tiny-llama: the `llm` builder's PyTorch twin with golden data",
        "",
        f"Written by `{SCRIPT_REL}` from `workloads/python/llm_twin.py` and",
        "`configs/llm/tiny-llama.json` (2 layers, hidden 64, 4 query heads, 2 KV heads, vocab 256);",
        "do not edit by hand. Two sequences: a prefill of 8 tokens, then 8 greedy decode steps",
        "(past 8 to 15). Expected outputs: the twin in float64 on the float32 weights, rounded once;",
        f"float32 PyTorch differs from them by at most {worst:.2e}.",
        "",
        "```",
        "prefill/model.onnx, test_data_set_0/     input_ids [2, 8] -> logits [2, 8, 256], presents",
        "decode/model.onnx, test_data_set_K/      step K + 1: input_ids [2, 1], past [2, 2, 8 + K, 16]",
        "builder/prefill/, builder/decode_K/      the same in the builder's layout",
        "```",
        "",
        "Checked by CTest (`ctest -R llm.golden`):",
        "",
        "```sh",
        "rdasim check workloads/models/llm/prefill/model.onnx",
        "rdasim check workloads/models/llm/decode/model.onnx --inputs workloads/models/llm/decode/test_data_set_3 -p past=11",
        "rdasim check llm -p model=tiny-llama -p phase=decode -p batch=2 -p context=11 \\",
        "    --weights workloads/models/llm/prefill/model.onnx --inputs workloads/models/llm/builder/decode_3",
        "```",
        "",
        f"ONNX op kinds in the exports (opset {opset}): {', '.join(ops)}.",
        "",
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Export the tiny-llama PyTorch twin of rdasim's llm builder to ONNX with golden prefill and "
                    "decode data (workloads/models/llm/).",
        epilog="Needs Debian's python3-torch and python3-onnx; run with /usr/bin/python3.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default: {DEFAULT_OUT.relative_to(REPO_ROOT)}); writes <out>/llm/")
    parser.add_argument("--opset", type=int, default=OPSET, choices=range(13, 18), metavar="13..17",
                        help=f"ONNX opset of the exports (default {OPSET}; the committed files are at {OPSET})")
    parser.add_argument("--check", action="store_true",
                        help="export into a temporary folder and report whether the files in --out are identical")
    args = parser.parse_args(argv)
    if not packages_present():
        return 2
    if args.check:
        return compare_export(args.out, lambda root: export_all(root, verbose=False, opset=args.opset), ["llm"],
                              SCRIPT_REL, lambda rel: Path(rel).parts[0] == "llm")
    export_all(args.out, opset=args.opset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
