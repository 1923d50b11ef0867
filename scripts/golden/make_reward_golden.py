#!/usr/bin/env python3
"""Golden reference for camelid's reward model (LLaMA-2 §3.2.2; trl's RewardTrainer loss) on stories260K.

stories260K's GGUF weights are read with llama.cpp's gguf-py and the model is written out in plain
PyTorch, float64, as Meta's reference LLaMA computes it on these (llama.cpp-layout) weights: RMSNorm,
RoPE on adjacent pairs (Meta's apply_rotary_emb, llama.cpp's NORM rope), grouped-query attention with
causal mask, SwiGLU. LoRA (dropout 0) on all seven projections, y += alpha/r * B (A x). The reward model
is Hugging Face's LlamaForSequenceClassification with one label: score = w . h, h the final-norm hidden
state of each sequence's last token; the loss is trl's RewardTrainer's
    -logsigmoid(r_chosen - r_rejected - margin).mean().
For one batch of pairs it records the rewards, the loss with and without margins and every LoRA and head
gradient of both, then the losses of 10 steps of torch.optim.AdamW with clip_grad_norm_.

Run: PYTHONPATH=/work/llama.cpp/gguf-py python3 scripts/golden/make_reward_golden.py
     (pyenv python3 with torch 2.x CPU; Debian's python3 has no torch here). Test time needs no Python.
Writes test/train/golden/reward-golden.json (settings, tokens, small arrays) and reward-golden.f32 (tensors).
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from gguf import GGUFReader

torch.manual_seed(2024)
torch.set_default_dtype(torch.float64)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "..", "shared", "models", "stories260K.gguf")
OUT = os.path.join(ROOT, "test", "train", "golden")

reader = GGUFReader(MODEL)
field = lambda key: reader.fields[key].parts[-1][0]
C = int(field("llama.embedding_length"))
H = int(field("llama.feed_forward_length"))
L = int(field("llama.block_count"))
NH = int(field("llama.attention.head_count"))
NKV = int(field("llama.attention.head_count_kv"))
ROPE_DIM = int(field("llama.rope.dimension_count"))
EPS = float(field("llama.attention.layer_norm_rms_epsilon"))
THETA = float(reader.fields["llama.rope.freq_base"].parts[-1][0]) if "llama.rope.freq_base" in reader.fields else 10000.0
HS = C // NH
KVC = NKV * HS
W = {t.name: torch.tensor(np.array(t.data, dtype=np.float64)) for t in reader.tensors}
V = W["token_embd.weight"].shape[0]

LORA = dict(rank=2, alpha=4.0, dropout=0.0, targets=["q", "k", "v", "o", "gate", "up", "down"])
OPTIM = dict(learningRate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weightDecay=0.01, maxGradNorm=1.0, steps=10)
R, SCALE = LORA["rank"], LORA["alpha"] / LORA["rank"]
# target -> (GGUF tensor, out features, in features)
PROJ = {"q": ("attn_q", C, C), "k": ("attn_k", KVC, C), "v": ("attn_v", KVC, C), "o": ("attn_output", C, C),
        "gate": ("ffn_gate", H, C), "up": ("ffn_up", H, C), "down": ("ffn_down", C, H)}


def f32(t):
    """Round to float32 (what the engine stores) and compute on in float64."""
    return t.to(torch.float32).to(torch.float64)


# LoRA A like kaiming-uniform, B non-zero (a fresh B = 0 would leave A's gradients all zero), head as HF's init
lora = {}
for l in range(L):
    for p in LORA["targets"]:
        _, out_f, in_f = PROJ[p]
        lora[f"blk.{l}.{PROJ[p][0]}.weight.lora_a"] = f32((torch.rand(R, in_f) * 2 - 1) / math.sqrt(in_f)).requires_grad_()
        lora[f"blk.{l}.{PROJ[p][0]}.weight.lora_b"] = f32((torch.rand(out_f, R) * 2 - 1) * 0.05).requires_grad_()
head = f32(torch.randn(C) * 0.02 * 10).requires_grad_()  # x10: rewards of a visible size


def rmsnorm(x, w):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + EPS) * w


def rope(x, T):
    # x [B, T, heads, HS]: adjacent pairs (2i, 2i+1) of the first ROPE_DIM dims rotated by pos * THETA^(-2i/ROPE_DIM)
    freqs = THETA ** (-torch.arange(0, ROPE_DIM, 2, dtype=torch.float64) / ROPE_DIM)
    angles = torch.arange(T, dtype=torch.float64)[:, None] * freqs[None, :]  # [T, ROPE_DIM/2]
    cos, sin = torch.cos(angles)[None, :, None, :], torch.sin(angles)[None, :, None, :]
    rot = x[..., :ROPE_DIM]
    x0, x1 = rot[..., 0::2], rot[..., 1::2]
    out = torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)
    return torch.cat([out, x[..., ROPE_DIM:]], dim=-1)


def linear(x, l, p):
    name = f"blk.{l}.{PROJ[p][0]}.weight"
    y = x @ W[name].T
    if p in LORA["targets"]:
        y = y + SCALE * ((x @ lora[name + ".lora_a"].T) @ lora[name + ".lora_b"].T)
    return y


def hidden_states(tokens):
    """tokens [B, T] -> final-norm hidden states [B, T, C]."""
    B, T = tokens.shape
    x = W["token_embd.weight"][tokens]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(L):
        h = rmsnorm(x, W[f"blk.{l}.attn_norm.weight"])
        q = rope(linear(h, l, "q").view(B, T, NH, HS), T)
        k = rope(linear(h, l, "k").view(B, T, NKV, HS), T)
        v = linear(h, l, "v").view(B, T, NKV, HS)
        k = k.repeat_interleave(NH // NKV, dim=2)
        v = v.repeat_interleave(NH // NKV, dim=2)
        att = (q.transpose(1, 2) @ k.transpose(1, 2).transpose(-1, -2)) / math.sqrt(HS) + mask
        out = (F.softmax(att, dim=-1) @ v.transpose(1, 2)).transpose(1, 2).reshape(B, T, C)
        x = x + linear(out, l, "o")
        h = rmsnorm(x, W[f"blk.{l}.ffn_norm.weight"])
        x = x + linear(F.silu(linear(h, l, "gate")) * linear(h, l, "up"), l, "down")
    return rmsnorm(x, W["output_norm.weight"])


# one batch of pairs: sequences of several lengths, padded after their end, scored on their last token
gen = torch.Generator().manual_seed(7)
lengths = [(7, 5), (4, 9), (10, 6)]
T = max(max(pair) for pair in lengths)
sequences = [[torch.randint(1, V, (n,), generator=gen).tolist() for n in pair] for pair in lengths]
margins = [0.5, 0.0, 1.25]
P = len(lengths)


def rewards():
    rows = [pair[0] for pair in sequences] + [pair[1] for pair in sequences]
    tokens = torch.zeros(2 * P, T, dtype=torch.long)
    for s, row in enumerate(rows):
        tokens[s, : len(row)] = torch.tensor(row)
    h = hidden_states(tokens)
    last = torch.stack([h[s, len(row) - 1] for s, row in enumerate(rows)])
    r = last @ head
    return r[:P], r[P:]


def reward_loss(with_margins):
    chosen, rejected = rewards()
    m = torch.tensor(margins) if with_margins else torch.zeros(P)
    return -F.logsigmoid(chosen - rejected - m).mean(), chosen, rejected


params = list(lora.values()) + [head]
names = list(lora.keys()) + ["reward_head.weight"]
tensors = []  # (name, tensor)
for name, t in zip(names, params):
    tensors.append((name, t.detach().clone()))
results = {}
for label, with_margins in [("margins", True), ("noMargins", False)]:
    for p in params:
        p.grad = None
    loss, chosen, rejected = reward_loss(with_margins)
    loss.backward()
    results[label] = {"loss": loss.item(), "chosen": chosen.tolist(), "rejected": rejected.tolist()}
    for name, p in zip(names, params):
        tensors.append((f"grad.{label}.{name}", p.grad.detach().clone()))

optimizer = torch.optim.AdamW(params, lr=OPTIM["learningRate"], betas=(OPTIM["beta1"], OPTIM["beta2"]), eps=OPTIM["eps"], weight_decay=OPTIM["weightDecay"])
trajectory, grad_norms = [], []
for step in range(OPTIM["steps"]):
    optimizer.zero_grad()
    loss, _, _ = reward_loss(True)
    loss.backward()
    grad_norms.append(torch.nn.utils.clip_grad_norm_(params, OPTIM["maxGradNorm"]).item())
    optimizer.step()
    trajectory.append(loss.item())
final_loss, _, _ = reward_loss(True)

os.makedirs(OUT, exist_ok=True)
offset = 0
index = []
with open(os.path.join(OUT, "reward-golden.f32"), "wb") as f:
    for name, t in tensors:
        flat = t.reshape(-1).to(torch.float32).numpy()
        f.write(flat.tobytes())
        index.append({"name": name, "shape": list(t.shape), "offset": offset, "length": int(flat.size)})
        offset += int(flat.size)
meta = {
    "model": "stories260K.gguf",
    "lora": LORA,
    "optimizer": OPTIM,
    "pairs": [{"chosen": s[0], "rejected": s[1], "margin": m} for s, m in zip(sequences, margins)],
    "T": T,
    "expected": results,
    "expectedTrajectory": trajectory,
    "expectedGradNorms": grad_norms,
    "expectedFinalLoss": final_loss.item(),
    "tensors": index,
}
with open(os.path.join(OUT, "reward-golden.json"), "w") as f:
    json.dump(meta, f, indent=1)
    f.write("\n")
print(json.dumps({k: results[k]["loss"] for k in results}), trajectory[0], trajectory[-1], final_loss.item())
