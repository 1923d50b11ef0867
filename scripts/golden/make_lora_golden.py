#!/usr/bin/env python3
"""Golden reference for camelid's training engine, in the spirit of llm.c's test_gpt2.c.

A tiny LLaMA (grouped-query attention, untied head) is written out in plain PyTorch the way Hugging
Face's LlamaForCausalLM computes it (rotate_half RoPE, repeat_kv), in float64, with LoRA on all seven
projections. For one fixed batch with a loss mask it records the logits, the masked mean loss and every
LoRA gradient, then the losses of 10 AdamW steps with gradient clipping.

Weights are exported the way llama.cpp's convert_hf_to_gguf.py writes them: GGUF tensor names and Q/K
rows permuted for llama.cpp's NORM RoPE (LoRA B of q/k permuted the same way, as convert_lora_to_gguf
does). The engine therefore has to get the permutation/RoPE pairing right to match.

Run: /usr/bin/python3 scripts/golden/make_lora_golden.py  (needs Debian's python3-torch; test time does not)
Writes test/engine/golden/lora-golden.json (metadata, small arrays) and lora-golden.f32 (float32 tensors).
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)

CONFIG = dict(vocabSize=32, dim=16, hiddenDim=40, nLayers=2, nHeads=4, nKvHeads=2, ropeDim=4,
              ropeTheta=10000.0, ropeFreqScale=1.0, normEps=1e-5, tiedOutput=False, contextLength=64)
LORA = dict(rank=4, alpha=8.0, dropout=0.0, targets=["q", "k", "v", "o", "gate", "up", "down"])
OPTIM = dict(learningRate=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weightDecay=0.01, maxGradNorm=1.0, steps=10)
B, T = 2, 8

V, C, H, L = CONFIG["vocabSize"], CONFIG["dim"], CONFIG["hiddenDim"], CONFIG["nLayers"]
NH, NKV = CONFIG["nHeads"], CONFIG["nKvHeads"]
HS = C // NH
KVC = NKV * HS
SCALE = LORA["alpha"] / LORA["rank"]
R = LORA["rank"]

# projection name -> (GGUF tensor suffix, out features, in features)
PROJ = {"q": ("attn_q", C, C), "k": ("attn_k", KVC, C), "v": ("attn_v", KVC, C), "o": ("attn_output", C, C),
        "gate": ("ffn_gate", H, C), "up": ("ffn_up", H, C), "down": ("ffn_down", C, H)}


def f32(t):
    """Round to float32 (what the file stores) and compute on in float64."""
    return t.to(torch.float32).to(torch.float64)


def uniform(shape, bound):
    return f32((torch.rand(shape, dtype=torch.float64) * 2 - 1) * bound)


# --- weights in Hugging Face layout -------------------------------------------------------------
weights = {"tok_embeddings": uniform((V, C), 0.5), "norm": f32(0.8 + 0.4 * torch.rand(C)), "output": uniform((V, C), 0.3)}
for l in range(L):
    weights[f"{l}.attn_norm"] = f32(0.8 + 0.4 * torch.rand(C))
    weights[f"{l}.ffn_norm"] = f32(0.8 + 0.4 * torch.rand(C))
    for p, (_, out_f, in_f) in PROJ.items():
        weights[f"{l}.{p}"] = uniform((out_f, in_f), 1 / math.sqrt(in_f))

# LoRA: A kaiming-uniform as PEFT; B small random instead of 0 so that dA is not trivially zero.
lora = {}
for l in range(L):
    for p, (_, out_f, in_f) in PROJ.items():
        lora[f"{l}.{p}.A"] = uniform((R, in_f), 1 / math.sqrt(in_f)).requires_grad_(True)
        lora[f"{l}.{p}.B"] = uniform((out_f, R), 0.1).requires_grad_(True)

tokens = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))
mask = torch.ones(B, T, dtype=torch.bool)
mask[:, :3] = False  # a "prompt" of three tokens that does not count toward the loss
mask[1, 6] = False


# --- the model, as HF LlamaForCausalLM computes it ---------------------------------------------
def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + CONFIG["normEps"]) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope(x):  # x [B, heads, T, HS]; rotate the first ropeDim dims (here all of them)
    d = CONFIG["ropeDim"]
    inv_freq = 1.0 / (CONFIG["ropeTheta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64) * CONFIG["ropeFreqScale"], inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return x * emb.cos() + rotate_half(x) * emb.sin()


def linear(x, l, p):
    return F.linear(x, weights[f"{l}.{p}"]) + F.linear(F.linear(x, lora[f"{l}.{p}.A"]), lora[f"{l}.{p}.B"]) * SCALE


def forward():
    x = weights["tok_embeddings"][tokens]
    causal = torch.full((T, T), float("-inf")).triu(1)
    for l in range(L):
        h = rmsnorm(x, weights[f"{l}.attn_norm"])
        q = linear(h, l, "q").view(B, T, NH, HS).transpose(1, 2)
        k = linear(h, l, "k").view(B, T, NKV, HS).transpose(1, 2)
        v = linear(h, l, "v").view(B, T, NKV, HS).transpose(1, 2)
        q, k = rope(q), rope(k)
        k = k.repeat_interleave(NH // NKV, dim=1)
        v = v.repeat_interleave(NH // NKV, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HS) + causal, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + linear(y, l, "o")
        h = rmsnorm(x, weights[f"{l}.ffn_norm"])
        x = x + linear(F.silu(linear(h, l, "gate")) * linear(h, l, "up"), l, "down")
    logits = F.linear(rmsnorm(x, weights["norm"]), weights["output"])
    loss = F.cross_entropy(logits[mask], targets[mask])
    return logits, loss


# --- export in GGUF layout ---------------------------------------------------------------------
def permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute: HF rotate_half rows -> NORM (adjacent pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_rows(p, w):
    return permute(w, NH) if p == "q" else permute(w, NKV) if p == "k" else w


tensors = []  # (name, float64 tensor)


def add(name, t):
    tensors.append((name, t.detach().clone()))  # clone: training below updates LoRA in place


add("token_embd.weight", weights["tok_embeddings"])
for l in range(L):
    add(f"blk.{l}.attn_norm.weight", weights[f"{l}.attn_norm"])
    add(f"blk.{l}.ffn_norm.weight", weights[f"{l}.ffn_norm"])
    for p, (suffix, _, _) in PROJ.items():
        add(f"blk.{l}.{suffix}.weight", gguf_rows(p, weights[f"{l}.{p}"]))
add("output_norm.weight", weights["norm"])
add("output.weight", weights["output"])
for l in range(L):
    for p, (suffix, _, _) in PROJ.items():
        add(f"blk.{l}.{suffix}.weight.lora_a", lora[f"{l}.{p}.A"])
        add(f"blk.{l}.{suffix}.weight.lora_b", gguf_rows(p, lora[f"{l}.{p}.B"]))

logits, loss = forward()
loss.backward()
add("expected.logits", logits)
for l in range(L):
    for p, (suffix, _, _) in PROJ.items():
        add(f"expected.grad.blk.{l}.{suffix}.weight.lora_a", lora[f"{l}.{p}.A"].grad)
        add(f"expected.grad.blk.{l}.{suffix}.weight.lora_b", gguf_rows(p, lora[f"{l}.{p}.B"].grad))
first_loss = loss.item()

# --- 10 training steps: AdamW + clipping, loss recorded before each update (llm.c test_gpt2.c) ----
params = list(lora.values())
for t in params:
    t.grad = None
optimizer = torch.optim.AdamW(params, lr=OPTIM["learningRate"], betas=(OPTIM["beta1"], OPTIM["beta2"]),
                              eps=OPTIM["eps"], weight_decay=OPTIM["weightDecay"])
trajectory, grad_norms = [], []
for step in range(OPTIM["steps"]):
    optimizer.zero_grad()
    _, step_loss = forward()
    step_loss.backward()
    grad_norms.append(torch.nn.utils.clip_grad_norm_(params, OPTIM["maxGradNorm"]).item())
    optimizer.step()
    trajectory.append(step_loss.item())

# --- write ---------------------------------------------------------------------------------------
out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "engine", "golden")
os.makedirs(out_dir, exist_ok=True)
index, offset, blob = [], 0, bytearray()
for name, t in tensors:
    flat = t.reshape(-1).to(torch.float32).tolist()
    blob += struct.pack(f"<{len(flat)}f", *flat)
    index.append({"name": name, "shape": list(t.shape), "offset": offset, "length": len(flat)})
    offset += len(flat)
meta = {
    "about": "written by scripts/golden/make_lora_golden.py (PyTorch %s, float64); tensors in lora-golden.f32 as float32" % torch.__version__,
    "config": CONFIG, "lora": LORA, "optimizer": OPTIM, "B": B, "T": T,
    "tokens": tokens.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
    "lossMask": mask.reshape(-1).int().tolist(),
    "expectedLoss": first_loss, "expectedTrajectory": trajectory, "expectedGradNorms": grad_norms,
    "tensors": index,
}
with open(os.path.join(out_dir, "lora-golden.json"), "w") as f:
    json.dump(meta, f, indent=1)
with open(os.path.join(out_dir, "lora-golden.f32"), "wb") as f:
    f.write(bytes(blob))
print("loss %.6f, trajectory %s, grad norms %s" % (first_loss, ["%.5f" % x for x in trajectory], ["%.3f" % x for x in grad_norms]))
print("%d tensors, %d floats" % (len(index), offset))
