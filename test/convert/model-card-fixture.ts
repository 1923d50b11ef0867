// A tiny Hugging Face LLaMA folder with a model card (README.md YAML front matter) and config.json's
// _name_or_path: what gguf-py's Metadata.load reads into general.* beyond the folder name.
// scripts/golden/make_model_card_golden.py runs this file to write it and converts it with
// convert_hf_to_gguf.py; test/convert/model-card-metadata.test.ts rebuilds it without Python.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { writeRandomHfLlama } from "../../src/convert/random-hf-llama.js";
import { sharedPath } from "../support/shared-data.js";

export const MODEL_CARD_FOLDER = "card-llama";

/** The Hub id transformers' save_pretrained records; Metadata.load reads name, organization, size … from it. */
export const NAME_OR_PATH = "camelid-tests/Tiny-Llama-512K-Instruct-v0.2";

// Every kind of entry metadata.py handles: a Hub id, a Hub URL, a mapping, and an entry it cannot read
// (42: kept as an empty one); a datasets URL its Hub regex does not match; a YAML 1.1 `no` (Norwegian).
export const MODEL_CARD = `---
license: apache-2.0
license_name: camelid-test-license
license_link: https://example.com/LICENSE
author: Camelid Tests
description: A tiny random LLaMA with a model card.
tags:
- llama
- text-generation
pipeline_tag: text-generation
base_model:
- meta-llama/Llama-2-7b-hf
- https://huggingface.co/TinyLlama/TinyLlama-1.1B-Chat-v1.0
- name: Custom Base
  author: Someone
  url: https://example.com/base
- 42
datasets:
- tatsu-lab/alpaca
- https://huggingface.co/datasets/anon8231489123/ShareGPT_Vicuna_unfiltered
language:
- en
- no
---
# Tiny Llama

A model card body, which the converter ignores.
`;

export async function writeModelCardFixture(parent: string): Promise<string> {
  const folder = join(parent, MODEL_CARD_FOLDER);
  await writeRandomHfLlama(folder, {
    hiddenSize: 16,
    intermediateSize: 32,
    layers: 1,
    heads: 2,
    kvHeads: 2,
    vocabSize: 32000,
    tiedEmbeddings: true,
    dtype: "F32",
    seed: 41,
    generationConfig: { bos_token_id: 1, eos_token_id: 2, temperature: 0.7, repetition_penalty: 1.1 },
    tokenizerFiles: [sharedPath("tokenizers", "llama2-spm", "tokenizer.model")],
  });
  const configPath = join(folder, "config.json");
  const config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
  await writeFile(configPath, JSON.stringify({ _name_or_path: NAME_OR_PATH, ...config }, null, 2) + "\n");
  await writeFile(join(folder, "README.md"), MODEL_CARD);
  return folder;
}

// `tsx test/convert/model-card-fixture.ts OUT_DIR`: writes the folder under OUT_DIR and prints its path.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const parent = process.argv[2];
  if (!parent) throw new Error("usage: tsx test/convert/model-card-fixture.ts OUT_DIR");
  console.log(await writeModelCardFixture(parent));
}
