import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AdamW, allocateBaseWeights, llamaConfig, LlamaModel, randomizeBaseWeights, SeededRandom, type LlamaConfig } from "../../src/engine/index.js";
import { CheckpointError, TrainingDivergedError } from "../../src/train/errors.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import type { TrainingRow } from "../../src/train/prepare-data.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";
import { runTrainingLoop, type LoopSettings } from "../../src/train/training-loop.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-train-loop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let runs = 0;

const config: LlamaConfig = llamaConfig({ vocabSize: 32, dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2 });

function model(dropout = 0, checkpointActivations = false) {
  const weights = allocateBaseWeights(config);
  randomizeBaseWeights(config, weights, new SeededRandom(3), 0.3);
  const m = new LlamaModel(config, weights, { lora: { rank: 4, alpha: 8, dropout, targets: ["q", "v", "o", "down"] }, seed: 11, checkpointActivations });
  return m;
}

/** Rows of a fixed pattern: prompt tokens masked, the reply trainable. */
function rows(count: number, length = 12): TrainingRow[] {
  return Array.from({ length: count }, (_, r) => ({
    tokens: Int32Array.from({ length }, (_, i) => (i * (r + 3) + r) % 32),
    trainable: Uint8Array.from({ length }, (_, i) => (i >= length / 2 ? 1 : 0)),
  }));
}

const settings = (overrides: Partial<LoopSettings> = {}): LoopSettings => ({
  batchSize: 2,
  sequenceLength: 11,
  gradientAccumulation: 1,
  totalSteps: 12,
  schedule: { peak: 5e-2, warmupSteps: 2, totalSteps: 12, minRatio: 0 },
  clipNorm: 1,
  evalEvery: 4,
  checkpointEvery: 3,
  seed: 5,
  ...overrides,
});

