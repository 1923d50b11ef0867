#!/usr/bin/env python3
"""Golden reference for camelid's in-process DPO, on stories260K: trl's DPOTrainer formulas in plain PyTorch.

The base model is read from ../shared/models/stories260K.gguf with llama.cpp's gguf-py and run the way
llama.cpp runs a GGUF LLaMA (NORM RoPE on adjacent pairs, since the file's Q/K rows are permuted for it),
in float64, with LoRA on all seven projections. For one fixed batch of preference pairs (trl's
concatenated layout: the chosen sequences, then the rejected ones) it records, for each loss variant,
what trl's DPOTrainer computes:

  get_batch_logps    per-sequence sum of log p(label) over the answer tokens (labels != -100)
  concatenated_forward  for loss_type "ipo" those sums divided by the answer's token count
  reference          the same model with the adapter disabled (peft's disable_adapter), no grad
  dpo_loss           h = (pi_c - pi_r) - (ref_c - ref_r)
                     sigmoid: -logsigmoid(beta h)(1 - eps) - logsigmoid(-beta h) eps
                     ipo:     (h - 1/(2 beta))^2
                     loss = losses.mean(); rewards = beta (policy - reference) log-probs
  metrics            rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen, logps/rejected,
                     logits/chosen, logits/rejected (the policy's logits averaged over the answer positions)

then every LoRA gradient, and the losses and gradient norms of 10 AdamW steps with clipping.

Run: PYTHONPATH=/work/llama.cpp/gguf-py python3 scripts/golden/make_dpo_golden.py
(pyenv python3 with torch 2.x and numpy; test time needs neither). Writes test/train/golden/dpo-golden.json
(metadata, batch, expected figures) and dpo-golden.f32 (LoRA init and expected gradients, float32).
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F
from gguf import GGUFReader

torch.manual_seed(2024)
torch.set_default_dtype(torch.float64)

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "..", "..", "shared", "models", "stories260K.gguf")
if not os.path.exists(MODEL):
    MODEL = "/work/shared/models/stories260K.gguf"

reader = GGUFReader(MODEL)


def field(name, default=None):
    f = reader.fields.get(name)
    return default if f is None else f.parts[f.data[0]].tolist()[0]


C = field("llama.embedding_length")
H = field("llama.feed_forward_length")
L = field("llama.block_count")
NH = field("llama.attention.head_count")
NKV = field("llama.attention.head_count_kv")
EPS = field("llama.attention.layer_norm_rms_epsilon")
ROPE_DIM = field("llama.rope.dimension_count")
THETA = field("llama.rope.freq_base", 10000.0)
HS = C // NH
tensors_in = {t.name: torch.tensor(t.data.copy(), dtype=torch.float32).to(torch.float64) for t in reader.tensors}
V = tensors_in["token_embd.weight"].shape[0]

LORA = dict(rank=4, alpha=8.0, dropout=0.0, targets=["q", "k", "v", "o", "gate", "up", "down"])
OPTIM = dict(learningRate=1e-4, beta1=0.9, beta2=0.999, eps=1e-8, weightDecay=0.01, maxGradNorm=1.0, steps=10)
VARIANTS = [
    dict(name="sigmoid", beta=0.1, lossType="sigmoid", labelSmoothing=0.0),
    dict(name="ipo", beta=0.1, lossType="ipo", labelSmoothing=0.0),
    dict(name="sigmoid-label-smoothing", beta=0.5, lossType="sigmoid", labelSmoothing=0.2),
]
R = LORA["rank"]
SCALE = LORA["alpha"] / R
SUFFIX = {"q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output", "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"}


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def uniform(shape, bound):
    return f32((torch.rand(shape) * 2 - 1) * bound)


def base(name):
    return tensors_in[name]


# LoRA A as PEFT's kaiming-uniform bound; B small random instead of 0 so that the policy differs from the
# reference from the start and dA is not trivially zero
lora_init = {}
for l in range(L):
    for p, suffix in SUFFIX.items():
        w = base(f"blk.{l}.{suffix}.weight")
        out_f, in_f = w.shape
        lora_init[f"blk.{l}.{suffix}.weight.lora_a"] = uniform((R, in_f), 1 / math.sqrt(in_f))
        lora_init[f"blk.{l}.{suffix}.weight.lora_b"] = uniform((out_f, R), 0.05)

# --- the batch: P pairs sharing their prompt, as camelid's fillBatch writes sequences -----------------
P = 3
sequences = []  # (tokens, trainable) for the chosen sides, then the rejected sides
prompts = [[1] + torch.randint(3, V, (n,)).tolist() for n in (4, 6, 3)]
answers = [(torch.randint(3, V, (a,)).tolist() + [2], torch.randint(3, V, (b,)).tolist() + [2]) for a, b in ((6, 4), (3, 7), (8, 8))]
for side in (0, 1):
    for i in range(P):
        prompt, answer = prompts[i], answers[i][side]
        sequences.append((prompt + answer, [0] * len(prompt) + [1] * len(answer)))
T = max(len(tokens) for tokens, _ in sequences) - 1
N = 2 * P
tokens = torch.zeros(N, T, dtype=torch.long)
targets = torch.zeros(N, T, dtype=torch.long)
mask = torch.zeros(N, T)
for b, (seq, trainable) in enumerate(sequences):
    for t in range(len(seq) - 1):
        tokens[b, t] = seq[t]
        targets[b, t] = seq[t + 1]
        mask[b, t] = trainable[t + 1]


# --- the model, as llama.cpp runs a GGUF LLaMA ----------------------------------------------------
def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def rope(x):
    """NORM RoPE: adjacent pairs (2i, 2i+1) of the first ROPE_DIM dims, angle pos * theta^(-2i/ROPE_DIM). x [B, T, heads, HS]."""
    inv_freq = 1.0 / (THETA ** (torch.arange(0, ROPE_DIM, 2) / ROPE_DIM))
    angles = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)  # [T, ROPE_DIM/2]
    cos, sin = angles.cos()[None, :, None, :], angles.sin()[None, :, None, :]
    rot = x[..., :ROPE_DIM]
    x0, x1 = rot[..., 0::2], rot[..., 1::2]
    out = torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)
    return torch.cat((out, x[..., ROPE_DIM:]), dim=-1)


def forward(lora, adapter):
    def linear(x, l, p):
        name = f"blk.{l}.{SUFFIX[p]}.weight"
        y = F.linear(x, base(name))
        if adapter:
            y = y + F.linear(F.linear(x, lora[name + ".lora_a"]), lora[name + ".lora_b"]) * SCALE
        return y

    x = base("token_embd.weight")[tokens]
    causal = torch.full((T, T), float("-inf")).triu(1)
    for l in range(L):
        h = rmsnorm(x, base(f"blk.{l}.attn_norm.weight"))
        q = rope(linear(h, l, "q").view(N, T, NH, HS)).transpose(1, 2)
        k = rope(linear(h, l, "k").view(N, T, NKV, HS)).transpose(1, 2)
        v = linear(h, l, "v").view(N, T, NKV, HS).transpose(1, 2)
        k = k.repeat_interleave(NH // NKV, dim=1)
        v = v.repeat_interleave(NH // NKV, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HS) + causal, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(N, T, C)
        x = x + linear(y, l, "o")
        h = rmsnorm(x, base(f"blk.{l}.ffn_norm.weight"))
        x = x + linear(F.silu(linear(h, l, "gate")) * linear(h, l, "up"), l, "down")
    head = tensors_in.get("output.weight", base("token_embd.weight"))
    return F.linear(rmsnorm(x, base("output_norm.weight")), head)


def batch_logps(logits, average):
    """trl get_batch_logps on the shifted batch, then concatenated_forward's ipo normalisation."""
    per_token = torch.gather(logits.log_softmax(-1), 2, targets.unsqueeze(2)).squeeze(2)
    sums = (per_token * mask).sum(-1)
    return sums / mask.sum(-1) if average else sums


