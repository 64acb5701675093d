#!/usr/bin/python3
"""Times LLM serving on one GPU as Argonne's benchmark measured it (shared/validation/): the
PyTorch twin of rdasim's `llm` builder (workloads/python/llm_twin.py, Hugging Face's Llama written
the usual way) with random weights (a time does not depend on their values), a static batch of B
prompts of I tokens, then I further tokens generated greedily with the KV cache growing (input
length = output length). Per row: the time to first token (the prefill), the mean and p50/p99
time of a decode step, the end-to-end latency and the measured files' throughput,
B x (I + O) / latency. Writes <gpu>-llm.csv and <gpu>-llm.json (command, versions, device) into
--out (results/gpu), a row as it finishes. `rdasim serve MODEL --system FILE --devices 1 --batch B
--input-len I --output-len I --framework eager` is the model's prediction for the same row.

Usage (with the PyTorch that sees the GPU):
    python3 tools/gpu/measure_llm.py                                  # llama-3-8b, batches 1 and 16, 128 and 1024
    python3 tools/gpu/measure_llm.py --models llama-2-7b --batches 1 --lengths 128
    /usr/bin/python3 tools/gpu/measure_llm.py --device cpu --smoke --out /tmp/m   # a check of the script itself
    python3 tools/gpu/measure.py --llm ...                            # the same, from measure.py
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "workloads" / "python"))
from llm_twin import LlamaConfig, LlamaTwin  # noqa: E402

COLUMNS = ["model", "batch", "input_len", "output_len", "precision", "device", "ttft_s", "decode_mean_s",
           "decode_p50_s", "decode_p99_s", "latency_s", "throughput_tok_s", "output_tok_s"]


class DeviceTwin(LlamaTwin):
    """The twin with its rotary tables and causal mask made on the weights' device (the twin
    builds them on the CPU, as its ONNX export wants)."""

    def rotary(self, positions, dtype):
        cos, sin = super().rotary(positions, dtype)
        device = self.lm_head.weight.device
        return cos.to(device), sin.to(device)

    def causal_mask(self, s, past, dtype):  # noqa: D102 (the base's, on the device)
        return LlamaTwin.causal_mask(s, past, dtype).to(self.lm_head.weight.device)


def config_path(model: str) -> Path:
    path = Path(model)
    return path if path.suffix == ".json" else REPO_ROOT / "configs" / "llm" / f"{model}.json"


def sync(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def serve_static_batch(model: DeviceTwin, batch: int, length: int, device: torch.device) -> Dict[str, float]:
    """One static batch: the prefill (its first token) and length - 1 decode steps."""
    ids = torch.randint(0, model.c.vocab, (batch, length), device=device)
    with torch.no_grad():
        sync(device)
        start = time.perf_counter()
        logits, *cache = model(ids)
        token = logits[:, -1].argmax(-1, keepdim=True)
        sync(device)
        ttft = time.perf_counter() - start
        steps: List[float] = []
        for _ in range(length - 1):
            t0 = time.perf_counter()
            logits, *cache = model(token, *cache)
            token = logits[:, -1].argmax(-1, keepdim=True)
            sync(device)
            steps.append(time.perf_counter() - t0)
    latency = ttft + sum(steps)
    ordered = sorted(steps) or [0.0]
    return {"ttft_s": ttft, "decode_mean_s": statistics.fmean(steps) if steps else 0.0,
            "decode_p50_s": ordered[len(ordered) // 2], "decode_p99_s": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "latency_s": latency, "throughput_tok_s": batch * 2 * length / latency,
            "output_tok_s": batch * length / latency}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["llama-3-8b"],
                        help="shipped LLM configs (configs/llm/) or config.json paths; Llama architecture only")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 1024],
                        help="input length, which is also the output length (Argonne's input_output_length)")
    parser.add_argument("--precision", default="bf16", choices=["bf16", "fp16", "fp32"])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (a check of the script only)")
    parser.add_argument("--smoke", action="store_true", help="tiny-llama at lengths 8, for checking the script")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "gpu")
    parser.add_argument("--name", help="file stem instead of the GPU's (h100, a100, ...)")
    return parser.parse_args(argv)


def gpu_slug(name: str) -> str:
    for known in ("gh200", "h200", "h100", "a100", "v100", "l40s", "mi300x"):
        if known in name.lower():
            return known
    return "gpu"


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("measure_llm.py: no CUDA GPU is visible to this PyTorch (use --device cpu --smoke to check the script)",
              file=sys.stderr)
        return 2
    models = ["tiny-llama"] if args.smoke else args.models
    lengths = [8] if args.smoke else args.lengths
    batches = [1, 2] if args.smoke else args.batches
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.precision]
    torch.manual_seed(0)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    slug = (args.name or (gpu_slug(device_name) if device.type == "cuda" else "cpu")) + "-llm"
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"command": "python3 tools/gpu/measure_llm.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": device_name, "torch": torch.__version__, "cuda": torch.version.cuda,
            "python": platform.python_version(), "smoke": args.smoke, "weights": "random (torch.manual_seed(0))"}
    (args.out / f"{slug}.json").write_text(json.dumps(meta, indent=2) + "\n")
    with open(args.out / f"{slug}.csv", "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=COLUMNS)
        out.writeheader()
        for name in models:
            config = LlamaConfig(config_path(name))
            model = DeviceTwin(config).to(device=device, dtype=dtype).eval()
            serve_static_batch(model, 1, 4, device)  # warm-up: kernels, allocator, cuBLAS handles
            for length in lengths:
                for batch in batches:
                    row = {"model": Path(name).stem, "batch": batch, "input_len": length, "output_len": length,
                           "precision": args.precision, "device": device_name}
                    row.update(serve_static_batch(model, batch, length, device))
                    out.writerow(row)
                    f.flush()
                    print(f"{row['model']} batch {batch} {length}/{length}: TTFT {row['ttft_s'] * 1e3:.1f} ms, "
                          f"decode {row['decode_mean_s'] * 1e3:.2f} ms/token, {row['latency_s']:.2f} s", flush=True)
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
