#!/usr/bin/python3
"""A PyTorch twin of rdasim's `llm` builder (workloads/llm.cpp), written the way Hugging Face's
LlamaForCausalLM is: RMSNorm, rotary embedding by rotate_half, grouped KV heads repeated by
expand (repeat_kv), an additive causal mask built from arange, SwiGLU, and the KV cache as
past keys and values concatenated with the step's.

It reads the same config.json as the builder (configs/llm/*.json) and its state-dict names are
Hugging Face's (model.layers.0.self_attn.q_proj.weight), which rdasim reads with '/' for '.'.
The rotary frequencies are computed in forward from Python numbers, so an ONNX export holds the
parameters as its only initializers.

Layouts as Hugging Face's: input_ids [B, S]; past and present keys and values [B, KV heads,
length, head dim]; logits [B, S, vocab].

Needs torch (Debian's python3-torch); export_llm.py exports it with test data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List, Optional, Tuple

import torch
from torch import nn

__all__ = ["LlamaConfig", "LlamaTwin"]


class LlamaConfig:
    """The fields of a Hugging Face config.json the builder reads (Llama architecture)."""

    def __init__(self, path: Path):
        c = json.loads(Path(path).read_text())
        if c["architectures"][0] != "LlamaForCausalLM":
            raise ValueError(f"{path}: the twin is a LlamaForCausalLM, not {c['architectures'][0]}")
        if c.get("rope_scaling"):
            raise ValueError(f"{path}: the twin has no rope_scaling")
        self.hidden = c["hidden_size"]
        self.intermediate = c["intermediate_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c["num_key_value_heads"]
        self.vocab = c["vocab_size"]
        self.eps = c["rms_norm_eps"]
        self.theta = c["rope_theta"]
        self.head_dim = self.hidden // self.heads


class RMSNorm(nn.Module):
    def __init__(self, hidden: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x, groups: int):
    """[B, KV heads, L, D] -> [B, KV heads x groups, L, D], as Hugging Face's repeat_kv."""
    if groups == 1:
        return x
    b, kv, length, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, groups, length, d).reshape(b, kv * groups, length, d)


class Attention(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.c = c
        d = c.head_dim
        self.q_proj = nn.Linear(c.hidden, c.heads * d, bias=False)
        self.k_proj = nn.Linear(c.hidden, c.kv_heads * d, bias=False)
        self.v_proj = nn.Linear(c.hidden, c.kv_heads * d, bias=False)
        self.o_proj = nn.Linear(c.heads * d, c.hidden, bias=False)

    def forward(self, x, cos, sin, mask, past_key, past_value):
        c = self.c
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, c.heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, c.kv_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, c.kv_heads, c.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_key is not None:
            k = torch.cat([past_key, k], dim=2)
            v = torch.cat([past_value, v], dim=2)
        present = (k, v)
        groups = c.heads // c.kv_heads
        k, v = repeat_kv(k, groups), repeat_kv(v, groups)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(c.head_dim) + mask
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, c.heads * c.head_dim)
        return self.o_proj(out), present


class Mlp(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden, c.intermediate, bias=False)
        self.up_proj = nn.Linear(c.hidden, c.intermediate, bias=False)
        self.down_proj = nn.Linear(c.intermediate, c.hidden, bias=False)

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden, c.eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden, c.eps)
        self.mlp = Mlp(c)

    def forward(self, x, cos, sin, mask, past_key, past_value):
        attn, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past_key, past_value)
        x = x + attn
        return x + self.mlp(self.post_attention_layernorm(x)), present


class Model(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab, c.hidden)
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c.layers)])
        self.norm = RMSNorm(c.hidden, c.eps)


class LlamaTwin(nn.Module):
    """forward(input_ids, *past) -> (logits, *presents): past and presents are, per layer, the
    key then the value cache. Without past: a prefill into an empty cache."""

    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.c = c
        self.model = Model(c)
        self.lm_head = nn.Linear(c.hidden, c.vocab, bias=False)

    def rotary(self, positions, dtype):
        """cos and sin [1, 1, S, D] at `positions` [S], as Hugging Face's LlamaRotaryEmbedding."""
        d = self.c.head_dim
        inv_freq = 1.0 / (self.c.theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        freqs = positions.to(torch.float32)[:, None] * inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype)[None, None], emb.sin().to(dtype)[None, None]

    @staticmethod
    def causal_mask(s: int, past, dtype):
        """[1, 1, S, past + S]: 0 where query i may see key j (j <= past + i), the dtype's minimum
        elsewhere; built as _make_causal_mask builds it."""
        mask = torch.full((s, s), torch.finfo(dtype).min, dtype=dtype)
        cond = torch.arange(mask.size(-1))
        mask = mask.masked_fill(cond < (cond + 1).view(mask.size(-1), 1), 0.0)
        if past is not None:
            mask = torch.cat([torch.zeros(s, past.shape[2], dtype=dtype), mask], dim=-1)
        return mask[None, None]

    def forward(self, input_ids, *past: torch.Tensor):
        s = input_ids.shape[1]
        first = past[0] if past else None
        start = first.shape[2] if first is not None else 0
        positions = torch.arange(start, start + s)
        x = self.model.embed_tokens(input_ids)
        cos, sin = self.rotary(positions, x.dtype)
        mask = self.causal_mask(s, first, x.dtype)
        presents: List[torch.Tensor] = []
        for i, layer in enumerate(self.model.layers):
            pk, pv = (past[2 * i], past[2 * i + 1]) if past else (None, None)
            x, (k, v) = layer(x, cos, sin, mask, pk, pv)
            presents += [k, v]
        return (self.lm_head(self.model.norm(x)), *presents)
