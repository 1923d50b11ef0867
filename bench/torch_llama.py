"""What the PyTorch reference benchmarks share (bench/train-lora-pytorch.py, bench/train-dpo-pytorch.py): a
LLaMA of a given shape with frozen random base weights and LoRA (r, alpha) on q,k,v,o, its forward pass (the
adapter on or off) to logits, and the alternating-rounds protocol of bench/torch-rounds.ts. Not a test."""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F


class LoraLlama:
    """Frozen random base weights; LoRA A uniform as PEFT draws it, B zero or (b_std > 0) small random."""

    def __init__(self, cfg, b_std=0.0):
        self.V, self.C, self.H, self.L = cfg["vocabSize"], cfg["dim"], cfg["hiddenDim"], cfg["nLayers"]
        self.NH, self.NKV = cfg["nHeads"], cfg["nKvHeads"]
        self.HS, self.R = self.C // self.NH, cfg["rank"]
        self.scale = cfg["alpha"] / self.R
        C, H, R, NKV, HS = self.C, self.H, self.R, self.NKV, self.HS
        frozen = lambda *shape: torch.randn(*shape) * 0.02
        self.emb, self.out_w, self.final_norm = frozen(self.V, C), frozen(self.V, C), torch.ones(C)
        self.layers, self.lora_params = [], []
        for _ in range(self.L):
            layer = {"attn_norm": torch.ones(C), "ffn_norm": torch.ones(C), "q": frozen(C, C), "k": frozen(NKV * HS, C),
                     "v": frozen(NKV * HS, C), "o": frozen(C, C), "gate": frozen(H, C), "up": frozen(H, C), "down": frozen(C, H)}
            for p in ("q", "k", "v", "o"):
                a = ((torch.rand(R, C) * 2 - 1) / math.sqrt(C)).requires_grad_(True)
                b = (torch.randn(layer[p].shape[0], R) * b_std).requires_grad_(True)
                layer[p + ".lora"] = (a, b)
                self.lora_params += [a, b]
            self.layers.append(layer)
        self.T = None

    def _positions(self, T):
        if self.T != T:
            inv_freq = 1.0 / (10000 ** (torch.arange(0, self.HS, 2).float() / self.HS))
            freqs = torch.outer(torch.arange(T).float(), inv_freq)
            self.cos, self.sin = torch.cat((freqs, freqs), -1).cos(), torch.cat((freqs, freqs), -1).sin()
            self.causal = torch.full((T, T), float("-inf")).triu(1)
            self.T = T

    def _rope(self, x):
        half = x.shape[-1] // 2
        return x * self.cos + torch.cat((-x[..., half:], x[..., :half]), -1) * self.sin

    def _linear(self, x, layer, p, adapter):
        y = F.linear(x, layer[p])
        if adapter and p + ".lora" in layer:
            a, b = layer[p + ".lora"]
            y = y + F.linear(F.linear(x, a), b) * self.scale
        return y

    def logits(self, tokens, adapter=True):
        B, T = tokens.shape
        NH, NKV, HS, C = self.NH, self.NKV, self.HS, self.C
        self._positions(T)
        rmsnorm = lambda x, w: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w
        x = self.emb[tokens]
        for layer in self.layers:
            h = rmsnorm(x, layer["attn_norm"])
            q = self._rope(self._linear(h, layer, "q", adapter).view(B, T, NH, HS).transpose(1, 2))
            k = self._rope(self._linear(h, layer, "k", adapter).view(B, T, NKV, HS).transpose(1, 2)).repeat_interleave(NH // NKV, 1)
            v = self._linear(h, layer, "v", adapter).view(B, T, NKV, HS).transpose(1, 2).repeat_interleave(NH // NKV, 1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HS) + self.causal, -1)
            x = x + self._linear((att @ v).transpose(1, 2).reshape(B, T, C), layer, "o", adapter)
            h = rmsnorm(x, layer["ffn_norm"])
            x = x + self._linear(F.silu(self._linear(h, layer, "gate", adapter)) * self._linear(h, layer, "up", adapter), layer, "down", adapter)
        return F.linear(rmsnorm(x, self.final_norm), self.out_w)


def measure(step, seconds, tokens_per_step):
    """Runs step() for about `seconds` (at least once): speed on both clocks and the process's peak RSS."""
    start, cpu_start, steps = time.perf_counter(), time.process_time(), 0
    while steps < 1 or (time.perf_counter() - start < seconds and steps < 1000):
        step()
        steps += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"tokensPerSecond": tokens_per_step * steps / elapsed, "tokensPerCpuSecond": tokens_per_step * steps / cpu,
            "msPerStep": 1000 * elapsed / steps, "cpuMsPerStep": 1000 * cpu / steps, "steps": steps, "seconds": elapsed,
            "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def serve_rounds(step, tokens_per_step):
    """After a warm-up step: {"ready": true, "torch": version}, then one measurement per "measure <seconds>" line on stdin."""
    step()
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] != "measure":
            break
        print(json.dumps(measure(step, float(command[1]), tokens_per_step)), flush=True)
