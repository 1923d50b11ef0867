#!/usr/bin/env python3
"""Golden reference for camelid's vocabulary conversion (src/convert/vocabulary).

Builds small Hugging Face LLaMA folders around ../shared/tokenizers (a SentencePiece tokenizer.model and
a BPE tokenizer.json) with config.json, tokenizer_config.json (chat templates, special tokens) and the
other files convert_hf_to_gguf.py reads, runs llama.cpp's own `convert_hf_to_gguf.py --vocab-only` on
each, and records:
  - the tokenizer.* metadata it wrote: key order, GGUF types, scalar values, and for arrays the length,
    a sha256 of the elements' bytes and a few samples;
  - the Hugging Face tokenizer's ids (add_special_tokens=False) for llama.cpp's tokenizer test inputs
    (../shared/tokenizers/ggml-vocab-*.gguf.inp), and for BPE folders the ids of the script's chktxt.
Each folder's recipe goes into the JSON too, so the TypeScript test rebuilds the same folder from
../shared without Python.

Run: PYTHONPATH=/work/llama.cpp/gguf-py python3 scripts/golden/make_vocab_golden.py [FOLDER_NAME ...]
(needs transformers, sentencepiece, protobuf; LLAMA_CPP=/path/to/llama.cpp, default /work/llama.cpp).
Writes test/convert/golden/vocab-<name>.json for the named folders, or for all of them.
"""
import ast
import hashlib
import os
import re
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from gguf import GGUFReader, GGUFValueType

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
LLAMA_CPP = Path(os.environ.get("LLAMA_CPP", "/work/llama.cpp"))
OUT = REPO / "test" / "convert" / "golden"

LLAMA2_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
TOOL_TEMPLATE = "{%- for message in messages %}{{- message['role'] + ': ' + message['content'] + '\\n' }}{%- endfor %}🦙"


def tiny_llama_config(vocab_size, **extra):
    """A LlamaForCausalLM config; --vocab-only never needs its weights."""
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
        "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "rms_norm_eps": 1e-5,
        "max_position_embeddings": 256, "rope_theta": 10000.0, "tie_word_embeddings": False,
        "torch_dtype": "float32", "vocab_size": vocab_size, **extra,
    }


def added_token(content, special=True):
    return {"content": content, "lstrip": False, "normalized": not special, "rstrip": False, "single_word": False, "special": special}


SPM_SPECIALS = {"0": added_token("<unk>"), "1": added_token("<s>"), "2": added_token("</s>")}

LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
# Meta-Llama-3's tokenizer.json around the vocabulary and merges of ../shared's ggml-vocab-llama-bpe.gguf
LLAMA3_TOKENIZER_JSON = {
    "version": "1.0", "truncation": None, "padding": None,
    "normalizer": None,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
         "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
    "post_processor": {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [128000], "tokens": ["<|begin_of_text|>"]}}}]},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
              "fuse_unk": False, "byte_fallback": False, "ignore_merges": True},
}


