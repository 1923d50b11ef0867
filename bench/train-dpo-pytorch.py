#!/usr/bin/env python3
"""PyTorch eager CPU reference for bench/train-dpo.ts: one DPO step as trl's DPOTrainer takes it, on a
LLaMA shape with frozen random base weights and LoRA (r, alpha) on q,k,v,o; 2 threads.
The policy runs chosen and rejected concatenated in one batch (trl's concatenated_forward), forward and
backward; the reference is the same model with the LoRA branches disabled under no_grad (peft's
disable_adapter, what trl does when no ref_model is given); loss: trl's "sigmoid",
-logsigmoid(beta * ((pi_c - pi_r) - (ref_c - ref_r))), on the summed log-probabilities of the answer
tokens; then gradient clipping and AdamW.
Prints one JSON line per "measure <seconds>" line on stdin ({"msPerStep", "cpuMsPerStep", "steps",
"seconds", "peakRssBytes"}), after {"ready": true, "torch": <version>}. Launched by the TypeScript
benchmark; not a test."""
import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--json", required=True)
cfg = json.loads(parser.parse_args().json)
torch.set_num_threads(2)
torch.manual_seed(0)

V, C, H, L = cfg["vocabSize"], cfg["dim"], cfg["hiddenDim"], cfg["nLayers"]
NH, NKV = cfg["nHeads"], cfg["nKvHeads"]
HS, PAIRS, T, R = C // NH, cfg["pairs"], cfg["T"], cfg["rank"]
PROMPT = cfg["promptLength"]
SCALE = cfg["alpha"] / R
BETA = cfg.get("beta", 0.1)
B = 2 * PAIRS  # chosen rows, then rejected rows


def frozen(*shape):
    return torch.randn(*shape) * 0.02


emb, out_w, final_norm = frozen(V, C), frozen(V, C), torch.ones(C)
layers = []
lora_params = []
for _ in range(L):
    layer = {"attn_norm": torch.ones(C), "ffn_norm": torch.ones(C), "q": frozen(C, C), "k": frozen(NKV * HS, C),
             "v": frozen(NKV * HS, C), "o": frozen(C, C), "gate": frozen(H, C), "up": frozen(H, C), "down": frozen(C, H)}
    for p in ("q", "k", "v", "o"):
        a = ((torch.rand(R, C) * 2 - 1) / math.sqrt(C)).requires_grad_(True)
        # B nonzero (as after some training), so the policy and the reference differ
        b = (torch.randn(layer[p].shape[0], R) * 0.01).requires_grad_(True)
        layer[p + ".lora"] = (a, b)
        lora_params += [a, b]
    layers.append(layer)

inv_freq = 1.0 / (10000 ** (torch.arange(0, HS, 2).float() / HS))
freqs = torch.outer(torch.arange(T).float(), inv_freq)
cos, sin = torch.cat((freqs, freqs), -1).cos(), torch.cat((freqs, freqs), -1).sin()
causal = torch.full((T, T), float("-inf")).triu(1)


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w


def rope(x):
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin


def linear(x, layer, p, adapter):
    y = F.linear(x, layer[p])
    if adapter and p + ".lora" in layer:
        a, b = layer[p + ".lora"]
        y = y + F.linear(F.linear(x, a), b) * SCALE
    return y


def sequence_logps(tokens, targets, mask, adapter):
    """Summed log-probabilities of the masked targets, one per row (trl's get_batch_logps)."""
    x = emb[tokens]
    for layer in layers:
        h = rmsnorm(x, layer["attn_norm"])
        q = rope(linear(h, layer, "q", adapter).view(B, T, NH, HS).transpose(1, 2))
        k = rope(linear(h, layer, "k", adapter).view(B, T, NKV, HS).transpose(1, 2)).repeat_interleave(NH // NKV, 1)
        v = linear(h, layer, "v", adapter).view(B, T, NKV, HS).transpose(1, 2).repeat_interleave(NH // NKV, 1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HS) + causal, -1)
        x = x + linear((att @ v).transpose(1, 2).reshape(B, T, C), layer, "o", adapter)
        h = rmsnorm(x, layer["ffn_norm"])
        x = x + linear(F.silu(linear(h, layer, "gate", adapter)) * linear(h, layer, "up", adapter), layer, "down", adapter)
    logits = F.linear(rmsnorm(x, final_norm), out_w)
    per_token = torch.gather(logits.log_softmax(-1), 2, targets.unsqueeze(2)).squeeze(2)
    return (per_token * mask).sum(-1)


optimizer = torch.optim.AdamW(lora_params, lr=1e-4)
# each pair shares its prompt (the first PROMPT tokens); the answers differ
prompts = torch.randint(0, V, (PAIRS, PROMPT))
tokens = torch.cat((torch.cat((prompts, prompts)), torch.randint(0, V, (B, T - PROMPT))), 1)
targets = torch.cat((tokens[:, 1:], torch.zeros(B, 1, dtype=tokens.dtype)), 1)
mask = torch.zeros(B, T)
mask[:, PROMPT - 1:T - 1] = 1


def step():
    optimizer.zero_grad()
    with torch.no_grad():
        reference = sequence_logps(tokens, targets, mask, adapter=False)
    policy = sequence_logps(tokens, targets, mask, adapter=True)
    logits = (policy[:PAIRS] - policy[PAIRS:]) - (reference[:PAIRS] - reference[PAIRS:])
    loss = -F.logsigmoid(BETA * logits).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(lora_params, 1.0)
    optimizer.step()


def measure(seconds):
    start, cpu_start, steps = time.perf_counter(), time.process_time(), 0
    while steps < 1 or (time.perf_counter() - start < seconds and steps < 1000):
        step()
        steps += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"msPerStep": 1000 * elapsed / steps, "cpuMsPerStep": 1000 * cpu / steps, "steps": steps, "seconds": elapsed, "peakRssBytes": peak}


step()  # warm-up
print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
for line in sys.stdin:
    command = line.split()
    if not command or command[0] != "measure":
        break
    print(json.dumps(measure(float(command[1]))), flush=True)
