#!/usr/bin/env python3
"""Golden reference for `camelid convert --lora` and `camelid export-peft`.

For each case in test/convert/golden/peft-cases.json:
  1. A tiny random LlamaForCausalLM whose weights are exactly those of camelid's writeRandomLlamaGguf
     (src/gguf/random-llama.ts) for the same options: the same mulberry32 stream per GGUF tensor name,
     reimplemented below, with the Q/K rows un-permuted back to Hugging Face's layout (checked against
     llama.cpp's own LlamaModel.permute).
  2. A PEFT LoRA on it (get_peft_model, non-zero seeded A and B, from the same generator keyed by the
     PEFT tensor name), saved with save_pretrained; its logits (base + adapter) for the case's tokens.
  3. llama.cpp's convert_lora_to_gguf.py on that folder: every metadata key/value and every tensor's
     name, type, ggml dims and sha256, and the file's sha256.
  4. camelid's reverse export: `npx tsx scripts/golden/write_camelid_peft_export.ts DIR` writes a seeded
     camelid adapter and exports it as a PEFT folder; PEFT loads that folder (PeftModel.from_pretrained)
     and its logits are recorded.

The test suite needs no Python: it rebuilds the weights in TypeScript and compares with the JSON.
Run (pyenv python3 with torch, transformers, peft):  python3 scripts/golden/make_peft_golden.py
Writes test/convert/golden/peft-golden.json.
"""
import base64
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
LLAMA_CPP = Path(os.environ.get("LLAMA_CPP", "/work/llama.cpp"))
sys.path.insert(0, str(LLAMA_CPP / "gguf-py"))
sys.path.insert(0, str(LLAMA_CPP))
import gguf  # noqa: E402
from conversion.llama import LlamaModel as LlamaCppLlamaModel  # noqa: E402

from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

CASES = json.loads((REPO / "test/convert/golden/peft-cases.json").read_text())
SHARED = REPO.parent / "shared"
M32 = 0xFFFFFFFF


# --- camelid's seeded generator (src/gguf/seeded-random.ts keys src/random/seeded-random.ts), bit for bit -------------------------
def imul(a: int, b: int) -> int:
    return (a * b) & M32


def hash_string(text: str) -> int:
    assert text.isascii()  # charCodeAt == ord for ASCII tensor names
    h = 0x811C9DC5
    for c in text:
        h ^= ord(c)
        h = imul(h, 0x01000193)
    return h


def seeded_uniform_values(name: str, seed: int, count: int, amplitude: float) -> np.ndarray:
    state = (hash_string(name) ^ imul(seed & M32, 0x9E3779B1)) & M32
    out = np.empty(count, dtype=np.float32)
    for i in range(count):
        state = (state + 0x6D2B79F5) & M32
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M32
        u = ((t ^ (t >> 14)) & M32) / 4294967296.0
        out[i] = (u * 2 - 1) * amplitude
    return out


