// LoRA adapters on stories260K: adapter GGUFs written with camelid's own GGUF writer, in the layout
// llama.cpp's convert_lora_to_gguf.py produces (general.type "adapter", <weight>.lora_a [in, r] and
// <weight>.lora_b [r, out] in ggml order), loaded through the context's lora option.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalModel } from "../../../src/providers/local/index.js";
import { strongAdapterValues, writeStories260KAdapter } from "../../support/lora-adapter.js";
import { stories260KPath } from "../../support/shared-data.js";

let folder: string;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "camelid-lora-"));
  await writeStories260KAdapter(join(folder, "zero.gguf"), () => 0);
  await writeStories260KAdapter(join(folder, "strong.gguf"), strongAdapterValues);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function greedy(lora?: { path: string; scale?: number }[]): Promise<string> {
  const model = createLocalModel({ modelPath: stories260KPath(), contextSize: 128, sequences: 1, ...(lora ? { lora } : {}) });
  try {
    return (await model.doGenerate({ prompt: "Once upon a time", maxTokens: 24, temperature: 0 })).choices[0].text;
  } finally {
    await model.dispose();
  }
}

describe("LoRA adapters", () => {
  it("loads adapters: a zero adapter changes nothing, a strong one changes the text, scale 0 turns it off", async () => {
    const base = await greedy();
    expect(await greedy([{ path: join(folder, "zero.gguf") }])).toBe(base);
    expect(await greedy([{ path: join(folder, "strong.gguf"), scale: 1 }])).not.toBe(base);
    expect(await greedy([{ path: join(folder, "strong.gguf"), scale: 0 }])).toBe(base);
  });

  it("fails with a clear error for a missing adapter file", async () => {
    await expect(greedy([{ path: join(folder, "missing.gguf") }])).rejects.toThrow(/lora\[0\]: LoRA adapter file not found: .*missing\.gguf/);
  });
});
