#!/usr/bin/env python3
"""Golden reference for `camelid convert` (a Hugging Face LLaMA folder -> GGUF).

The tiny random checkpoints are written by camelid's own seeded fixture writer
(test/convert/hf-fixtures.ts, run here through tsx) so that the test suite can rebuild the identical
folders without Python; their sha256 is recorded to prove it. For each fixture this script
  1. loads the folder into transformers' LlamaForCausalLM (strictly: no missing or unexpected weight)
     and records the float32 logits of fixed token sequences (at a fixed subset of vocabulary ids plus
     each row's max |logit| and argmax, which keeps the JSON small);
  2. runs the bundled llama.cpp's convert_hf_to_gguf.py for --outtype f32, f16 and q8_0 and records every
     tensor (name, ggml type, ggml shape, sha256 of its bytes) and every metadata key with its GGUF type
     and value (tokenizer arrays as a length and a sha256).

Run from the repository root (pyenv python3 with torch, transformers, sentencepiece, numpy):
    python3 scripts/golden/make_convert_golden.py
Writes test/convert/golden/<fixture>.json.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from transformers import LlamaForCausalLM

LLAMA_CPP = os.environ.get("LLAMA_CPP", "/work/llama.cpp")
sys.path.insert(0, os.path.join(LLAMA_CPP, "gguf-py"))
from gguf import GGUFReader, GGUFValueType  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO, "test", "convert", "golden")
OUT_TYPES = ["f32", "f16", "q8_0"]
LOGIT_STRIDE = 127


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def field_value(field):
    """A metadata value as JSON: scalars as they are; arrays as their element type, length and the sha256
    of their elements' bytes as stored (little-endian numbers; strings' UTF-8 bytes, lengths left out)."""
    kind = field.types[0]
    if kind == GGUFValueType.ARRAY:
        digest = hashlib.sha256()
        for index in field.data:
            digest.update(field.parts[index].tobytes())
        return {"array": field.types[1].name, "length": len(field.data), "sha256": digest.hexdigest()}
    value = field.contents()
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return value


def describe_gguf(path):
    reader = GGUFReader(path)
    metadata = []
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        metadata.append([key, field.types[0].name, field_value(field)])
    tensors = []
    for tensor in reader.tensors:
        tensors.append([tensor.name, tensor.tensor_type.name, [int(d) for d in tensor.shape], hashlib.sha256(tensor.data.tobytes()).hexdigest()])
    return {"sha256": sha256_file(path), "metadata": metadata, "tensors": tensors}


def logits_record(model, sequences, vocab_size):
    ids = list(range(0, vocab_size, LOGIT_STRIDE))
    records = []
    with torch.no_grad():
        for sequence in sequences:
            logits = model(torch.tensor([sequence])).logits[0].to(torch.float32)
            records.append({
                "tokens": sequence,
                "maxAbs": [float(row.abs().max()) for row in logits],
                "argmax": [int(row.argmax()) for row in logits],
                "values": [[float(row[i]) for i in ids] for row in logits],
            })
    return {"stride": LOGIT_STRIDE, "sequences": records}


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="camelid-convert-golden-") as work:
        fixtures_dir = os.path.join(work, "fixtures")
        listing = subprocess.run(["npx", "tsx", "test/convert/hf-fixtures.ts", fixtures_dir], cwd=REPO, check=True, capture_output=True, text=True)
        info = json.loads(listing.stdout.strip().splitlines()[-1])
        for name in info["fixtures"]:
            folder = os.path.join(fixtures_dir, name)
            files = {f: sha256_file(os.path.join(folder, f)) for f in sorted(os.listdir(folder))}
            model, loading = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
            problems = {k: v for k, v in loading.items() if v and k != "mismatched_keys" or (k == "mismatched_keys" and v)}
            if problems:
                raise SystemExit(f"{name}: transformers did not load every weight: {problems}")
            model.eval()
            record = {
                "fixture": name,
                "files": files,
                "config": model.config.to_dict() | {"transformers_version": None},
                "logits": logits_record(model, info["sequences"], model.config.vocab_size),
                "conversions": {},
            }
            env = dict(os.environ, PYTHONPATH=os.path.join(LLAMA_CPP, "gguf-py"))
            for out_type in OUT_TYPES:
                out = os.path.join(work, f"{name}-{out_type}.gguf")
                subprocess.run([sys.executable, os.path.join(LLAMA_CPP, "convert_hf_to_gguf.py"), folder, "--outfile", out, "--outtype", out_type],
                               check=True, env=env, capture_output=True)
                record["conversions"][out_type] = describe_gguf(out)
                os.remove(out)
            with open(os.path.join(OUT_DIR, f"{name}.json"), "w", encoding="utf-8") as f:
                json.dump(record, f, indent=1)
                f.write("\n")
            print(f"{name}: {len(record['conversions']['f32']['tensors'])} tensors, logits for {len(info['sequences'])} sequences")


if __name__ == "__main__":
    main()
