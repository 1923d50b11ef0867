#!/usr/bin/env python3
"""Golden for camelid's port of gguf-py's naming heuristics (src/convert/authorship-metadata.ts):
Metadata.get_model_id_components and Metadata.id_to_title on Hub ids and folder names, for a model
(total_params > 0) and a LoRA adapter (total_params < 0).

Run: python3 scripts/golden/make_model_id_golden.py   (needs only the llama.cpp checkout's gguf-py)
Writes test/convert/golden/model-id-components.json.
"""
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(os.environ.get("LLAMA_CPP", "/work/llama.cpp")) / "gguf-py"))
from gguf.metadata import Metadata  # noqa: E402

IDS = [
    "peft", "peft-mha", "meta-llama/Llama-2-7b-hf", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "mistralai/Mistral-7B-Instruct-v0.2",
    "bigscience/bloom-7b1", "Qwen/Qwen2.5-0.5B-Instruct", "my-lora-adapter", "llama-3-8b-instruct-lora-r16", "vicuna-13b-v1.5-16k",
    "stories260K", "../models/some-model-q4_0", "EleutherAI/pythia-70m-deduped", "Mixtral-8x7B-Instruct-v0.1", "a b c",
    "SmolLM2-135M-Instruct", "phi-3-mini-4k-instruct", "gemma-2b-it-fp16", "x-xl", "checkpoint-1000", "",
]
TOTALS = [0, 7_000_000_000, -40_000_000]

cases = []
for model_id in IDS:
    for total in TOTALS:
        full, org, basename, finetune, version, size_label = Metadata.get_model_id_components(model_id, total)
        cases.append({"id": model_id, "totalParams": total, "fullName": full, "organization": org, "basename": basename,
                      "finetune": finetune, "version": version, "sizeLabel": size_label})
titles = {text: Metadata.id_to_title(text) for text in IDS + ["hello-world", "v1.2-beta", "LLaMA-tiny", "über-modell", "it's-done", "x2y-z"]}
# Metadata.load on a folder with a model card and a generation config, written out by GGUFWriter
import tempfile  # noqa: E402
import gguf  # noqa: E402

CARD = {
    "README.md": "---\nlicense: [mit, apache-2.0]\nbase_model: meta-llama/Llama-2-7b-hf\ndatasets: https://huggingface.co/datasets/tatsu-lab\nlanguage:\n- en\n- no\ntags: ''\n---\n# card\n",
    "generation_config.json": json.dumps({"temperature": 0.6, "top_k": 40, "repetition_penalty": 1.1}),
}
with tempfile.TemporaryDirectory() as tmp:
    folder = Path(tmp) / "Llama-2-7b-chat-lora"
    folder.mkdir()
    for name, text in CARD.items():
        (folder / name).write_text(text)
    metadata = Metadata.load(None, folder, None, -4_000_000)
    writer = gguf.GGUFWriter(Path(tmp) / "out.gguf", "llama")
    metadata.set_gguf_meta_model(writer)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    reader = gguf.GGUFReader(Path(tmp) / "out.gguf")
    entries = [{"key": k, "value": f.contents()} for k, f in reader.fields.items() if not k.startswith("GGUF.") and k != "general.architecture"]

out = REPO / "test/convert/golden/model-id-components.json"
out.write_text(json.dumps({"components": cases, "titles": titles, "modelCard": {"folder": "Llama-2-7b-chat-lora", "files": CARD, "totalParams": -4_000_000, "entries": entries}}, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {out}: {len(cases)} cases")
