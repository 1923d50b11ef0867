// The reward model trained by the training loop: a pinned trajectory (every step's loss, accuracy,
// margin, gradient norm and learning rate, the validation runs, the final checkpoint's bytes) dumped
// from the reward model's own loop before it became a TrainingObjective of the one loop, so that the
// refactor is proven bit-identical; and stop / crash / resume as SFT's loop is tested.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AdamW, parseLoraConfig, referenceKernels } from "../../src/engine/index.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";
import { CheckpointError } from "../../src/train/errors.js";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { initialRewardHead } from "../../src/train/reward/reward-head.js";
import { rewardObjective, rewardSummary } from "../../src/train/reward/reward-objective.js";
import { RewardModel, type RewardPair } from "../../src/train/reward/reward-model.js";
import { runTrainingLoop, type LoopSettings } from "../../src/train/training-loop.js";
import { tinyConfig, tinyModel } from "../engine/tiny-model.js";

const dir = mkdtempSync(join(tmpdir(), "camelid-reward-loop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let runs = 0;

const config = tinyConfig();
const random = new SeededRandom(17);
const sequence = (n: number) => Int32Array.from({ length: n }, () => Math.floor(random.next() * config.vocabSize));
const pair = (chosen: number, rejected: number, margin = 0): RewardPair => ({ chosen: sequence(chosen), rejected: sequence(rejected), margin });
const tie = (length: number): RewardPair => {
  const tokens = sequence(length);
  return { chosen: tokens, rejected: tokens.slice(), margin: 0 };
};
const train = [pair(5, 3, 0.5), pair(4, 6), pair(7, 2), tie(4), pair(3, 3, 1), pair(6, 5), pair(2, 7)];
const validation = [pair(4, 4), tie(5), pair(6, 3, 0.25), pair(3, 5)];

// 3 pairs a micro-batch, 3 micro-batches a step: neither a power of two, so any change in where the
// 1/accumulation scale or the means are taken changes the bits
const settings: LoopSettings = {
  batchSize: 3,
  sequenceLength: 7,
  gradientAccumulation: 3,
  totalSteps: 7,
  schedule: { peak: 3e-2, warmupSteps: 2, totalSteps: 7, minRatio: 0.1 },
  clipNorm: 0.5,
  evalEvery: 3,
  checkpointEvery: 2,
  seed: 5,
};

async function trainReward(options: { outDir?: string; resume?: boolean; stopAtStep?: number; crashAtStep?: number; fingerprint?: string } = {}) {
  const model = tinyModel(config, referenceKernels, parseLoraConfig({ rank: 2, alpha: 4, dropout: 0.1, targets: ["q", "v", "down"] }), 23);
  const reward = new RewardModel(model, initialRewardHead(config.dim, 9));
  const adamW = { learningRate: 3e-2, weightDecay: 0.01 };
  const outDir = options.outDir ?? join(dir, `run${runs++}`);
  mkdirSync(outDir, { recursive: true });
  const metrics = new MetricsLog(join(outDir, "metrics.jsonl"));
  const progress: string[] = [], log: string[] = [];
  const stop = new AbortController();
  const summary = await runTrainingLoop({
    model,
    optimizer: new AdamW(model.lora!.params, model.lora!.grads, adamW),
    objective: rewardObjective(reward, train, validation, { pairsPerBatch: settings.batchSize, sequenceLength: settings.sequenceLength, adamW }),
    settings,
    files: { checkpointPath: join(outDir, "checkpoint.bin"), metrics, chartPath: join(outDir, "loss.svg") },
    fingerprint: options.fingerprint ?? "reward-fp",
    resume: options.resume ?? false,
    stopSignal: stop.signal,
    onLog: (line) => log.push(line),
    onProgress: (line) => {
      progress.push(line);
      const step = Number(/step (\d+)\//.exec(line)?.[1]);
      if (step === options.crashAtStep) throw new Error("simulated kill");
      if (step === options.stopAtStep) stop.abort();
    },
  });
  return { reward, summary: rewardSummary(summary, metrics), metrics, outDir, progress, log };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const bytesOf = (array: Float32Array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
/** The records without the figures that depend on the clock or the process (tokens/s, seconds, memory), keys sorted. */
const deterministic = (metrics: MetricsLog) =>
  metrics.read().map((record) => Object.fromEntries(Object.entries(record).filter(([key]) => !["tokensPerSecond", "elapsedSeconds", "engineBytes", "peakRssBytes"].includes(key)).sort(([a], [b]) => a.localeCompare(b))));
/** A progress line without its tokens/s and ETA. */
const steady = (line: string) => line.replace(/ \| \d+ tok\/s \| ETA [^|]*/, "");

// Dumped from runRewardLoop (the reward model's own loop) at 3f86fb6, before the refactor.
const pinned = {
  records: "cffa9029b4ef16b013194ef73459ad3855401f499e119df1ce52ecf2ad7e527f",
  checkpoint: "ce2cafe90936827012587161c810bb5aab2ed676e00df2ac91533caeb1576069",
  lora: "d5aae59aededa762ecdab56053531128e758624b6f66e8066f4d4ffe14e502b8",
  head: "487e3e44730ad6c4ec651d60db5f59b13618f051582453ed3fa9bfe781b01120",
  progress: [
    "step 1/7 [==>                     ] loss 0.8421| acc 0.444 margin -0.0246",
    "step 2/7 [======>                 ] loss 0.7546| acc 0.444 margin 0.0094",
    "step 3/7 [=========>              ] loss 0.7258| acc 0.778 margin 0.2380",
    "step 4/7 [=============>          ] loss 0.6670| acc 0.778 margin 0.3192",
    "step 5/7 [================>       ] loss 0.4565| acc 0.889 margin 0.7933",
    "step 6/7 [====================>   ] loss 0.4200| acc 0.889 margin 1.0087",
    "step 7/7 [========================] loss 0.4309| acc 0.667 margin 0.9971",
  ],
  log: [
    "step 3: validation loss 0.7129, pair accuracy 0.667, margin 0.0362 (4 pairs)",
    "step 6: validation loss 0.6488, pair accuracy 1.000, margin 0.1554 (4 pairs)",
    "step 7: validation loss 0.6473, pair accuracy 1.000, margin 0.1594 (4 pairs)",
  ],
  finalLoss: 0.43088319087039045,
  finalAccuracy: 0.6666666666666666,
  validation: { loss: 0.6473473919409516, accuracy: 1, margin: 0.15942656249326767, pairs: 4 },
};

describe("reward model training loop", () => {
  it("trains LoRA and head bit-identically to the pinned trajectory (loss, accuracy, margin, norms, validation, checkpoint)", async () => {
    const { reward, summary, metrics, outDir, progress, log } = await trainReward();
    const records = deterministic(metrics);
    // readable anchors of the pinned records: 9 pairs a step, pair accuracy pooled over the step (ties left out)
    expect(records.filter((record) => record.type === "train").map((record) => record.accuracy)).toEqual([4 / 9, 4 / 9, 7 / 9, 7 / 9, 8 / 9, 8 / 9, 6 / 9]);
    expect(records.filter((record) => record.type === "validation").map((record) => [record.step, record.tokens])).toEqual([[3, 4], [6, 4], [7, 4]]);
    expect(sha256(Buffer.from(JSON.stringify(records)))).toBe(pinned.records);
    expect(sha256(readFileSync(join(outDir, "checkpoint.bin")))).toBe(pinned.checkpoint);
    expect(sha256(bytesOf(reward.model.lora!.params))).toBe(pinned.lora);
    expect(sha256(bytesOf(reward.head))).toBe(pinned.head);
    expect(progress.map(steady)).toEqual(pinned.progress);
    expect(log).toEqual(pinned.log);
    expect(summary).toMatchObject({ startStep: 0, steps: 7, stopped: false, finalLoss: pinned.finalLoss, finalAccuracy: pinned.finalAccuracy, validation: pinned.validation });
    expect(readFileSync(join(outDir, "loss.svg"), "utf8")).toContain("<polyline");
  });

  it("a stop request finishes the step and checkpoints it; the resumed run starts there and ends bit-identically", async () => {
    const outDir = join(dir, "stopped");
    const stopped = await trainReward({ outDir, stopAtStep: 3 });
    expect(stopped.summary).toMatchObject({ stopped: true, steps: 3 });
    expect(loadCheckpoint(join(outDir, "checkpoint.bin")).step).toBe(3);
    const resumed = await trainReward({ outDir, resume: true });
    // only steps 4-7 ran: a loop that ignored the checkpoint would run 7 from the start
    expect(resumed.summary).toMatchObject({ startStep: 3, steps: 7, stopped: false, finalLoss: pinned.finalLoss, finalAccuracy: pinned.finalAccuracy });
    expect(resumed.progress.map((line) => /step (\d+)\//.exec(line)![1])).toEqual(["4", "5", "6", "7"]);
    expect(resumed.log[0]).toBe(`resuming from step 3 of 7 (${join(outDir, "checkpoint.bin")})`);
    expect(sha256(readFileSync(join(outDir, "checkpoint.bin")))).toBe(pinned.checkpoint);
    expect(sha256(bytesOf(resumed.reward.head))).toBe(pinned.head);
    expect(sha256(Buffer.from(JSON.stringify(deterministic(resumed.metrics))))).toBe(pinned.records);
  });

  it("resumes after a crash from the last checkpoint (head, moments and dropout generator included), every step logged once", async () => {
    const outDir = join(dir, "crashed");
    await expect(trainReward({ outDir, crashAtStep: 5 })).rejects.toThrow("simulated kill");
    // the last checkpoint is step 4; step 5 in metrics.jsonl is from the killed run
    const resumed = await trainReward({ outDir, resume: true });
    expect(resumed.summary.startStep).toBe(4);
    expect(sha256(bytesOf(resumed.reward.model.lora!.params))).toBe(pinned.lora);
    expect(sha256(bytesOf(resumed.reward.head))).toBe(pinned.head);
    expect(sha256(readFileSync(join(outDir, "checkpoint.bin")))).toBe(pinned.checkpoint);
    expect(resumed.metrics.read().filter((record) => record.type === "train").map((record) => record.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("resuming a finished run trains nothing and reports its last loss and accuracy; another run's checkpoint is refused", async () => {
    const finished = await trainReward();
    const again = await trainReward({ outDir: finished.outDir, resume: true });
    expect(again.progress).toEqual([]);
    expect(again.summary).toMatchObject({ startStep: 7, steps: 7, finalLoss: pinned.finalLoss, finalAccuracy: pinned.finalAccuracy });
    await expect(trainReward({ outDir: finished.outDir, resume: true, fingerprint: "another run" })).rejects.toThrow(CheckpointError);
  });
});