# Each recipe: files copied from ../shared ("copy": {name: shared path}), a tokenizer.json built around a
# vocab-only GGUF's tokens and merges ("tokenizerJsonFromGguf"), a tokenizer.json whose merges are
# rewritten as [a, b] pairs ("mergesAsPairs"), JSON files ("json") and text files ("text").
FOLDERS = {
    "llama2-spm": {
        "inputs": "tokenizers/ggml-vocab-llama-spm.gguf.inp",
        "copy": {"tokenizer.model": "tokenizers/llama2-spm/tokenizer.model"},
        "json": {
            "config.json": tiny_llama_config(32000, bos_token_id=1, eos_token_id=2),
            "generation_config.json": {"bos_token_id": 1, "eos_token_id": 2, "max_length": 4096, "temperature": 0.6, "top_p": 0.9},
            "special_tokens_map.json": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
            "tokenizer_config.json": {
                "add_bos_token": True, "add_eos_token": False, "added_tokens_decoder": SPM_SPECIALS,
                "bos_token": {"__type": "AddedToken", **added_token("<s>")}, "eos_token": "</s>", "unk_token": "<unk>",
                "pad_token": None, "chat_template": LLAMA2_CHAT_TEMPLATE, "clean_up_tokenization_spaces": False,
                "legacy": False, "model_max_length": 1000000000000000019884624838656, "tokenizer_class": "LlamaTokenizer",
                "sp_model_kwargs": {},
            },
        },
    },
    "llama2-spm-added": {
        "copy": {"tokenizer.model": "tokenizers/llama2-spm/tokenizer.model"},
        "json": {
            "config.json": tiny_llama_config(32004, bos_token_id=1, eos_token_id=32001, pad_token_id=0),
            "added_tokens.json": {"<|im_start|>": 32000, "<|im_end|>": 32001},
            "tokenizer_config.json": {
                "add_bos_token": True, "add_eos_token": False, "add_prefix_space": True,
                "added_tokens_decoder": {**SPM_SPECIALS, "32000": added_token("<|im_start|>"), "32001": added_token("<|im_end|>")},
                "bos_token": "<s>", "eos_token": "<|im_end|>", "unk_token": "<unk>", "pad_token": "<unk>",
                "chat_template": [{"name": "default", "template": CHATML_TEMPLATE}, {"name": "tool_use", "template": TOOL_TEMPLATE}],
                "legacy": False, "tokenizer_class": "LlamaTokenizer",
            },
        },
    },
    "smollm2": {
        "inputs": "tokenizers/ggml-vocab-llama-bpe.gguf.inp",
        "copy": {"tokenizer.json": "tokenizers/smollm2/tokenizer.json"},
        "json": {
            "config.json": tiny_llama_config(49152, bos_token_id=1, eos_token_id=2, pad_token_id=2),
            "generation_config.json": {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2},
            "tokenizer_config.json": {
                "add_prefix_space": False, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
                "unk_token": "<|endoftext|>", "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
                "chat_template": CHATML_TEMPLATE, "clean_up_tokenization_spaces": False, "model_max_length": 8192,
                "tokenizer_class": "GPT2Tokenizer", "vocab_size": 49152,
            },
        },
    },
    "llama3-bpe": {
        "inputs": "tokenizers/ggml-vocab-llama-bpe.gguf.inp",
        "tokenizerJsonFromGguf": {"tokenizer.json": {"gguf": "tokenizers/ggml-vocab-llama-bpe.gguf", "around": LLAMA3_TOKENIZER_JSON}},
        "json": {
            "config.json": tiny_llama_config(128256, bos_token_id=128000, eos_token_id=128001),
            "tokenizer_config.json": {
                "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "chat_template": LLAMA3_CHAT_TEMPLATE,
                "clean_up_tokenization_spaces": True, "model_input_names": ["input_ids", "attention_mask"],
                "model_max_length": 1000000000000000019884624838656, "tokenizer_class": "PreTrainedTokenizerFast",
            },
        },
    },
    "smollm2-pairs": {
        "inputs": "tokenizers/ggml-vocab-gpt-2.gguf.inp",
        "copy": {"tokenizer.json": "tokenizers/smollm2/tokenizer.json"},
        "mergesAsPairs": True,
        "json": {
            "config.json": tiny_llama_config(49160, bos_token_id=0, eos_token_id=0),
            "tokenizer_config.json": {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "tokenizer_class": "GPT2Tokenizer"},
        },
        "text": {"chat_template.jinja": CHATML_TEMPLATE + "\n"},
    },
}


