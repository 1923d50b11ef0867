import { writeFileSync } from "node:fs";
import { clipGradientNormOf, type AdamW, type EngineMemory } from "../../engine/index.js";
import { InvalidArgumentError } from "../../errors/index.js";
import { RowSchedule } from "../batches.js";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.js";
import { CheckpointError, TrainingDivergedError } from "../errors.js";
import { lossChartSvg } from "../loss-chart.js";
import { progressLine } from "../progress.js";
import { learningRateAt } from "../schedule.js";
import { peakRssBytes, type LoopFiles, type LoopSettings } from "../training-loop.js";
import { pairAccuracy } from "./pairwise-loss.js";
import type { RewardModel, RewardPair } from "./reward-model.js";

export interface RewardLoopInput {
  reward: RewardModel;
  /** AdamW over the LoRA parameters and over the head: per element, so the same as one over both. */
  optimizers: { lora: AdamW; head: AdamW };
  train: readonly RewardPair[];
  validation: readonly RewardPair[];
  /** batchSize counts pairs; sequenceLength is the longest sequence (chosen or rejected). */
  settings: LoopSettings;
  files: LoopFiles;
  fingerprint: string;
  resume: boolean;
  onProgress?: (line: string) => void;
  onLog?: (line: string) => void;
  stopSignal?: AbortSignal;
}

export interface PairValidation {
  loss: number;
  accuracy: number;
  margin: number;
  pairs: number;
}

export interface RewardLoopSummary {
  startStep: number;
  steps: number;
  stopped: boolean;
  finalLoss: number;
  finalAccuracy: number;
  validation: PairValidation | null;
  tokensPerSecond: number;
  elapsedSeconds: number;
  peakRssBytes: number;
  engineMemory: EngineMemory;
}

/**
 * The reward model's training loop, SFT's loop for pairs: per optimizer step `gradientAccumulation`
 * micro-batches of B pairs (the loss is the mean over a micro-batch's pairs; micro-batches are
 * averaged), one global-norm clip over LoRA and head gradients, AdamW at the scheduled rate. The
 * checkpoint holds LoRA then head (parameters and moments), so a resume continues bit-identically.
 */
