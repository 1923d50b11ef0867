import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaModel, loadLlamaGguf, loadLoraGguf, SeededRandom, allocateLoraWeights, type LlamaConfig, type BaseWeights } from "../../src/engine/index.js";
import { GgufReader, metadataNumber, metadataString } from "../../src/gguf/index.js";
import { writeLoraAdapterGguf } from "../../src/train/adapter-export.js";
import { AdapterExportError } from "../../src/train/errors.js";
import { mergedTensorType, writeMergedGguf } from "../../src/train/merged-export.js";
import { stories260KPath } from "../support/shared-data.js";
import { llamaCppLogits, maxRelativeError } from "../support/llama-cpp-logits.js";

// The exported adapter must mean in llama.cpp what it means in our engine: same logits with the
// adapter applied, and the same again from the merged model without any adapter.

const dir = mkdtempSync(join(tmpdir(), "camelid-adapter-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tokens = [1, ...Array.from({ length: 23 }, (_, i) => ((i * 7919 + 13) % 509) + 3)];

let config: LlamaConfig;
let weights: BaseWeights;
let adapted: LlamaModel;
let ours: Float32Array;
let base: Float32Array;
const adapterPath = join(dir, "adapter.gguf");

beforeAll(async () => {
  ({ config, weights } = await loadLlamaGguf(stories260KPath()));
  adapted = new LlamaModel(config, weights, { lora: { rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"] }, seed: 9 });
  // a trained adapter's B is non-zero; a seeded random one exercises every tensor the same way
  const random = new SeededRandom(10);
  for (const pairs of adapted.lora!.layers) for (const pair of pairs.values()) for (let i = 0; i < pair.b.length; i++) pair.b[i] = random.uniform(-0.2, 0.2);
  adapted.training = false;
  adapted.forward({ tokens: Int32Array.from(tokens) }, 1, tokens.length);
  ours = adapted.logits.slice();
  const plain = new LlamaModel(config, weights);
  plain.forward({ tokens: Int32Array.from(tokens) }, 1, tokens.length);
  base = plain.logits.slice();
  await writeLoraAdapterGguf(adapterPath, adapted.lora!, config, { name: "test adapter", architecture: "llama" });
});

describe("LoRA adapter GGUF in llama.cpp's format", () => {
  it("has llama.cpp's metadata and tensor shapes (lora_a [in, r], lora_b [r, out])", async () => {
    const reader = await GgufReader.open(adapterPath);
    try {
      expect(metadataString(reader.metadata, "general.type")).toBe("adapter");
      expect(metadataString(reader.metadata, "adapter.type")).toBe("lora");
      expect(metadataString(reader.metadata, "general.architecture")).toBe("llama");
      expect(metadataNumber(reader.metadata, "adapter.lora.alpha")).toBe(8);
      expect(reader.tensors).toHaveLength(5 * 7 * 2);
      expect(reader.tensorInfo("blk.0.attn_k.weight.lora_a").dims).toEqual([64, 4]);
      expect(reader.tensorInfo("blk.0.attn_k.weight.lora_b").dims).toEqual([4, 32]); // 4 KV heads x 8
      expect(reader.tensorInfo("blk.4.ffn_down.weight.lora_a").dims).toEqual([172, 4]);
      expect(reader.tensorInfo("blk.4.ffn_down.weight.lora_b").dims).toEqual([4, 64]);
    } finally {
      await reader.close();
    }
  });

  it("reads back into the engine unchanged", async () => {
    const copy = allocateLoraWeights(config, adapted.lora!.config);
    await loadLoraGguf(copy, adapterPath);
    expect(Buffer.from(copy.params.buffer).equals(Buffer.from(adapted.lora!.params.buffer))).toBe(true);
  });

  it("node-llama-cpp with the adapter gives our engine's logits (the adapter visibly changes them)", async () => {
    const theirs = await llamaCppLogits(stories260KPath(), tokens, config.vocabSize, adapterPath);
    const error = maxRelativeError(ours, theirs, config.vocabSize);
    console.log(`adapter in llama.cpp vs engine: max relative logit error ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(1e-4);
    const theirsBase = await llamaCppLogits(stories260KPath(), tokens, config.vocabSize);
    expect(maxRelativeError(ours, theirsBase, config.vocabSize)).toBeGreaterThan(1e-2);
    expect(maxRelativeError(base, theirsBase, config.vocabSize)).toBeLessThanOrEqual(1e-4);
  });

  it("the merged F32 GGUF gives the same logits in llama.cpp and in our engine", async () => {
    const merged = join(dir, "merged-f32.gguf");
    await writeMergedGguf(stories260KPath(), merged, adapted.lora!, "F32");
    const theirs = await llamaCppLogits(merged, tokens, config.vocabSize);
    const error = maxRelativeError(ours, theirs, config.vocabSize);
    console.log(`merged F32 in llama.cpp vs engine with adapter: ${error.toExponential(2)}`);
    expect(error).toBeLessThanOrEqual(1e-4);
    const reloaded = await loadLlamaGguf(merged);
    const engine = new LlamaModel(reloaded.config, reloaded.weights);
    engine.forward({ tokens: Int32Array.from(tokens) }, 1, tokens.length);
    expect(maxRelativeError(engine.logits, theirs, config.vocabSize)).toBeLessThanOrEqual(1e-4);
  });

  it("merged F16 and Q8_0 stay close (rounding only); Q8_0 falls back to F16 for rows not a multiple of 32", async () => {
    // Q8_0: llama.cpp also quantizes the activations to 8 bits for these matmuls (measured ~3.3e-2)
    for (const [type, tolerance] of [["F16", 5e-3], ["Q8_0", 6e-2]] as const) {
      const merged = join(dir, `merged-${type}.gguf`);
      await writeMergedGguf(stories260KPath(), merged, adapted.lora!, type);
      const theirs = await llamaCppLogits(merged, tokens, config.vocabSize);
      const error = maxRelativeError(ours, theirs, config.vocabSize);
      console.log(`merged ${type}: ${error.toExponential(2)}`);
      expect(error).toBeLessThanOrEqual(tolerance);
      const reader = await GgufReader.open(merged);
      expect(reader.tensorInfo("blk.0.attn_norm.weight").type).toBe("F32");
      expect(reader.tensorInfo("blk.0.attn_q.weight").type).toBe(type);
      expect(reader.tensorInfo("blk.0.ffn_down.weight").type).toBe("F16"); // 172 columns
      expect(metadataString(reader.metadata, "tokenizer.ggml.model")).toBe("llama");
      await reader.close();
    }
    expect(mergedTensorType([64], "Q8_0")).toBe("F32");
  });

  it("refuses an empty or untrained adapter before writing anything", async () => {
    const untrained = new LlamaModel(config, weights, { lora: { rank: 2, alpha: 2, dropout: 0, targets: ["q"] } });
    const path = join(dir, "untrained.gguf");
    await expect(writeLoraAdapterGguf(path, untrained.lora!, config, { name: "x", architecture: "llama" })).rejects.toThrow(/blk.0.attn_q.weight.lora_b is all zero/);
    untrained.lora!.layers[0].get("q")!.b[0] = Number.NaN;
    await expect(writeLoraAdapterGguf(path, untrained.lora!, config, { name: "x", architecture: "llama" })).rejects.toThrow(AdapterExportError);
    const { existsSync } = await import("node:fs");
    expect(existsSync(path)).toBe(false);
  });
});
