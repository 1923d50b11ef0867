#!/usr/bin/env python3
"""PyTorch eager CPU reference for bench/train-lora.ts: the same LLaMA shape with frozen random base
weights, LoRA (r, alpha) on q,k,v,o, AdamW, gradient clipping, batch B x T; 2 threads.
Prints one JSON line {"tokensPerSecond": ...}; with "rounds" in the config, one per "measure <seconds>"
line on stdin instead, so the TypeScript benchmark can alternate with it. Launched by the TypeScript
benchmark; not a test."""
import argparse
import json
import math
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
HS, B, T, R = C // NH, cfg["B"], cfg["T"], cfg["rank"]
SCALE = cfg["alpha"] / R


def frozen(*shape):
    return torch.randn(*shape) * 0.02


emb, out_w, final_norm = frozen(V, C), frozen(V, C), torch.ones(C)
layers = []
lora_params = []
for _ in range(L):
    layer = {"attn_norm": torch.ones(C), "ffn_norm": torch.ones(C), "q": frozen(C, C), "k": frozen(NKV * HS, C),
             "v": frozen(NKV * HS, C), "o": frozen(C, C), "gate": frozen(H, C), "up": frozen(H, C), "down": frozen(C, H)}
    for p in ("q", "k", "v", "o"):
        out_f = layer[p].shape[0]
        a = ((torch.rand(R, C) * 2 - 1) / math.sqrt(C)).requires_grad_(True)
        b = torch.zeros(out_f, R, requires_grad=True)
        layer[p + ".lora"] = (a, b)
        lora_params += [a, b]
    layers.append(layer)

inv_freq = 1.0 / (10000 ** (torch.arange(0, HS, 2).float() / HS))
freqs = torch.outer(torch.arange(T).float(), inv_freq)
cos, sin = torch.cat((freqs, freqs), -1).cos(), torch.cat((freqs, freqs), -1).sin()


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w


def rope(x):
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin


def linear(x, layer, p):
    y = F.linear(x, layer[p])
    if p + ".lora" in layer:
        a, b = layer[p + ".lora"]
        y = y + F.linear(F.linear(x, a), b) * SCALE
    return y


causal = torch.full((T, T), float("-inf")).triu(1)


def forward(tokens, targets):
    x = emb[tokens]
    for layer in layers:
        h = rmsnorm(x, layer["attn_norm"])
        q = rope(linear(h, layer, "q").view(B, T, NH, HS).transpose(1, 2))
        k = rope(linear(h, layer, "k").view(B, T, NKV, HS).transpose(1, 2)).repeat_interleave(NH // NKV, 1)
        v = linear(h, layer, "v").view(B, T, NKV, HS).transpose(1, 2).repeat_interleave(NH // NKV, 1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HS) + causal, -1)
        x = x + linear((att @ v).transpose(1, 2).reshape(B, T, C), layer, "o")
        h = rmsnorm(x, layer["ffn_norm"])
        x = x + linear(F.silu(linear(h, layer, "gate")) * linear(h, layer, "up"), layer, "down")
    logits = F.linear(rmsnorm(x, final_norm), out_w)
    return F.cross_entropy(logits.view(-1, V), targets.view(-1))


optimizer = torch.optim.AdamW(lora_params, lr=1e-4)
tokens = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))


def step():
    optimizer.zero_grad()
    loss = forward(tokens, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(lora_params, 1.0)
    optimizer.step()


def measure(seconds):
    start, cpu_start, steps = time.perf_counter(), time.process_time(), 0
    while steps < 1 or (time.perf_counter() - start < seconds and steps < 1000):
        step()
        steps += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"tokensPerSecond": B * T * steps / elapsed, "tokensPerCpuSecond": B * T * steps / cpu, "steps": steps, "seconds": elapsed}


step()  # warm-up
if cfg.get("rounds"):
    # alternating with the TypeScript engine: one measurement per "measure <seconds>" line on stdin
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] != "measure":
            break
        print(json.dumps(measure(float(command[1]))), flush=True)
else:
    print(json.dumps(measure(cfg["seconds"])))