def tokenizer_json_from_gguf(source, around):
    """tokenizer.json with a vocab-only GGUF's tokens: control tokens become special added tokens."""
    reader = GGUFReader(SHARED / source)
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    types = reader.fields["tokenizer.ggml.token_type"].contents()
    merges = reader.fields["tokenizer.ggml.merges"].contents()
    tokenizer = json.loads(json.dumps(around))
    tokenizer["added_tokens"] = [
        {"id": i, "content": token, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        for i, (token, kind) in enumerate(zip(tokens, types)) if kind == 3
    ]
    tokenizer["model"]["vocab"] = {token: i for i, (token, kind) in enumerate(zip(tokens, types)) if kind != 3}
    tokenizer["model"]["merges"] = merges
    return tokenizer


def build_folder(recipe, folder):
    for name, source in recipe.get("copy", {}).items():
        shutil.copyfile(SHARED / source, folder / name)
    for name, spec in recipe.get("tokenizerJsonFromGguf", {}).items():
        (folder / name).write_text(json.dumps(tokenizer_json_from_gguf(spec["gguf"], spec["around"]), ensure_ascii=False), encoding="utf-8")
    if recipe.get("mergesAsPairs"):
        path = folder / "tokenizer.json"
        tokenizer = json.loads(path.read_text(encoding="utf-8"))
        tokenizer["model"]["merges"] = [merge.split(" ") for merge in tokenizer["model"]["merges"]]
        path.write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    for name, value in recipe.get("json", {}).items():
        (folder / name).write_text(json.dumps(value, indent=2, ensure_ascii=False), encoding="utf-8")
    for name, value in recipe.get("text", {}).items():
        (folder / name).write_text(value, encoding="utf-8")


ARRAY_SAMPLE = 3


def element_bytes(value_type, value):
    """The bytes hashed for one array element: UTF-8 with a u32 length for strings, little-endian otherwise."""
    if value_type == GGUFValueType.STRING:
        data = value.encode("utf-8")
        return struct.pack("<I", len(data)) + data
    return struct.pack({GGUFValueType.INT32: "<i", GGUFValueType.FLOAT32: "<f", GGUFValueType.UINT32: "<I"}[value_type], value)


def tokenizer_metadata(path):
    reader = GGUFReader(path)
    entries = []
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        kind = field.types[0]
        value = field.contents()
        if kind == GGUFValueType.ARRAY:
            element = field.types[1]
            digest = hashlib.sha256()
            for item in value:
                digest.update(element_bytes(element, item))
            entries.append({"key": key, "type": "array", "elementType": element.name.lower(), "length": len(value),
                            "sha256": digest.hexdigest(), "head": value[:ARRAY_SAMPLE], "tail": value[-ARRAY_SAMPLE:]})
        else:
            entries.append({"key": key, "type": kind.name.lower(), "value": value})
    return entries


def read_inputs(path):
    raw = path.read_text(encoding="utf-8")
    separator = "\n__ggml_vocab_test__\n"
    texts = []
    position = 0
    while position < len(raw):
        end = raw.find(separator, position)
        if end < 0:
            texts.append(raw[position:])
            break
        texts.append(raw[position:end])
        position = end + len(separator)
    return texts


def read_chktxt():
    """The text get_vocab_base_pre hashes the tokenization of."""
    source = (LLAMA_CPP / "conversion" / "base.py").read_text(encoding="utf-8")
    literal = re.search(r"chktxt = ('(?:[^'\\]|\\.)*')", source).group(1)
    return ast.literal_eval(literal)


def main():
    from transformers import AutoTokenizer
    import transformers

    commit = subprocess.run(["git", "-C", str(LLAMA_CPP), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for name, recipe in FOLDERS.items():
            if len(sys.argv) > 1 and name not in sys.argv[1:]:
                continue
            folder = Path(work) / name
            folder.mkdir()
            build_folder(recipe, folder)
            gguf_path = Path(work) / f"{name}.gguf"
            subprocess.run([sys.executable, str(LLAMA_CPP / "convert_hf_to_gguf.py"), "--vocab-only", "--outfile", str(gguf_path), str(folder)],
                           check=True, capture_output=True, env={"PYTHONPATH": str(LLAMA_CPP / "gguf-py"), "PATH": "/usr/bin:/bin"})
            golden = {
                "generatedBy": "scripts/golden/make_vocab_golden.py",
                "llamaCpp": commit,
                "transformers": transformers.__version__,
                "recipe": {key: value for key, value in recipe.items() if key != "inputs"},
                "metadata": tokenizer_metadata(gguf_path),
            }
            if "inputs" in recipe:
                tokenizer = AutoTokenizer.from_pretrained(folder)
                texts = read_inputs(SHARED / recipe["inputs"])
                golden["inputs"] = recipe["inputs"]
                golden["hfTokenIds"] = [tokenizer.encode(text, add_special_tokens=False) for text in texts]
                # llama.cpp's own tokenization with the script's GGUF: where llama.cpp's pre-tokenizer
                # departs from the Hugging Face tokenizer, camelid's GGUF must depart the same way
                golden["llamaCppTokenIdsOfScriptGguf"] = json.loads(subprocess.run(
                    ["npx", "tsx", "scripts/golden/llama-cpp-tokenize.ts", str(gguf_path)], cwd=REPO, check=True,
                    input=json.dumps(texts), capture_output=True, text=True).stdout)
                if "tokenizer.model" in recipe.get("copy", {}):
                    # transformers 5's LlamaTokenizer departs from SentencePiece (and llama.cpp) on inputs
                    # with leading spaces; the SentencePiece library itself is the tokenizer LLaMA shipped
                    from sentencepiece import SentencePieceProcessor
                    processor = SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
                    golden["sentencePieceTokenIds"] = [processor.encode(text) for text in texts]
                if (folder / "tokenizer.json").is_file():
                    golden["chktxtIds"] = tokenizer.encode(read_chktxt())
            path = OUT / f"vocab-{name}.json"
            path.write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
