#!/usr/bin/env python3
"""PyTorch eager CPU reference for bench/train-dpo.ts: one DPO step as trl's DPOTrainer takes it, on a
LLaMA shape with frozen random base weights and LoRA (r, alpha) on q,k,v,o (torch_llama.py); 2 threads.
The policy runs chosen and rejected concatenated in one batch (trl's concatenated_forward), forward and
backward; the reference is the same model with the LoRA branches disabled under no_grad (peft's
disable_adapter, what trl does when no ref_model is given); loss: trl's "sigmoid",
-logsigmoid(beta * ((pi_c - pi_r) - (ref_c - ref_r))), on the summed log-probabilities of the answer
tokens; then gradient clipping and AdamW. Measures in rounds (torch_llama.serve_rounds: msPerStep,
cpuMsPerStep, peakRssBytes). Launched by the TypeScript benchmark; not a test."""
import argparse
import json

import torch
import torch.nn.functional as F

from torch_llama import LoraLlama, serve_rounds

parser = argparse.ArgumentParser()
parser.add_argument("--json", required=True)
cfg = json.loads(parser.parse_args().json)
torch.set_num_threads(2)
torch.manual_seed(0)

PAIRS, T, PROMPT, BETA = cfg["pairs"], cfg["T"], cfg["promptLength"], cfg.get("beta", 0.1)
B = 2 * PAIRS  # chosen rows, then rejected rows
# B nonzero (as after some training), so the policy and the reference differ
model = LoraLlama(cfg, b_std=0.01)


def sequence_logps(tokens, targets, mask, adapter):
    """Summed log-probabilities of the masked targets, one per row (trl's get_batch_logps)."""
    per_token = torch.gather(model.logits(tokens, adapter).log_softmax(-1), 2, targets.unsqueeze(2)).squeeze(2)
    return (per_token * mask).sum(-1)


optimizer = torch.optim.AdamW(model.lora_params, lr=1e-4)
# each pair shares its prompt (the first PROMPT tokens); the answers differ
prompts = torch.randint(0, model.V, (PAIRS, PROMPT))
tokens = torch.cat((torch.cat((prompts, prompts)), torch.randint(0, model.V, (B, T - PROMPT))), 1)
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
    torch.nn.utils.clip_grad_norm_(model.lora_params, 1.0)
    optimizer.step()


serve_rounds(step, B * T)
