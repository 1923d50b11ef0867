#!/usr/bin/env python3
"""PyTorch eager CPU reference for bench/train-lora.ts: the same LLaMA shape with frozen random base
weights, LoRA (r, alpha) on q,k,v,o (torch_llama.py), AdamW, gradient clipping, batch B x T; 2 threads.
Prints one JSON line {"tokensPerSecond": ...}; with "rounds" in the config, one per "measure <seconds>"
line on stdin instead, so the TypeScript benchmark can alternate with it. Launched by the TypeScript
benchmark; not a test."""
import argparse
import json

import torch
import torch.nn.functional as F

from torch_llama import LoraLlama, measure, serve_rounds

parser = argparse.ArgumentParser()
parser.add_argument("--json", required=True)
cfg = json.loads(parser.parse_args().json)
torch.set_num_threads(2)
torch.manual_seed(0)

B, T = cfg["B"], cfg["T"]
model = LoraLlama(cfg)
optimizer = torch.optim.AdamW(model.lora_params, lr=1e-4)
tokens = torch.randint(0, model.V, (B, T))
targets = torch.randint(0, model.V, (B, T))


def step():
    optimizer.zero_grad()
    loss = F.cross_entropy(model.logits(tokens).view(-1, model.V), targets.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.lora_params, 1.0)
    optimizer.step()


if cfg.get("rounds"):
    # alternating with the TypeScript engine: one measurement per "measure <seconds>" line on stdin
    serve_rounds(step, B * T)
else:
    step()  # warm-up
    print(json.dumps(measure(step, cfg["seconds"], B * T)))