def dpo(lora, variant):
    average = variant["lossType"] == "ipo"
    with torch.no_grad():
        ref = batch_logps(forward(lora, adapter=False), average)
    logits = forward(lora, adapter=True)
    pol = batch_logps(logits, average)
    pc, pr, rc, rr = pol[:P], pol[P:], ref[:P], ref[P:]
    beta, eps = variant["beta"], variant["labelSmoothing"]
    h = (pc - pr) - (rc - rr)
    if variant["lossType"] == "sigmoid":
        losses = -F.logsigmoid(beta * h) * (1 - eps) - F.logsigmoid(-beta * h) * eps
    else:
        losses = (h - 1 / (2 * beta)) ** 2
    chosen_rewards = beta * (pc - rc).detach()
    rejected_rewards = beta * (pr - rr).detach()
    metrics = {
        "rewards/chosen": chosen_rewards.mean().item(),
        "rewards/rejected": rejected_rewards.mean().item(),
        "rewards/accuracies": (chosen_rewards > rejected_rewards).double().mean().item(),
        "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
        "logps/chosen": pc.detach().mean().item(),
        "logps/rejected": pr.detach().mean().item(),
        # trl: logits[:n][loss_mask[:n]].mean() over the answer positions (and the vocabulary) of each side
        "logits/chosen": logits[:P][mask[:P].bool()].detach().mean().item(),
        "logits/rejected": logits[P:][mask[P:].bool()].detach().mean().item(),
    }
    return losses.mean(), metrics


