import { describe, expect, it } from "vitest";
import { createFastKernels, referenceKernels, type FastKernels, type KernelSet } from "../../src/engine/kernels/kernel-set.js";
import { KernelSetDisposedError } from "../../src/engine/kernels/fast/fast-kernels.js";
import { TILE_VECTORS } from "../../src/engine/kernels/fast/matmul-simd.js";
import { threadsAvailable } from "../../src/engine/kernels/fast/parallel-matmul.js";
import { KernelWorkspace, WorkspaceFreeError } from "../../src/engine/kernels/fast/workspace.js";
import { kvDimOf, type LlamaConfig } from "../../src/engine/config.js";
import type { LlamaModel } from "../../src/engine/model/llama-model.js";
import { parseLoraConfig } from "../../src/engine/lora/lora-config.js";
import { relativeError } from "./gradient-check.js";
import { tinyBatch, tinyConfig, tinyModel } from "./tiny-model.js";

// A fast kernel set is an object a model owns: its own WebAssembly workspace (a free list: what a
// model frees is handed out again), its own packed frozen weights, its own helper threads. Nothing is
// registered process-wide, so two models, or two sets on different thread counts, live side by side.

const canRun = threadsAvailable();
const lora = parseLoraConfig({ rank: 2, alpha: 4, dropout: 0, targets: ["q", "k", "v", "o", "down"] });
const B = 2, T = 16;

function trainStep(model: LlamaModel, config: LlamaConfig) {
  const batch = tinyBatch(B, T, config.vocabSize);
  model.zeroGradients();
  const loss = model.forward(batch, B, T);
  model.backward();
  return { loss, grads: Float32Array.from(model.lora!.grads) };
}

const bitIdentical = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
const workspaceOf = (kernels: KernelSet) => (kernels as FastKernels).workspace!;

/** Bytes of the packed panels a forward pass keeps: every frozen matrix once, [OC, K] padded to whole panels. */
function forwardPanelBytes(config: LlamaConfig): number {
  const width = 4 * TILE_VECTORS, C = config.dim, H = config.hiddenDim, KVC = kvDimOf(config);
  const panels = (K: number, OC: number) => Math.ceil(OC / width) * width * K * 4;
  const layer = panels(C, C) * 2 + panels(C, KVC) * 2 + panels(C, H) * 2 + panels(H, C);
  return config.nLayers * layer + panels(C, config.vocabSize);
}

