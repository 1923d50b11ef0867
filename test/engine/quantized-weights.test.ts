import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { llamaConfig, type LlamaConfig } from "../../src/engine/config.js";
import { createFastKernels, referenceKernels, type KernelSet } from "../../src/engine/kernels/kernel-set.js";
import { allocateBaseWeights, type BaseWeights } from "../../src/engine/model/base-weights.js";
import { loadLlamaGguf } from "../../src/engine/model/gguf-model.js";
import { LlamaModel, type LlamaModelOptions } from "../../src/engine/model/llama-model.js";
import { dequantizeRows, gatherRows, quantizedMatrix, type StorableType } from "../../src/engine/model/quantized-matrix.js";
import { relativeError } from "./gradient-check.js";
import { dequantizeBaseWeights, quantizeBaseWeights, quantizedWeightBytes, type QuantizedBaseWeights } from "../../src/engine/model/quantized-weights.js";
import { randomizeBaseWeights } from "../../src/engine/model/random-init.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { InvalidArgumentError, UnsupportedFeatureError } from "../../src/errors/index.js";
import { dequantize, quantize, readGgufHeader, writeRandomLlamaGguf } from "../../src/gguf/index.js";
import { sharedPath } from "../support/shared-data.js";
import { tinyBatch } from "./tiny-model.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

// Base weights kept in their GGUF encoding and decoded one matrix at a time must compute exactly what
// the same bytes decoded on load compute: the decoders write gguf's dequantize() values, and the
// kernels get the same operands. Only a head split into vocabulary chunks reorders a sum (the input
// gradient's sum over the vocabulary), so that case is compared with a rounding tolerance.