async function train(options: { model?: LlamaModel; settings?: Partial<LoopSettings>; resume?: boolean; outDir?: string; crashAtStep?: number; stopAtStep?: number; fingerprint?: string; train?: TrainingRow[] } = {}) {
  const m = options.model ?? model();
  const outDir = options.outDir ?? join(dir, `run${runs++}`);
  const optimizer = new AdamW(m.lora!.params, m.lora!.grads, { learningRate: 5e-2 });
  const metrics = new MetricsLog(join(outDir, "metrics.jsonl"));
  mkdirSync(outDir, { recursive: true });
  const stop = new AbortController();
  const summary = await runTrainingLoop({
    model: m,
    optimizer,
    train: options.train ?? rows(6),
    validation: rows(2, 10),
    settings: settings(options.settings),
    files: { checkpointPath: join(outDir, "checkpoint.bin"), metrics, chartPath: join(outDir, "loss.svg") },
    fingerprint: options.fingerprint ?? "fp",
    resume: options.resume ?? false,
    stopSignal: stop.signal,
    onProgress: (line) => {
      const step = Number(/step (\d+)\//.exec(line)?.[1]);
      if (step === options.crashAtStep) throw new Error("simulated kill");
      if (step === options.stopAtStep) stop.abort();
    },
  });
  return { model: m, summary, metrics, outDir, optimizer };
}

describe("training loop", () => {
  it("lowers the loss, logs every step and validation with perplexity = exp(loss)", async () => {
    const { summary, metrics } = await train({ settings: { totalSteps: 30, schedule: { peak: 5e-2, warmupSteps: 2, totalSteps: 30, minRatio: 0 }, evalEvery: 10 } });
    const records = metrics.read();
    const losses = records.filter((r) => r.type === "train").map((r) => r.loss);
    expect(losses).toHaveLength(30);
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.5);
    const validation = records.filter((r) => r.type === "validation");
    expect(validation.map((r) => r.step)).toEqual([10, 20, 30]);
    for (const r of validation) if (r.type === "validation") expect(r.perplexity).toBeCloseTo(Math.exp(r.loss), 6);
    expect(summary.validation!.loss).toBeLessThan((validation[0] as { loss: number }).loss);
    expect(summary.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
  });

  it("reports the engine's buffer bytes and the peak RSS in every train record and the summary", async () => {
    const { summary, metrics, model: trained } = await train();
    const memory = trained.memoryBytes();
    expect(summary.engineMemory).toEqual(memory);
    expect(memory.activations).toBeGreaterThan(0);
    expect(memory.total).toBe(memory.baseWeights + memory.dequantScratch + memory.kernelWeights + memory.lora + memory.activations + memory.gradientScratch);
    const records = metrics.read().filter((r) => r.type === "train");
    expect(records).toHaveLength(12);
    for (const record of records) {
      expect(record.engineBytes).toBe(memory.total);
      expect(record.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
      expect(record.peakRssBytes).toBeLessThanOrEqual(summary.peakRssBytes);
    }
  });

  it("with activation checkpointing: the same parameters bit for bit, fewer engine bytes", async () => {
    const plain = await train({ model: model(0.1) });
    const checkpointed = await train({ model: model(0.1, true) });
    expect(Buffer.from(checkpointed.model.lora!.params.buffer).equals(Buffer.from(plain.model.lora!.params.buffer))).toBe(true);
    expect(checkpointed.summary.engineMemory.activations).toBeLessThan(plain.summary.engineMemory.activations);
  });

  it("is deterministic: the same seed gives the same parameters bit for bit", async () => {
    const a = await (await train({ model: model(0.1) })).model.lora!.params;
    const b = await (await train({ model: model(0.1) })).model.lora!.params;
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it("resumes after a crash bit-identically (dropout generator and AdamW moments included)", async () => {
    const reference = await train({ model: model(0.1) });
    const outDir = join(dir, "crashed");
    await expect(train({ model: model(0.1), outDir, crashAtStep: 8 })).rejects.toThrow("simulated kill");
    // the last checkpoint is step 6; steps 7-8 in metrics.jsonl are from the killed run
    const resumed = await train({ model: model(0.1), outDir, resume: true });
    expect(resumed.summary.startStep).toBe(6);
    expect(Buffer.from(resumed.model.lora!.params.buffer).equals(Buffer.from(reference.model.lora!.params.buffer))).toBe(true);
    expect(Buffer.from(resumed.optimizer.v.buffer).equals(Buffer.from(reference.optimizer.v.buffer))).toBe(true);
    expect(resumed.metrics.read().filter((r) => r.type === "train").map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it("a stop request finishes the current step, checkpoints it, and a resume continues bit-identically", async () => {
    const reference = await train({ model: model(0.1) });
    const outDir = join(dir, "stopped");
    const stopped = await train({ model: model(0.1), outDir, stopAtStep: 4 });
    expect(stopped.summary).toMatchObject({ stopped: true, steps: 4 });
    expect(loadCheckpoint(join(outDir, "checkpoint.bin")).step).toBe(4);
    const resumed = await train({ model: model(0.1), outDir, resume: true });
    expect(resumed.summary).toMatchObject({ stopped: false, startStep: 4, steps: 12 });
    expect(Buffer.from(resumed.model.lora!.params.buffer).equals(Buffer.from(reference.model.lora!.params.buffer))).toBe(true);
  });

  it("resuming a finished run reports the loss its last step reached, not NaN", async () => {
    const finished = await train({ model: model(0.1) });
    const again = await train({ model: model(0.1), outDir: finished.outDir, resume: true });
    expect(again.summary.steps).toBe(12);
    expect(again.summary.finalLoss).toBe(finished.summary.finalLoss);
  });

  it("a fresh run in a used folder starts a fresh metrics log", async () => {
    const first = await train({ settings: { evalEvery: 0 } });
    const second = await train({ outDir: first.outDir, settings: { evalEvery: 0 } });
    expect(second.metrics.read().filter((r) => r.type === "train").map((r) => r.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(second.metrics.read().filter((r) => r.type === "validation").map((r) => r.step)).toEqual([12]); // evalEvery 0: at the end only
  });

  it("refuses to resume a checkpoint of another run", async () => {
    const { outDir } = await train({ settings: { totalSteps: 3, schedule: { peak: 1e-2, warmupSteps: 0, totalSteps: 3, minRatio: 0 } } });
    await expect(train({ outDir, resume: true, fingerprint: "other" })).rejects.toThrow(CheckpointError);
    await expect(train({ outDir: join(dir, "never"), resume: true })).rejects.toThrow(/no checkpoint at/);
  });

  it("gradient accumulation of 2 micro-batches of 1 matches one batch of 2 (equal token counts)", async () => {
    const data = rows(2);
    const common = { totalSteps: 4, evalEvery: 0, schedule: { peak: 1e-2, warmupSteps: 0, totalSteps: 4, minRatio: 0 } };
    const together = await (await train({ train: data, settings: { ...common, batchSize: 2 } })).model.lora!.params;
    const accumulated = await (await train({ train: data, settings: { ...common, batchSize: 1, gradientAccumulation: 2 } })).model.lora!.params;
    let worst = 0;
    for (let i = 0; i < together.length; i++) worst = Math.max(worst, Math.abs(together[i] - accumulated[i]));
    expect(worst).toBeLessThan(1e-6);
  });

  it("stops with a clear message when the loss becomes NaN", async () => {
    const broken = model();
    if (broken.weights.storage !== "dequantized") throw new Error("the test model holds float32 weights");
    broken.weights.layers[1].wUp[0] = Number.NaN;
    await expect(train({ model: broken })).rejects.toThrow(TrainingDivergedError);
    await expect(train({ model: broken })).rejects.toThrow(/training stopped at step 1: the loss is NaN \(lower the learning rate or check the data\)/);
  });
});