export async function runRewardLoop(input: RewardLoopInput): Promise<RewardLoopSummary> {
  const { reward, optimizers, train, validation, settings, files } = input;
  const lora = reward.model.lora;
  if (!lora) throw new InvalidArgumentError("model", "the model has no LoRA weights to train");
  if (train.length === 0) throw new InvalidArgumentError("data", "no training pairs");
  const { batchSize: B, sequenceLength: T, gradientAccumulation: accumulation, totalSteps } = settings;
  const schedule = new RowSchedule(train.length, settings.seed);
  const loraCount = lora.params.length;

  let step = 0, tokensSeen = 0;
  if (input.resume) {
    const checkpoint = loadCheckpoint(files.checkpointPath);
    if (checkpoint.fingerprint !== input.fingerprint) {
      throw new CheckpointError(files.checkpointPath, `${files.checkpointPath} belongs to a run with other data or settings (or another --method); resume with the same flags, or start over without --resume`);
    }
    if (checkpoint.params.length !== loraCount + reward.head.length) throw new CheckpointError(files.checkpointPath, `${files.checkpointPath} holds ${checkpoint.params.length} parameters, this reward model has ${loraCount + reward.head.length}`);
    lora.params.set(checkpoint.params.subarray(0, loraCount));
    reward.head.set(checkpoint.params.subarray(loraCount));
    optimizers.lora.m.set(checkpoint.m.subarray(0, loraCount));
    optimizers.lora.v.set(checkpoint.v.subarray(0, loraCount));
    optimizers.head.m.set(checkpoint.m.subarray(loraCount));
    optimizers.head.v.set(checkpoint.v.subarray(loraCount));
    optimizers.lora.step = optimizers.head.step = checkpoint.adamStep;
    reward.model.random.setState(checkpoint.randomState);
    step = checkpoint.step;
    tokensSeen = checkpoint.tokensSeen;
    files.metrics.keepThrough(step);
    input.onLog?.(`resuming from step ${step} of ${totalSteps} (${files.checkpointPath})`);
  } else files.metrics.keepThrough(0);

  const startStep = step;
  const started = performance.now();
  let tokensThisRun = 0;
  let lastValidation: PairValidation | null = null;
  const joined = (a: Float32Array, b: Float32Array) => {
    const out = new Float32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  const checkpoint = () => {
    saveCheckpoint(files.checkpointPath, {
      step,
      adamStep: optimizers.lora.step,
      randomState: reward.model.random.getState(),
      fingerprint: input.fingerprint,
      tokensSeen,
      params: joined(lora.params, reward.head),
      m: joined(optimizers.lora.m, optimizers.head.m),
      v: joined(optimizers.lora.v, optimizers.head.v),
    });
    writeFileSync(files.chartPath, lossChartSvg(files.metrics.read()));
  };

  const lastTrain = files.metrics.read().filter((record) => record.type === "train" && record.step <= step).at(-1);
  let lastLoss = lastTrain?.loss ?? Number.NaN;
  let lastAccuracy = (lastTrain?.type === "train" ? lastTrain.accuracy : undefined) ?? Number.NaN;
  let stopped = false;

  while (step < totalSteps) {
    if (input.stopSignal?.aborted) {
      stopped = true;
      if (step > startStep) checkpoint();
      break;
    }
    reward.model.training = true;
    reward.zeroGradients();
    let lossSum = 0, correct = 0, ties = 0, marginSum = 0, stepTokens = 0;
    for (let micro = 0; micro < accumulation; micro++) {
      const first = (step * accumulation + micro) * B;
      const pairs = Array.from({ length: B }, (_, b) => train[schedule.rowAt(first + b)]);
      for (const pair of pairs) stepTokens += pair.chosen.length + pair.rejected.length;
      const result = reward.pairs(pairs, T, { backward: true, gradientScale: 1 / accumulation });
      if (!Number.isFinite(result.loss)) throw new TrainingDivergedError(step + 1, "loss", result.loss, "lower the learning rate or check the data");
      lossSum += result.loss;
      correct += result.correct;
      ties += result.ties;
      marginSum += result.margin;
    }
    const gradientNorm = clipGradientNormOf([lora.grads, reward.headGrad], settings.clipNorm);
    if (!Number.isFinite(gradientNorm)) throw new TrainingDivergedError(step + 1, "gradient norm", gradientNorm, "lower the learning rate; the reward model was not updated with it");
    const learningRate = learningRateAt(step, settings.schedule);
    optimizers.lora.update(learningRate);
    optimizers.head.update(learningRate);
    step++;
    tokensSeen += stepTokens;
    tokensThisRun += stepTokens;
    lastLoss = lossSum / accumulation;
    lastAccuracy = pairAccuracy(correct, B * accumulation, ties);
    const margin = marginSum / accumulation;
    const elapsedSeconds = (performance.now() - started) / 1000;
    const tokensPerSecond = tokensThisRun / Math.max(elapsedSeconds, 1e-9);
    files.metrics.append({ type: "train", step, loss: lastLoss, accuracy: lastAccuracy, margin, learningRate, gradientNorm, tokens: tokensSeen, tokensPerSecond, elapsedSeconds, engineBytes: reward.model.memoryBytes().total, peakRssBytes: peakRssBytes() });
    input.onProgress?.(`${progressLine({ step, totalSteps, loss: lastLoss, tokensPerSecond, elapsedSeconds, stepsThisRun: step - startStep })} | acc ${lastAccuracy.toFixed(3)} margin ${margin.toFixed(4)}`);

    const last = step === totalSteps;
    if (validation.length > 0 && ((settings.evalEvery > 0 && step % settings.evalEvery === 0) || last)) {
      lastValidation = validatePairs(reward, validation, B, T);
      files.metrics.append({ type: "validation", step, loss: lastValidation.loss, accuracy: lastValidation.accuracy, margin: lastValidation.margin, tokens: lastValidation.pairs });
      input.onLog?.(`step ${step}: validation loss ${lastValidation.loss.toFixed(4)}, pair accuracy ${lastValidation.accuracy.toFixed(3)}, margin ${lastValidation.margin.toFixed(4)} (${lastValidation.pairs} pairs)`);
      if (!Number.isFinite(lastValidation.loss)) throw new TrainingDivergedError(step, "validation loss", lastValidation.loss, "lower the learning rate");
    }
    if (step % settings.checkpointEvery === 0 || last) checkpoint();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  return {
    startStep,
    steps: step,
    stopped,
    finalLoss: lastLoss,
    finalAccuracy: lastAccuracy,
    validation: lastValidation,
    tokensPerSecond: tokensThisRun / Math.max(elapsedSeconds, 1e-9),
    elapsedSeconds,
    peakRssBytes: peakRssBytes(),
    engineMemory: reward.model.memoryBytes(),
  };
}

/** Pair-weighted loss, accuracy and margin over held-out pairs, B at a time, dropout off. */
export function validatePairs(reward: RewardModel, pairs: readonly RewardPair[], B: number, T: number): PairValidation {
  const wasTraining = reward.model.training;
  reward.model.training = false;
  let loss = 0, correct = 0, ties = 0, margin = 0;
  try {
    for (let first = 0; first < pairs.length; first += B) {
      const part = pairs.slice(first, first + B);
      const result = reward.pairs(part, T, { backward: false, batchPairs: B });
      loss += result.loss * part.length;
      correct += result.correct;
      ties += result.ties;
      margin += result.margin * part.length;
    }
  } finally {
    reward.model.training = wasTraining;
  }
  const n = pairs.length;
  return { loss: loss / n, accuracy: pairAccuracy(correct, n, ties), margin: margin / n, pairs: n };
}