blob, index, offset = bytearray(), [], 0


def add(name, t):
    global offset
    flat = t.detach().reshape(-1).to(torch.float32).tolist()
    blob.extend(struct.pack(f"<{len(flat)}f", *flat))
    index.append({"name": name, "shape": list(t.shape), "offset": offset, "length": len(flat)})
    offset += len(flat)


for name, t in lora_init.items():
    add(name, t)

results = []
for variant in VARIANTS:
    lora = {name: t.clone().requires_grad_(True) for name, t in lora_init.items()}
    loss, metrics = dpo(lora, variant)
    loss.backward()
    for name, t in lora.items():
        add(f"expected.{variant['name']}.grad.{name}", t.grad)
    # 10 steps: AdamW + clipping, the loss recorded before each update
    params = list(lora.values())
    optimizer = torch.optim.AdamW(params, lr=OPTIM["learningRate"], betas=(OPTIM["beta1"], OPTIM["beta2"]), eps=OPTIM["eps"], weight_decay=OPTIM["weightDecay"])
    trajectory, norms = [], []
    for step in range(OPTIM["steps"]):
        optimizer.zero_grad()
        step_loss, _ = dpo(lora, variant)
        step_loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(params, OPTIM["maxGradNorm"]).item())
        optimizer.step()
        trajectory.append(step_loss.item())
    results.append({**variant, "expectedLoss": loss.item(), "expectedMetrics": metrics, "expectedTrajectory": trajectory, "expectedGradNorms": norms})
    print("%s: loss %.6f, metrics %s, trajectory %s" % (variant["name"], loss.item(), {k: round(v, 5) for k, v in metrics.items()}, ["%.5f" % x for x in trajectory]))

out_dir = os.path.join(HERE, "..", "..", "test", "train", "golden")
os.makedirs(out_dir, exist_ok=True)
meta = {
    "about": "written by scripts/golden/make_dpo_golden.py (PyTorch %s, float64) on stories260K.gguf; tensors in dpo-golden.f32 as float32" % torch.__version__,
    "model": "stories260K.gguf",
    "lora": LORA,
    "optimizer": OPTIM,
    "pairs": P,
    "T": T,
    "tokens": tokens.reshape(-1).tolist(),
    "targets": targets.reshape(-1).tolist(),
    "lossMask": mask.reshape(-1).int().tolist(),
    "variants": results,
    "tensors": index,
}
with open(os.path.join(out_dir, "dpo-golden.json"), "w") as f:
    json.dump(meta, f, indent=1)
with open(os.path.join(out_dir, "dpo-golden.f32"), "wb") as f:
    f.write(bytes(blob))
print("%d tensors, %d floats" % (len(index), offset))
