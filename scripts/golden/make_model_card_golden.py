#!/usr/bin/env python3
"""Golden for the general.* keys `camelid convert` takes from a model card, as the bundled llama.cpp's
convert_hf_to_gguf.py writes them (gguf-py Metadata.load: README.md front matter, config.json's
_name_or_path, generation_config.json, the folder name; then the size label and --model-name).

The folder is written by camelid's own fixture writer (test/convert/model-card-fixture.ts, run through
tsx) so the test suite rebuilds it without Python. The script converts it with --outtype f32 and records
every general.* key with its GGUF type and value.

Run from the repository root: python3 scripts/golden/make_model_card_golden.py
Writes test/convert/golden/model-card-metadata.json.
"""
import json
import os
import subprocess
import sys
import tempfile

LLAMA_CPP = os.environ.get("LLAMA_CPP", "/work/llama.cpp")
sys.path.insert(0, os.path.join(LLAMA_CPP, "gguf-py"))
from gguf import GGUFReader, GGUFValueType  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO, "test", "convert", "golden", "model-card-metadata.json")


def general_keys(path):
    reader = GGUFReader(path)
    keys = []
    for key, field in reader.fields.items():
        if not key.startswith("general."):
            continue
        kind = field.types[0]
        name = kind.name
        if kind == GGUFValueType.ARRAY:
            name = f"ARRAY[{field.types[1].name}]"
        keys.append([key, name, field.contents()])
    return keys


with tempfile.TemporaryDirectory() as tmp:
    folder = subprocess.run(["npx", "tsx", "test/convert/model-card-fixture.ts", tmp], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout.strip().splitlines()[-1]
    runs = {}
    for label, extra in [("default", []), ("modelName", ["--model-name", "Renamed Llama"])]:
        out = os.path.join(tmp, f"{label}.gguf")
        subprocess.run([sys.executable, os.path.join(LLAMA_CPP, "convert_hf_to_gguf.py"), folder, "--outfile", out,
                        "--outtype", "f32", *extra], check=True, capture_output=True, text=True)
        runs[label] = general_keys(out)

with open(OUT, "w", encoding="utf-8") as f:
    json.dump({"modelName": "Renamed Llama", "conversions": runs}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"wrote {OUT}: {len(runs['default'])} general.* keys")