# --- the base model: writeRandomLlamaGguf's tensors, in Hugging Face layout -----------------------
def gguf_vocab_size() -> int:
    reader = gguf.GGUFReader(SHARED.joinpath(*CASES["vocabFrom"]))
    return len(reader.fields["tokenizer.ggml.tokens"].data)


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """The inverse of llama.cpp's LlamaModel.permute (rows of each head: interleaved pairs -> halves)."""
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def base_weights(model: dict, vocab: int) -> dict[str, np.ndarray]:
    dim, hidden, heads, kv_heads = model["dim"], model["hiddenDim"], model["heads"], model["kvHeads"]
    kv_dim = dim // heads * kv_heads
    seed = model["seed"]

    def matrix(name: str, inp: int, out: int, std: float | None = None) -> np.ndarray:
        std = 1 / math.sqrt(inp) if std is None else std
        return seeded_uniform_values(name, seed, inp * out, std * math.sqrt(3)).reshape(out, inp)

    ones = np.ones(dim, dtype=np.float32)
    gguf_tensors = {
        "token_embd.weight": matrix("token_embd.weight", dim, vocab),
        "output_norm.weight": ones,
        "output.weight": matrix("output.weight", dim, vocab, 3 / math.sqrt(dim)),
    }
    hf = {"model.embed_tokens.weight": gguf_tensors["token_embd.weight"], "model.norm.weight": ones, "lm_head.weight": gguf_tensors["output.weight"]}
    for layer in range(model["layers"]):
        b, h = f"blk.{layer}", f"model.layers.{layer}"
        q = matrix(f"{b}.attn_q.weight", dim, dim)
        k = matrix(f"{b}.attn_k.weight", dim, kv_dim)
        gguf_tensors.update({f"{b}.attn_q.weight": q, f"{b}.attn_k.weight": k})
        hf_q, hf_k = unpermute(q, heads), unpermute(k, kv_heads)
        # the un-permutation must be exactly what llama.cpp's converter undoes
        assert np.array_equal(LlamaCppLlamaModel.permute(torch.from_numpy(hf_q), heads, heads).numpy(), q)
        assert np.array_equal(LlamaCppLlamaModel.permute(torch.from_numpy(hf_k), heads, kv_heads).numpy(), k)
        hf.update({
            f"{h}.self_attn.q_proj.weight": hf_q,
            f"{h}.self_attn.k_proj.weight": hf_k,
            f"{h}.self_attn.v_proj.weight": matrix(f"{b}.attn_v.weight", dim, kv_dim),
            f"{h}.self_attn.o_proj.weight": matrix(f"{b}.attn_output.weight", dim, dim),
            f"{h}.input_layernorm.weight": ones,
            f"{h}.mlp.gate_proj.weight": matrix(f"{b}.ffn_gate.weight", dim, hidden),
            f"{h}.mlp.down_proj.weight": matrix(f"{b}.ffn_down.weight", hidden, dim),
            f"{h}.mlp.up_proj.weight": matrix(f"{b}.ffn_up.weight", dim, hidden),
            f"{h}.post_attention_layernorm.weight": ones,
        })
    return hf, {name: sha256(t) for name, t in gguf_tensors.items()}


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


def build_base(case: dict, vocab: int):
    m = case["model"]
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=m["dim"], intermediate_size=m["hiddenDim"], num_hidden_layers=m["layers"],
        num_attention_heads=m["heads"], num_key_value_heads=m["kvHeads"], max_position_embeddings=2048,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, hidden_act="silu",
        bos_token_id=1, eos_token_id=2, torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    hf, gguf_sha = base_weights(m, vocab)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in hf.items()}, strict=False)
    assert not unexpected and all("rotary" in k for k in missing), (missing, unexpected)
    model.eval()
    return model, gguf_sha


def logits_of(model, tokens: list[int]) -> str:
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0].to(torch.float32).numpy()
    return base64.b64encode(logits.tobytes()).decode()


# --- the PEFT adapter --------------------------------------------------------------------------
def amplitude_for(name: str, shape: tuple[int, ...], r: int) -> float:
    # A like its kaiming init (1/sqrt(fan_in)); B non-zero, 1/sqrt(r), so the adapter visibly matters
    return 1 / math.sqrt(shape[1]) if ("lora_A" in name or "lora_embedding_A" in name) else 1 / math.sqrt(r)


