// Messages rendered with the model's own GGUF chat template: stories260K copied (weights byte for
// byte, with our GGUF reader and writer) with a tokenizer.chat_template and a misleading name added.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgufReader, writeGguf } from "../../../src/gguf/index.js";
import { createLocalModel, type LocalLanguageModel } from "../../../src/providers/local/index.js";
import { stories260KPath } from "../../support/shared-data.js";

const TEMPLATE =
  "{% for message in messages %}<|{{ message.role }}|>\n{{ message.content }}{{ eos_token }}\n{% endfor %}" +
  "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";

let folder: string;
let modelPath: string;
let model: LocalLanguageModel;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "camelid-template-"));
  modelPath = join(folder, "stories-with-template.gguf");
  const reader = await GgufReader.open(stories260KPath());
  try {
    const metadata = new Map(reader.metadata);
    metadata.set("general.name", { type: "string", value: "vicuna-looking-name" });
    metadata.set("tokenizer.chat_template", { type: "string", value: TEMPLATE });
    const tensors = [];
    for (const tensor of reader.tensors) {
      tensors.push({ name: tensor.name, dims: tensor.dims, type: tensor.type, data: await reader.tensorBytes(tensor.name) });
    }
    await writeGguf(modelPath, { metadata, tensors });
  } finally {
    await reader.close();
  }
  model = createLocalModel({ modelPath, contextSize: 128, sequences: 1 });
});
afterAll(async () => {
  await model?.dispose();
  rmSync(folder, { recursive: true, force: true });
});

describe("the model's own chat template", () => {
  const messages = [
    { role: "system" as const, content: "Be brief." },
    { role: "user" as const, content: "Say </s> please" },
  ];

  it("wins over the name heuristic, renders exactly, and only template markup becomes special tokens", async () => {
    const rendered = await model.renderPrompt({ messages });
    expect(rendered.format).toMatchObject({ name: "gguf-jinja", source: "model-template" });
    expect(rendered.text).toBe("<|system|>\nBe brief.</s>\n<|user|>\nSay </s> please</s>\n<|assistant|>\n");
    const eos = rendered.tokens!.filter((token) => token === 2).length;
    expect(eos).toBe(2); // the template's two eos_token, not the one the user typed
    expect(rendered.tokens![0]).toBe(1);
    expect((await model.describe()).promptFormat?.source).toBe("model-template");
  });

  it("generates from it, and an explicit format still wins", async () => {
    const result = await model.doGenerate({ messages, maxTokens: 5, temperature: 0 });
    expect(result.prompt?.format.source).toBe("model-template");
    expect(result.usage.promptTokens).toBe(result.prompt?.tokens?.length);
    const vicuna = await model.renderPrompt({ messages, promptFormat: "vicuna-v1.1" });
    expect(vicuna.format).toMatchObject({ name: "vicuna-v1.1", source: "explicit" });
  });
});
