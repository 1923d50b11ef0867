import { describe, expect, it } from "vitest";
import { idToTitle, modelIdComponents } from "../../src/convert/model-name.js";

// Expected values printed by gguf-py (the bundled llama.cpp's gguf/metadata.py):
//   Metadata.get_model_id_components(name, total_params) and Metadata.id_to_title(full_name)
const GGUF_PY: [string, number, Record<string, string>][] = [
  ["TinyLlama-1.1B-Chat-v1.0", 1100048384, { name: "TinyLlama 1.1B Chat v1.0", basename: "TinyLlama", finetune: "Chat", version: "v1.0", sizeLabel: "1.1B" }],
  ["Llama-2-7b-chat-hf", 6738415616, { name: "Llama 2 7b Chat Hf", basename: "Llama-2", finetune: "chat-hf", sizeLabel: "7B" }],
  ["Meta-Llama-3.1-8B-Instruct", 8030261248, { name: "Meta Llama 3.1 8B Instruct", basename: "Meta-Llama-3.1", finetune: "Instruct", sizeLabel: "8B" }],
  ["bench-small", 56000000, { name: "Bench Small", basename: "bench", sizeLabel: "small" }],
  ["mha-untied", 4178240, { name: "Mha Untied" }],
  ["Mistral-7B-Instruct-v0.3", 7248023552, { name: "Mistral 7B Instruct v0.3", basename: "Mistral", finetune: "Instruct", version: "v0.3", sizeLabel: "7B" }],
  ["bloom-7b1", 7069016064, { name: "Bloom 7b1", basename: "bloom", sizeLabel: "7.1B" }],
  ["open_llama_3b_v2", 3426473600, { name: "Open_Llama_3B_V2" }],
  ["llama-65b-32k", 65000000000, { name: "Llama 65b 32k", basename: "llama", finetune: "32k", sizeLabel: "65B" }],
  ["SmolLM2-135M-Instruct", 134515008, { name: "SmolLM2 135M Instruct", basename: "SmolLM2", finetune: "Instruct", sizeLabel: "135M" }],
  ["Llama-3.2-1B-Q8_0", 1235814400, { name: "Llama 3.2 1B Q8_0", basename: "Llama-3.2", sizeLabel: "1B" }],
];

describe("the folder name read as convert_hf_to_gguf.py reads it (gguf-py Metadata heuristics)", () => {
  it.each(GGUF_PY)("%s", (folder, parameters, expected) => {
    const { name, ...rest } = modelIdComponents(folder, parameters);
    expect({ name: idToTitle(name), ...rest }).toEqual(expected);
  });
});