def make_peft(model, case: dict, folder: Path) -> dict[str, str]:
    p = case["peft"]
    config = LoraConfig(r=p["r"], lora_alpha=p["alpha"], target_modules=p["targetModules"], lora_dropout=0.0,
                        bias="none", task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_" not in name:
                continue
            key = name.replace(".default", "")
            values = seeded_uniform_values(key, p["seed"], param.numel(), amplitude_for(key, tuple(param.shape), p["r"]))
            param.copy_(torch.from_numpy(values.reshape(param.shape)))
    peft_model.save_pretrained(folder)
    from safetensors import safe_open
    with safe_open(folder / "adapter_model.safetensors", "pt") as f:
        tensors = {k: {"shape": list(f.get_tensor(k).shape), "sha256": sha256(f.get_tensor(k).numpy())} for k in f.keys()}
    peft_model.eval()
    return peft_model, tensors


def front_matter(readme: Path) -> str:
    lines = readme.read_text().splitlines()
    end = lines.index("---", 1)
    return "\n".join(lines[: end + 1]) + "\n"


# --- llama.cpp's converter ---------------------------------------------------------------------
def plain(field) -> object:
    value = field.contents()
    return value


def describe_gguf(path: Path) -> dict:
    reader = gguf.GGUFReader(path)
    metadata = []
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        types = [t.name for t in field.types]
        metadata.append({"key": name, "types": types, "value": plain(field)})
    tensors = [{
        "name": t.name,
        "type": t.tensor_type.name,
        "dims": [int(d) for d in t.shape],
        "sha256": hashlib.sha256(np.asarray(t.data).tobytes()).hexdigest(),
    } for t in reader.tensors]
    return {"metadata": metadata, "tensors": tensors, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size}


def run_convert_lora(base_dir: Path, peft_dir: Path, out: Path, outtype: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(LLAMA_CPP / "gguf-py")}
    subprocess.run([sys.executable, str(LLAMA_CPP / "convert_lora_to_gguf.py"), "--base", str(base_dir), "--outtype", outtype,
                    "--outfile", str(out), str(peft_dir)], check=True, env=env, capture_output=True)
    return describe_gguf(out)


def main() -> None:
    torch.manual_seed(0)
    vocab = gguf_vocab_size()
    work = Path(tempfile.mkdtemp(prefix="camelid-peft-golden-"))
    golden = {"vocabSize": vocab, "torch": torch.__version__, "cases": {}}
    try:
        export_dir = work / "camelid-export"
        subprocess.run(["npx", "tsx", "scripts/golden/write_camelid_peft_export.ts", str(export_dir)], check=True, cwd=REPO)
        for case in CASES["cases"]:
            name = case["name"]
            base_dir, peft_dir = work / f"base-{name}", work / f"peft-{name}"  # the folder name becomes general.name
            model, gguf_sha = build_base(case, vocab)
            model.save_pretrained(base_dir, safe_serialization=True)
            base_logits_b64 = logits_of(model, case["tokens"])
            peft_model, peft_tensors = make_peft(model, case, peft_dir)
            entry = {
                "baseGgufTensorSha256": gguf_sha,
                "baseLogits": base_logits_b64,
                "adapterConfig": (peft_dir / "adapter_config.json").read_text(),
                # the converter reads authorship metadata from the model card's YAML front matter only
                "modelCardFrontMatter": front_matter(peft_dir / "README.md"),
                "peftTensors": peft_tensors,
                "peftLogits": logits_of(peft_model, case["tokens"]),
                "convertLora": {t: run_convert_lora(base_dir, peft_dir, work / f"{name}-{t}.gguf", t) for t in ("f32", "f16", "q8_0")},
            }
            # camelid's own adapter exported as PEFT, loaded by PEFT onto a fresh copy of the base
            fresh, _ = build_base(case, vocab)
            exported = export_dir / name / "peft"
            loaded = PeftModel.from_pretrained(fresh, exported)
            loaded.eval()
            from safetensors import safe_open
            with safe_open(exported / "adapter_model.safetensors", "pt") as f:
                exported_tensors = {k: sha256(f.get_tensor(k).numpy()) for k in f.keys()}
            entry["camelidExport"] = {
                "adapterConfig": json.loads((exported / "adapter_config.json").read_text()),
                "tensors": exported_tensors,
                "logits": logits_of(loaded, case["tokens"]),
            }
            golden["cases"][name] = entry
            print(f"{name}: {len(peft_tensors)} PEFT tensors, {len(entry['convertLora']['f32']['tensors'])} GGUF tensors")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = REPO / "test/convert/golden/peft-golden.json"
    out.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