describe.runIf(canRun)("a fast kernel set owned by its model", () => {
  it("two models in one process have their own workspaces and count their own packed weights", () => {
    const small = tinyConfig({ dim: 32, hiddenDim: 48, nHeads: 4, nKvHeads: 2, vocabSize: 40 });
    const large = tinyConfig({ dim: 64, hiddenDim: 96, nHeads: 8, nKvHeads: 4, vocabSize: 72, nLayers: 3 });
    const first = tinyModel(small, undefined, lora), second = tinyModel(large, undefined, lora);
    try {
      expect(first.kernels).not.toBe(second.kernels);
      expect(workspaceOf(first.kernels)).not.toBe(workspaceOf(second.kernels));
      first.forward({ tokens: tinyBatch(B, T, small.vocabSize).tokens }, B, T);
      const firstAlone = first.memoryBytes().kernelWeights;
      expect(firstAlone).toBe(forwardPanelBytes(small));
      second.forward({ tokens: tinyBatch(B, T, large.vocabSize).tokens }, B, T);
      // with one process-wide set the first model's count grew by the second model's weights
      expect(first.memoryBytes().kernelWeights).toBe(firstAlone);
      expect(second.memoryBytes().kernelWeights).toBe(forwardPanelBytes(large));
      // and the activations of each live in its own workspace
      expect(workspaceOf(first.kernels).addressOf(first.activations!.floats)).toBeGreaterThanOrEqual(0);
      expect(workspaceOf(second.kernels).addressOf(first.activations!.floats)).toBe(-1);
    } finally {
      first.dispose();
      second.dispose();
    }
  });

  it("dispose gives the model's blocks back: the workspace's used bytes return to where they were", () => {
    const config = tinyConfig({ dim: 32, hiddenDim: 48, vocabSize: 40 });
    const own = tinyModel(config, undefined, lora);
    const workspace = workspaceOf(own.kernels);
    expect(workspace.usedBytes).toBe(0);
    trainStep(own, config);
    expect(workspace.usedBytes).toBeGreaterThan(0);
    own.dispose();
    expect(workspace.usedBytes).toBe(0); // a model's own set goes with it: activations, panels, scratch
    expect(() => own.kernels.matmulForward(new Float32Array(1), new Float32Array(1), new Float32Array(1), 1, 1, 1)).toThrow(KernelSetDisposedError);
    expect(() => trainStep(own, config)).toThrow(/disposed/);

    // a set shared by several models keeps its packed weights and scratch; each model's buffers come back
    const shared = createFastKernels();
    try {
      const warm = tinyModel(config, shared, lora);
      trainStep(warm, config);
      warm.forward(tinyBatch(1, 8, config.vocabSize), 1, 8); // the set's own scratch for both shapes, kept
      warm.dispose();
      const before = workspaceOf(shared).usedBytes;
      const next = tinyModel(config, shared, lora);
      trainStep(next, config);
      expect(workspaceOf(shared).usedBytes).toBeGreaterThan(before);
      next.dispose();
      expect(workspaceOf(shared).usedBytes).toBe(before);
      // a batch shape change frees the old activations before taking new ones
      const resized = tinyModel(config, shared, lora);
      trainStep(resized, config);
      const afterOne = workspaceOf(shared).usedBytes;
      resized.forward(tinyBatch(1, 8, config.vocabSize), 1, 8);
      resized.forward(tinyBatch(B, T, config.vocabSize), B, T);
      resized.backward();
      expect(workspaceOf(shared).usedBytes).toBe(afterOne);
      resized.dispose();
    } finally {
      shared.dispose();
    }
  });

  it("a freed-then-reallocated workspace gives bit-identical losses and gradients", () => {
    const config = tinyConfig({ dim: 32, hiddenDim: 48, vocabSize: 48 });
    const kernels = createFastKernels();
    try {
      const first = tinyModel(config, kernels, lora);
      const expected = trainStep(first, config);
      const at = workspaceOf(kernels).addressOf(first.activations!.floats);
      first.dispose();
      const second = tinyModel(config, kernels, lora);
      const again = trainStep(second, config);
      expect(workspaceOf(kernels).addressOf(second.activations!.floats)).toBe(at); // the freed block, handed out again
      expect(again.loss).toBe(expected.loss);
      expect(bitIdentical(again.grads, expected.grads)).toBe(true);
      second.dispose();
    } finally {
      kernels.dispose();
    }
  });

  it("two sets with different thread counts run side by side, bit for bit alike", () => {
    const config = tinyConfig({ dim: 32, hiddenDim: 48, nHeads: 4, nKvHeads: 2, vocabSize: 64 });
    const two = createFastKernels({ threads: 2 }), one = createFastKernels({ threads: 1 });
    try {
      expect([two.threads, one.threads]).toEqual([2, 1]);
      expect(two.workspace).not.toBe(one.workspace);
      const models = [tinyModel(config, two, lora), tinyModel(config, one, lora), tinyModel(config, referenceKernels, lora)];
      // interleaved, twice: neither set disturbs the other
      const results = [0, 1].flatMap(() => models.map((model) => trainStep(model, config)));
      const [onTwo, onOne, reference] = results.slice(3);
      expect(onTwo.loss).toBe(onOne.loss);
      expect(bitIdentical(onTwo.grads, onOne.grads)).toBe(true);
      expect(bitIdentical(results[0].grads, onTwo.grads)).toBe(true);
      expect(Math.abs(onTwo.loss - reference.loss)).toBeLessThan(1e-5 * Math.abs(reference.loss));
      expect(relativeError(onTwo.grads, reference.grads)).toBeLessThan(1e-4);
      for (const model of models) model.dispose();
    } finally {
      two.dispose();
      one.dispose();
    }
  });
});

describe.runIf(canRun)("a kernel workspace", () => {
  it("hands freed blocks out again and merges neighbours, so a freed workspace is whole again", () => {
    const workspace = new KernelWorkspace({ shared: true, maxPages: 64 });
    const a = workspace.allocate(100)!, b = workspace.allocate(1000)!, c = workspace.allocate(10)!;
    expect([a.byteOffset % 16, b.byteOffset % 16, c.byteOffset % 16]).toEqual([0, 0, 0]);
    const used = workspace.usedBytes;
    workspace.free(b);
    expect(workspace.usedBytes).toBe(used - 4000);
    const d = workspace.allocate(500)!;
    expect(d.byteOffset).toBe(b.byteOffset); // first fit: b's block
    expect(d.every((x) => x === 0)).toBe(true);
    for (const array of [a, c, d]) workspace.free(array);
    expect(workspace.usedBytes).toBe(0);
    expect(workspace.allocate(1200)!.byteOffset).toBe(0); // the gaps merged back into one
    expect(() => workspace.free(d)).toThrow(WorkspaceFreeError);
    workspace.free(new Float32Array(4)); // not its own: ignored
  });

  it("is never handed out where the memory is private (a growth would detach the views)", () => {
    expect(new KernelWorkspace({ shared: false }).allocate(16)).toBeNull();
    expect(createFastKernels({ inPlace: false }).allocateResident(16)).toBeNull();
  });
});