const workDir = mkdtempSync(join(tmpdir(), "camelid-quantized-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const bits = (values: Float32Array) => new Uint32Array(values.buffer, values.byteOffset, values.length);
const randomValues = (count: number, seed: number, scale = 1) => {
  const random = new SeededRandom(seed);
  return Float32Array.from({ length: count }, () => random.uniform(-scale, scale));
};

describe("encoded matrix decoders", () => {
  const rows = 5, cols = 64;
  const values = randomValues(rows * cols, 3, 2);
  const encodings: [StorableType, Uint8Array][] = [
    ["F32", quantize("F32", values)],
    ["F16", quantize("F16", values)],
    ["Q8_0", quantize("Q8_0", values)],
    ["Q4_0", quantize("Q4_0", values)],
    // bfloat16 = the high half of each float32
    ["BF16", new Uint8Array(Uint16Array.from(bits(values), (b) => b >>> 16).buffer)],
  ];
  for (const [type, bytes] of encodings) {
    it(`decode ${type} rows exactly as gguf's dequantize`, () => {
      const expected = dequantize(type, bytes, rows * cols);
      const matrix = quantizedMatrix(type, rows, cols, bytes);
      const all = new Float32Array(rows * cols);
      dequantizeRows(all, matrix, 0, rows);
      expect(bits(all)).toEqual(bits(expected));
      const middle = new Float32Array(2 * cols);
      dequantizeRows(middle, matrix, 2, 2);
      expect(bits(middle)).toEqual(bits(expected.subarray(2 * cols, 4 * cols)));
      const gathered = new Float32Array(3 * cols);
      gatherRows(gathered, matrix, Int32Array.from([4, 0, 4]), 3);
      expect(bits(gathered.subarray(0, cols))).toEqual(bits(expected.subarray(4 * cols)));
      expect(bits(gathered.subarray(cols, 2 * cols))).toEqual(bits(expected.subarray(0, cols)));
    });
  }

  it("decodes from an unaligned byte offset (copied to an aligned one)", () => {
    const bytes = quantize("F16", values);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const out = new Float32Array(rows * cols);
    dequantizeRows(out, quantizedMatrix("F16", rows, cols, shifted.subarray(1)), 0, rows);
    expect(bits(out)).toEqual(bits(dequantize("F16", bytes, rows * cols)));
  });

  it("names what is wrong with bad input", () => {
    expect(() => quantizedMatrix("Q4_1", 1, 32, new Uint8Array(20), "blk.0.attn_q.weight")).toThrow(UnsupportedFeatureError);
    expect(() => quantizedMatrix("Q4_1", 1, 32, new Uint8Array(20), "blk.0.attn_q.weight")).toThrow(/blk\.0\.attn_q\.weight: Q4_1 tensors cannot be kept encoded/);
    expect(() => quantizedMatrix("Q8_0", 2, 48, new Uint8Array(68))).toThrow(/rows of 48 values are not whole Q8_0 blocks of 32/);
    expect(() => quantizedMatrix("Q8_0", 2, 32, new Uint8Array(60), "w")).toThrow(InvalidArgumentError);
    const matrix = quantizedMatrix("Q8_0", 2, 32, new Uint8Array(68));
    expect(() => dequantizeRows(new Float32Array(64), matrix, 1, 2)).toThrow(/rows 1\.\.3 are outside a matrix of 2 rows/);
    expect(() => dequantizeRows(new Float32Array(10), matrix, 0, 1)).toThrow(/the output holds 10 values, 32 needed/);
  });
});

// dims are multiples of 32 so that every matrix row is whole Q8_0/Q4_0 blocks
const shape = (tiedOutput: boolean): LlamaConfig => llamaConfig({ vocabSize: 40, dim: 32, hiddenDim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, tiedOutput });
const lora = parseLoraConfig({ rank: 2, alpha: 4, dropout: 0.1, targets: ["q", "k", "v", "o", "gate", "up", "down"] });
const B = 2, T = 5;

function models(config: LlamaConfig, type: StorableType, kernels: KernelSet, options: LlamaModelOptions = {}) {
  const dense = allocateBaseWeights(config);
  randomizeBaseWeights(config, dense, new SeededRandom(4), 0.3);
  const encoded = quantizeBaseWeights(config, dense, type);
  const make = (weights: BaseWeights | QuantizedBaseWeights) => {
    const model = new LlamaModel(config, weights, { kernels, lora, seed: 8, ...options });
    const random = new SeededRandom(6);
    for (const pairs of model.lora!.layers) for (const p of pairs.values()) for (let i = 0; i < p.b.length; i++) p.b[i] = random.uniform(-0.3, 0.3);
    return model;
  };
  return { onLoad: make(dequantizeBaseWeights(config, encoded)), onTheFly: make(encoded), encoded };
}

function step(model: LlamaModel, seed: number) {
  const batch = tinyBatch(B, T, model.config.vocabSize, seed);
  model.zeroGradients();
  const loss = model.forward(batch, B, T);
  model.backward();
  return loss;
}

describe("base weights decoded on the fly", () => {
  for (const type of ["F16", "Q8_0", "Q4_0"] as const) {
    for (const tied of [false, true]) {
      it(`${type}, ${tied ? "tied" : "separate"} head: same loss, gradients and logits as decoding on load (reference kernels, bit for bit)`, () => {
        const { onLoad, onTheFly } = models(shape(tied), type, referenceKernels);
        for (const seed of [1, 2]) {
          expect(step(onTheFly, seed)).toBe(step(onLoad, seed));
          expect(bits(onTheFly.lora!.grads)).toEqual(bits(onLoad.lora!.grads));
        }
        const { tokens } = tinyBatch(B, T, 40, 3);
        onLoad.forward({ tokens }, B, T);
        onTheFly.forward({ tokens }, B, T);
        expect(bits(onTheFly.logits)).toEqual(bits(onLoad.logits));
      });
    }
  }

  it("fast kernels: the decode scratch goes in as a changing weight (a kept prepared copy of it would be stale), equal to decoding on load up to rounding", () => {
    const { onLoad, onTheFly } = models(shape(false), "Q8_0", fastKernels);
    for (const seed of [1, 2]) {
      const expected = step(onLoad, seed);
      expect(Math.abs(step(onTheFly, seed) - expected)).toBeLessThan(1e-5 * Math.abs(expected));
      expect(relativeError(onTheFly.lora!.grads, onLoad.lora!.grads)).toBeLessThan(1e-5);
      expect(onLoad.lora!.grads.some((g) => g !== 0)).toBe(true); // (relative to non-zero gradients)
    }
  });

  it("an output head decoded in chunks of 7 vocabulary rows: same logits and loss, gradients up to rounding", () => {
    const { onLoad, onTheFly } = models(shape(false), "Q4_0", referenceKernels, { encoded: { headChunkRows: 7 } });
    expect(step(onTheFly, 1)).toBe(step(onLoad, 1));
    expect(relativeError(onTheFly.lora!.grads, onLoad.lora!.grads)).toBeLessThan(1e-5);
    expect(onLoad.lora!.grads.some((g) => g !== 0)).toBe(true);
    const { tokens } = tinyBatch(B, T, 40, 3);
    onLoad.forward({ tokens }, B, T);
    onTheFly.forward({ tokens }, B, T);
    expect(bits(onTheFly.logits)).toEqual(bits(onLoad.logits));
  });

  it("reports the encoded bytes as base-weight memory and the decode scratch separately", () => {
    const config = shape(false);
    const { onLoad, onTheFly, encoded } = models(config, "Q4_0", referenceKernels);
    step(onLoad, 1);
    step(onTheFly, 1);
    const dense = onLoad.memoryBytes(), onTheFlyMemory = onTheFly.memoryBytes();
    expect(onTheFlyMemory.baseWeights).toBe(quantizedWeightBytes(encoded));
    // float32 is 4 bytes per weight; Q4_0 is 18 bytes per 32 (norms stay float32)
    expect(onTheFlyMemory.baseWeights).toBeLessThan(dense.baseWeights / 5);
    expect(dense.dequantScratch).toBe(0);
    // one scratch as large as the largest layer matrix (hidden x dim)
    expect(onTheFlyMemory.dequantScratch).toBe(config.hiddenDim * config.dim * 4);
    expect(onTheFlyMemory.total).toBe(onTheFlyMemory.baseWeights + onTheFlyMemory.dequantScratch + onTheFlyMemory.kernelWeights + onTheFlyMemory.lora + onTheFlyMemory.activations + onTheFlyMemory.gradientScratch);
  });

  it("loads a Q4_0 GGUF encoded (resident bytes = the tensors' bytes) with the logits of the decoded load", async () => {
    const path = join(workDir, "q4.gguf");
    await writeRandomLlamaGguf({ path, vocabFrom: sharedPath("tokenizers", "ggml-vocab-llama-spm.gguf"), dim: 64, layers: 1, heads: 4, kvHeads: 2, hiddenDim: 96, tensorType: "Q4_0", seed: 3 });
    const decoded = await loadLlamaGguf(path);
    const kept = await loadLlamaGguf(path, { weightStorage: "quantized" });
    expect(kept.weights.storage).toBe("quantized");
    expect(kept.config).toEqual(decoded.config);
    const tensorBytes = (await readGgufHeader(path)).tensors.reduce((sum, tensor) => sum + tensor.byteLength, 0);
    expect(quantizedWeightBytes(kept.weights)).toBe(tensorBytes);
    const tokens = Int32Array.from([1, 450, 4996, 17354, 1701]);
    const logits = [decoded.weights, kept.weights].map((weights) => {
      const model = new LlamaModel(decoded.config, weights, { kernels: referenceKernels });
      model.forward({ tokens }, 1, tokens.length);
      return model.logits.slice();
    });
    expect(bits(logits[1])).toEqual(bits(logits[0]));
  });
});
