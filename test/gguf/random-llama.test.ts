import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { describeGguf } from "../../src/gguf/describe.js";
import {
  countParameters,
  parseRandomLlamaOptions,
  randomLlama24MOptions,
  randomLlamaTensorShapes,
  writeRandomLlamaGguf,
} from "../../src/gguf/random-llama.js";
import { GgufReader } from "../../src/gguf/reader.js";
import { sharedPath, stories260KPath } from "../support/shared-data.js";

const workDir = mkdtempSync(join(tmpdir(), "camelid-random-llama-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const small = (overrides: Record<string, unknown> = {}) => ({
  path: join(workDir, "small.gguf"),
  vocabFrom: stories260KPath(),
  dim: 64,
  layers: 2,
  heads: 8,
  kvHeads: 2,
  hiddenDim: 96,
  contextLength: 128,
  seed: 5,
  ...overrides,
});

describe("random LLaMA models", () => {
  it("writes llama.cpp's tensor names, shapes and llama.* metadata, with the vocabulary copied", async () => {
    const result = await writeRandomLlamaGguf(small({ ropeTheta: 500000, name: "tiny-gqa" }));
    expect(result.vocabSize).toBe(512);
    const reader = await GgufReader.open(result.path);
    try {
      const names = reader.tensors.map((t) => t.name);
      expect(names.slice(0, 3)).toEqual(["token_embd.weight", "output_norm.weight", "output.weight"]);
      expect(names).toContain("blk.1.ffn_down.weight");
      expect(reader.tensorInfo("blk.0.attn_k.weight").dims).toEqual([64, 16]); // 2 KV heads of 8
      expect(reader.tensorInfo("blk.0.ffn_down.weight").dims).toEqual([96, 64]);
      expect(reader.metadata.get("llama.rope.freq_base")).toEqual({ type: "float32", value: 500000 });
      expect(reader.metadata.get("llama.rope.dimension_count")).toEqual({ type: "uint32", value: 8 });
      expect(reader.metadata.get("general.name")).toEqual({ type: "string", value: "tiny-gqa" });
      const source = await GgufReader.open(stories260KPath());
      await source.close();
      for (const [key, value] of source.metadata) if (key.startsWith("tokenizer.")) expect(reader.metadata.get(key), key).toEqual(value);
      // Weights: seeded uniform with the planned scale, norms exactly 1.
      const q = await reader.tensorFloats("blk.0.attn_q.weight");
      const std = Math.sqrt(q.reduce((sum, v) => sum + v * v, 0) / q.length);
      expect(std).toBeGreaterThan(0.9 / 8);
      expect(std).toBeLessThan(1.1 / 8);
      expect(new Set(await reader.tensorFloats("blk.1.attn_norm.weight"))).toEqual(new Set([1]));
    } finally {
      await reader.close();
    }
    const description = await describeGguf(result.path);
    expect(description).toMatchObject({ architecture: "llama", attention: "GQA", heads: 8, kvHeads: 2, parameterCount: result.parameterCount });
  });

  it("is deterministic for a seed and different across seeds", async () => {
    const a = await writeRandomLlamaGguf(small({ path: join(workDir, "a.gguf"), tensorType: "Q4_0", hiddenDim: 128 }));
    const b = await writeRandomLlamaGguf(small({ path: join(workDir, "b.gguf"), tensorType: "Q4_0", hiddenDim: 128 }));
    const c = await writeRandomLlamaGguf(small({ path: join(workDir, "c.gguf"), tensorType: "Q4_0", hiddenDim: 128, seed: 6 }));
    expect(Buffer.compare(readFileSync(a.path), readFileSync(b.path))).toBe(0);
    expect(Buffer.compare(readFileSync(a.path), readFileSync(c.path))).not.toBe(0);
    expect(readFileSync(a.path).byteLength).toBe(a.bytes);
  });

  it("omits output.weight for tied embeddings and counts parameters from the shapes", () => {
    const config = parseRandomLlamaOptions(small({ tiedEmbeddings: true }));
    const shapes = randomLlamaTensorShapes(config, 512);
    expect(shapes.some((s) => s.name === "output.weight")).toBe(false);
    // 512·64 embedding + 64 final norm + 2 layers × (64·64·2 + 64·16·2 + 3·64·96 + 2·64)
    expect(countParameters(shapes)).toBe(512 * 64 + 64 + 2 * (64 * 64 * 2 + 64 * 16 * 2 + 3 * 64 * 96 + 2 * 64));
  });

  it("offers a ~24M-parameter F32 preset with the 32000-token vocabulary", () => {
    const options = randomLlama24MOptions(join(workDir, "24m.gguf"), sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"));
    const config = parseRandomLlamaOptions(options);
    const parameters = countParameters(randomLlamaTensorShapes(config, 32000));
    expect(config.tensorType).toBe("F32");
    expect(parameters).toBeGreaterThan(23.5e6);
    expect(parameters).toBeLessThan(25.5e6);
  });

  it("rejects impossible shapes with the field named", async () => {
    const rejects = async (overrides: Record<string, unknown>, parameter: string, message: RegExp) => {
      const error = await writeRandomLlamaGguf(small(overrides)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).parameter).toBe(parameter);
      expect((error as Error).message).toMatch(message);
    };
    await rejects({ heads: 6 }, "heads", /dim 64 is not divisible by heads 6/);
    await rejects({ kvHeads: 3 }, "kvHeads", /not divisible by kvHeads 3/);
    await rejects({ tensorType: "Q8_0", hiddenDim: 100 }, "hiddenDim", /multiple of 32/);
    await rejects({ tensorType: "Q5_K" }, "tensorType", /./);
    await rejects({ layers: 0 }, "layers", /./);
    const noVocab = await writeRandomLlamaGguf(small({ vocabFrom: join(workDir, "missing.gguf") })).catch((e: unknown) => e);
    expect(noVocab).toBeInstanceOf(InvalidArgumentError);
    expect((noVocab as Error).message).toMatch(/cannot open .*missing\.gguf: no such file/);
  });
});
