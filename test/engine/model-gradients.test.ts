import { describe, expect, it } from "vitest";
import { createFastKernels, referenceKernels } from "../../src/engine/kernels/kernel-set.js";
import { allocateBaseWeights } from "../../src/engine/model/base-weights.js";
import { LlamaModel } from "../../src/engine/model/llama-model.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { clipGradientNorm } from "../../src/engine/optim/clip.js";
import { InvalidArgumentError } from "../../src/errors/index.js";
import { numericGradient, relativeError } from "./gradient-check.js";
import { tinyBatch, tinyConfig, tinyModel } from "./tiny-model.js";

/** This file's own fast kernel set (a set owns its workspace and threads; the process keeps none). */
const fastKernels = createFastKernels();

const allTargets = parseLoraConfig({ rank: 2, alpha: 4, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"] });
const B = 2, T = 5;

describe("whole model: LoRA gradients", () => {
  for (const tiedOutput of [false, true]) {
    it(`match finite differences on every LoRA parameter (${tiedOutput ? "tied" : "separate"} output head)`, () => {
      const config = tinyConfig({ tiedOutput });
      const model = tinyModel(config, referenceKernels, allTargets);
      const batch = tinyBatch(B, T, config.vocabSize);
      model.zeroGradients();
      model.forward(batch, B, T);
      model.backward();
      const lora = model.lora!;
      const analytic = lora.grads.slice();
      // float32 storage: a step of 1e-2 keeps rounding noise ~1e-5 and truncation error ~1e-4
      const h = 1e-2;
      const numeric = new Float64Array(lora.params.length);
      for (let i = 0; i < lora.params.length; i++) {
        const saved = lora.params[i];
        lora.params[i] = saved + h;
        const plus = model.forward(batch, B, T);
        lora.params[i] = saved - h;
        const minus = model.forward(batch, B, T);
        lora.params[i] = saved;
        numeric[i] = (plus - minus) / (2 * h);
      }
      expect(relativeError(analytic, numeric)).toBeLessThan(3e-3);
      expect(analytic.some((g) => g !== 0)).toBe(true);
    });
  }

  for (const tiedOutput of [false, true]) {
    it(`with the output head adapted (lm_head): every gradient matches finite differences, masked positions included (${tiedOutput ? "tied" : "separate"} head)`, () => {
      const config = tinyConfig({ tiedOutput });
      const model = tinyModel(config, referenceKernels, parseLoraConfig({ rank: 2, alpha: 4, dropout: 0, targets: ["q", "down"], outputHead: true }));
      const lora = model.lora!;
      // B starts at zero (A's gradients would all be zero): give every B values so both are checked
      for (let i = 0; i < lora.params.length; i++) if (lora.params[i] === 0) lora.params[i] = Math.sin(i) * 0.05;
      expect(lora.head!.outFeatures).toBe(config.vocabSize);
      const batch = tinyBatch(B, T, config.vocabSize);
      batch.lossMask = Uint8Array.from({ length: B * T }, (_, n) => (n % 3 === 0 ? 0 : 1));
      model.zeroGradients();
      model.forward(batch, B, T);
      model.backward();
      const analytic = lora.grads.slice();
      const numeric = numericGradient(lora.params, () => model.forward(batch, B, T), 1e-2);
      expect(relativeError(analytic, numeric)).toBeLessThan(3e-3);
      expect(lora.head!.gradA.some((g) => g !== 0) && lora.head!.gradB.some((g) => g !== 0)).toBe(true);
    });
  }

  it("with LoRA dropout: gradients match finite differences under the same dropout masks; eval mode drops nothing", () => {
    const config = tinyConfig();
    const withDropout = parseLoraConfig({ rank: 2, alpha: 4, dropout: 0.25, targets: ["q", "v", "down"] });
    const model = tinyModel(config, referenceKernels, withDropout);
    const batch = tinyBatch(B, T, config.vocabSize);
    const state = model.random.getState();
    const lossAt = () => {
      model.random.setState(state); // replay the same masks
      return model.forward(batch, B, T);
    };
    model.zeroGradients();
    lossAt();
    model.backward();
    const analytic = model.lora!.grads.slice();
    const lora = model.lora!;
    const h = 1e-2;
    const numeric = new Float64Array(lora.params.length);
    for (let i = 0; i < lora.params.length; i++) {
      const saved = lora.params[i];
      lora.params[i] = saved + h;
      const plus = lossAt();
      lora.params[i] = saved - h;
      const minus = lossAt();
      lora.params[i] = saved;
      numeric[i] = (plus - minus) / (2 * h);
    }
    expect(relativeError(analytic, numeric)).toBeLessThan(3e-3);
    // some inputs really were dropped
    const keep = model.activations!.layers[0].lora.get("q")!.keep!;
    expect(keep.some((k) => k === 0) && keep.some((k) => k === 1)).toBe(true);
    // eval mode: deterministic and equal to the same weights without dropout
    model.training = false;
    const evalLoss = model.forward(batch, B, T);
    const noDropout = tinyModel(config, referenceKernels, { ...withDropout, dropout: 0 });
    noDropout.lora!.params.set(lora.params);
    expect(evalLoss).toBeCloseTo(noDropout.forward(batch, B, T), 6);
  });

  it("fast kernels give the reference model's loss, logits and gradients", () => {
    const config = tinyConfig();
    const reference = tinyModel(config, referenceKernels, allTargets);
    const fast = tinyModel(config, fastKernels, allTargets);
    const batch = tinyBatch(3, 7, config.vocabSize);
    const noTargets = { tokens: batch.tokens };
    reference.forward(noTargets, 3, 7);
    fast.forward(noTargets, 3, 7);
    expect(relativeError(fast.logits, reference.logits)).toBeLessThan(1e-5);
    for (const model of [reference, fast]) {
      model.zeroGradients();
      model.forward(batch, 3, 7);
      model.backward();
    }
    expect(fast.forward(batch, 3, 7)).toBeCloseTo(reference.forward(batch, 3, 7), 5);
    expect(relativeError(fast.lora!.grads, reference.lora!.grads)).toBeLessThan(1e-5);
  });

  it("a fresh adapter (B = 0) leaves the base model's logits unchanged", () => {
    const config = tinyConfig();
    const base = tinyModel(config, fastKernels);
    const weights = base.weights;
    const adapted = new LlamaModel(config, weights, { lora: allTargets, seed: 3 });
    const { tokens } = tinyBatch(B, T, config.vocabSize);
    base.forward({ tokens }, B, T);
    const expected = base.logits.slice();
    adapted.forward({ tokens }, B, T);
    expect(Array.from(adapted.logits)).toEqual(Array.from(expected));
    // and A really was initialised: kaiming-uniform bound 1/sqrt(in)
    const pair = adapted.lora!.layers[0].get("q")!;
    expect(pair.a.some((x) => x !== 0)).toBe(true);
    expect(Math.max(...pair.a.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(config.dim));
  });

  it("gradient accumulation: two backward passes give twice the gradient", () => {
    const config = tinyConfig();
    const model = tinyModel(config, fastKernels, allTargets);
    const batch = tinyBatch(B, T, config.vocabSize);
    model.zeroGradients();
    model.forward(batch, B, T);
    model.backward();
    const once = model.lora!.grads.slice();
    model.forward(batch, B, T);
    model.backward();
    expect(relativeError(model.lora!.grads, once.map((g) => 2 * g))).toBeLessThan(1e-6);
  });

  it("masked positions skip the output head: their targets do not matter; all masked gives 0 and no gradient", () => {
    const config = tinyConfig();
    const model = tinyModel(config, fastKernels, allTargets);
    const batch = tinyBatch(B, T, config.vocabSize);
    const loss = model.forward(batch, B, T);
    const changed = batch.targets.slice();
    for (let n = 0; n < B * T; n++) if (!batch.lossMask[n]) changed[n] = (changed[n] + 1) % config.vocabSize;
    expect(model.forward({ ...batch, targets: changed }, B, T)).toBe(loss);
    // the masked mean equals the mean of per-position losses computed from full logits
    model.forward({ tokens: batch.tokens }, B, T);
    const logits = model.logits.slice();
    let total = 0, count = 0;
    for (let n = 0; n < B * T; n++) {
      if (!batch.lossMask[n]) continue;
      const row = Array.from(logits.subarray(n * config.vocabSize, (n + 1) * config.vocabSize));
      const max = Math.max(...row);
      total += Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) + max - row[batch.targets[n]];
      count++;
    }
    expect(loss).toBeCloseTo(total / count, 5);
    model.zeroGradients();
    expect(model.forward({ ...batch, lossMask: new Uint8Array(B * T) }, B, T)).toBe(0);
    model.backward();
    expect(model.lora!.grads.every((g) => g === 0)).toBe(true);
  });

  it("rejects bad batches with errors that name the problem", () => {
    const config = tinyConfig();
    const model = new LlamaModel(config, allocateBaseWeights(config));
    expect(() => model.forward({ tokens: Int32Array.from([1, 2, 99]) }, 1, 3)).toThrow(/tokens\[2\] = 99 is outside the vocabulary/);
    expect(() => model.forward({ tokens: new Int32Array(4) }, 1, 3)).toThrow(/expected B\*T = 3/);
    expect(() => model.forward({ tokens: new Int32Array(0) }, 0, 3)).toThrow(InvalidArgumentError);
    expect(() => model.backward()).toThrow(/needs a forward pass with targets/);
    expect(() => parseLoraConfig({ rank: 0, alpha: 1, dropout: 0, targets: ["q"] })).toThrow(/rank/);
    expect(() => parseLoraConfig({ rank: 4, alpha: 1, dropout: 0, targets: ["qkv"] })).toThrow(/targets/);
    expect(() => parseLoraConfig({ rank: 4, alpha: 1, dropout: 1, targets: ["q"] })).toThrow(/dropout/);
    expect(() => new AdamW(new Float32Array(2), new Float32Array(2), { beta1: 1 })).toThrow(/beta1/);
    expect(() => new AdamW(new Float32Array(2), new Float32Array(3))).toThrow(/differ in size/);
  });

  it("clipping by global norm: scales only above the limit and returns the norm before clipping", () => {
    const grads = Float32Array.from([3, 4]);
    expect(clipGradientNorm(grads, 10)).toBe(5);
    expect(Array.from(grads)).toEqual([3, 4]);
    expect(clipGradientNorm(grads, 1)).toBe(5);
    expect(Math.hypot(grads[0], grads[1])).toBeCloseTo(1, 5);
    expect(clipGradientNorm(Float32Array.from([Number.NaN, 1]), 1)).toBeNaN();
  });
});
