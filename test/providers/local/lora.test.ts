// LoRA adapters on stories260K: adapter GGUFs written with camelid's own GGUF writer, in the layout
// llama.cpp's convert_lora_to_gguf.py produces (general.type "adapter", <weight>.lora_a [in, r] and
// <weight>.lora_b [r, out] in ggml order), loaded through the context's lora option.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeGguf } from "../../../src/gguf/index.js";
import { createLocalModel } from "../../../src/providers/local/index.js";
import { stories260KPath } from "../../support/shared-data.js";

const DIM = 64;
const RANK = 4;
const LAYERS = 5;
let folder: string;

async function writeAdapter(path: string, bValue: (i: number) => number): Promise<void> {
  const tensors = [];
  for (let layer = 0; layer < LAYERS; layer++) {
    for (const target of ["attn_q", "attn_output"]) {
      const a = Float32Array.from({ length: DIM * RANK }, (_, i) => Math.sin(i * 0.7 + layer) * 0.5);
      const b = Float32Array.from({ length: RANK * DIM }, (_, i) => bValue(i + layer * 31));
      tensors.push({ name: `blk.${layer}.${target}.weight.lora_a`, dims: [DIM, RANK], type: "F32" as const, data: a });
      tensors.push({ name: `blk.${layer}.${target}.weight.lora_b`, dims: [RANK, DIM], type: "F32" as const, data: b });
    }
  }
  await writeGguf(path, {
    metadata: [
      ["general.architecture", { type: "string", value: "llama" }],
      ["general.type", { type: "string", value: "adapter" }],
      ["adapter.type", { type: "string", value: "lora" }],
      ["adapter.lora.alpha", { type: "float32", value: RANK }],
    ],
    tensors,
  });
}

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "camelid-lora-"));
  await writeAdapter(join(folder, "zero.gguf"), () => 0);
  await writeAdapter(join(folder, "strong.gguf"), (i) => Math.cos(i * 1.3) * 2);
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
