import { writeFileSync } from "node:fs";
import { clipGradientNorm, type AdamW, type EngineMemory, type LlamaModel } from "../engine/index.js";
import { InvalidArgumentError } from "../errors/index.js";
import { allocateBatch, fillBatch, RowSchedule, type BatchBuffers } from "./batches.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { CheckpointError, TrainingDivergedError } from "./errors.js";
import { lossChartSvg } from "./loss-chart.js";
import type { MetricsLog } from "./metrics-log.js";
import type { TrainingRow } from "./prepare-data.js";
import { progressLine } from "./progress.js";
import { learningRateAt, type LearningRateSchedule } from "./schedule.js";

export interface LoopSettings {
  batchSize: number;
  sequenceLength: number;
  gradientAccumulation: number;
  totalSteps: number;
  schedule: LearningRateSchedule;
  clipNorm: number;
  /** 0 = validate only at the end. */
  evalEvery: number;
  checkpointEvery: number;
  seed: number;
}

export interface LoopFiles {
  checkpointPath: string;
  metrics: MetricsLog;
  chartPath: string;
}

export interface LoopInput {
  model: LlamaModel;
  optimizer: AdamW;
  train: readonly TrainingRow[];
  validation: readonly TrainingRow[];
  settings: LoopSettings;
  files: LoopFiles;
  /** Identifies data + configuration; a checkpoint from another fingerprint is refused. */
  fingerprint: string;
  resume: boolean;
  /** A progress line after every step (the CLI redraws it in place). */
  onProgress?: (line: string) => void;
  onLog?: (line: string) => void;
  /**
   * Aborted (Ctrl-C, SIGTERM): the step in progress finishes, a checkpoint is written and the loop
   * returns early with `stopped: true`. The loop yields to the event loop after every step so that
   * signals are delivered at all.
   */
  stopSignal?: AbortSignal;
}

export interface ValidationResult {
  loss: number;
  perplexity: number;
  tokens: number;
}

export interface LoopSummary {
  startStep: number;
  steps: number;
  /** True when stopSignal ended the run before totalSteps. */
  stopped: boolean;
  finalLoss: number;
  validation: ValidationResult | null;
  tokensPerSecond: number;
  elapsedSeconds: number;
  /** The process's peak resident set size (process.resourceUsage().maxRSS: weights, activations, optimizer, runtime). */
  peakRssBytes: number;
  /** The engine's buffers after the last step (base weights, decode scratch, LoRA, activations, gradient scratch). */
  engineMemory: EngineMemory;
}

/** Peak resident set size of this process so far, in bytes (maxRSS is in kilobytes). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * The training loop: per optimizer step, `gradientAccumulation` micro-batches of B rows (each row's
 * gradient is the masked mean over its micro-batch; micro-batches are averaged), clipping to the global
 * norm, then AdamW at the scheduled learning rate. Everything a step depends on is either in the
 * checkpoint or a function of the step number, so `resume` continues bit-identically.
 */
export async function runTrainingLoop(input: LoopInput): Promise<LoopSummary> {
  const { model, optimizer, train, validation, settings, files } = input;
  const lora = model.lora;
  if (!lora) throw new InvalidArgumentError("model", "the model has no LoRA weights to train");
  if (train.length === 0) throw new InvalidArgumentError("data", "no training rows");
  const { batchSize: B, sequenceLength: T, gradientAccumulation: accumulation, totalSteps } = settings;
  const batch = allocateBatch(B, T);
  const schedule = new RowSchedule(train.length, settings.seed);

  let step = 0;
  let tokensSeen = 0;
  if (input.resume) {
    const checkpoint = loadCheckpoint(files.checkpointPath);
    if (checkpoint.fingerprint !== input.fingerprint) {
      throw new CheckpointError(files.checkpointPath, `${files.checkpointPath} belongs to a run with other data or settings; resume with the same flags, or start over without --resume`);
    }
    if (checkpoint.params.length !== lora.params.length) throw new CheckpointError(files.checkpointPath, `${files.checkpointPath} holds ${checkpoint.params.length} parameters, this run has ${lora.params.length}`);
    lora.params.set(checkpoint.params);
    optimizer.m.set(checkpoint.m);
    optimizer.v.set(checkpoint.v);
    optimizer.step = checkpoint.adamStep;
    model.random.setState(checkpoint.randomState);
    step = checkpoint.step;
    tokensSeen = checkpoint.tokensSeen;
    files.metrics.keepThrough(step);
    input.onLog?.(`resuming from step ${step} of ${totalSteps} (${files.checkpointPath})`);
  } else {
    // a fresh run in a used folder starts a fresh log rather than appending to the old run's steps
    files.metrics.keepThrough(0);
  }
  const startStep = step;
  const started = performance.now();
  let tokensThisRun = 0;
  let lastValidation: ValidationResult | null = null;

  const checkpoint = () => {
    saveCheckpoint(files.checkpointPath, { step, adamStep: optimizer.step, randomState: model.random.getState(), fingerprint: input.fingerprint, tokensSeen, params: lora.params, m: optimizer.m, v: optimizer.v });
    writeFileSync(files.chartPath, lossChartSvg(files.metrics.read()));
  };

  // A resumed run that has nothing left to do still reports the loss its last step reached.
  let lastLoss = files.metrics.read().filter((record) => record.type === "train" && record.step <= step).at(-1)?.loss ?? Number.NaN;
  let stopped = false;

  while (step < totalSteps) {
    if (input.stopSignal?.aborted) {
      stopped = true;
      if (step > startStep) checkpoint();
      break;
    }
    model.training = true;
    model.zeroGradients();
    let weightedLoss = 0, counted = 0, stepTokens = 0;
    for (let micro = 0; micro < accumulation; micro++) {
      const first = (step * accumulation + micro) * B;
      const rows = Array.from({ length: B }, (_, b) => train[schedule.rowAt(first + b)]);
      const count = fillBatch(batch, rows);
      for (const row of rows) stepTokens += Math.min(T, row.tokens.length - 1);
      const loss = model.forward(batch, B, T);
      if (!Number.isFinite(loss)) throw new TrainingDivergedError(step + 1, "loss", loss, "lower the learning rate or check the data");
      model.backward();
      weightedLoss += loss * count;
      counted += count;
    }
    if (accumulation > 1) for (let i = 0; i < lora.grads.length; i++) lora.grads[i] /= accumulation;
    const gradientNorm = clipGradientNorm(lora.grads, settings.clipNorm);
    if (!Number.isFinite(gradientNorm)) throw new TrainingDivergedError(step + 1, "gradient norm", gradientNorm, "lower the learning rate; the adapter was not updated with it");
    const learningRate = learningRateAt(step, settings.schedule);
    optimizer.update(learningRate);
    step++;
    tokensSeen += stepTokens;
    tokensThisRun += stepTokens;
    lastLoss = weightedLoss / counted;
    const elapsedSeconds = (performance.now() - started) / 1000;
    const tokensPerSecond = tokensThisRun / Math.max(elapsedSeconds, 1e-9);
    files.metrics.append({ type: "train", step, loss: lastLoss, learningRate, gradientNorm, tokens: tokensSeen, tokensPerSecond, elapsedSeconds, engineBytes: model.memoryBytes().total, peakRssBytes: peakRssBytes() });
    input.onProgress?.(progressLine({ step, totalSteps, loss: lastLoss, tokensPerSecond, elapsedSeconds, stepsThisRun: step - startStep }));

    const last = step === totalSteps;
    if (validation.length > 0 && ((settings.evalEvery > 0 && step % settings.evalEvery === 0) || last)) {
      lastValidation = validate(model, validation, batch);
      files.metrics.append({ type: "validation", step, ...lastValidation });
      input.onLog?.(`step ${step}: validation loss ${lastValidation.loss.toFixed(4)}, perplexity ${lastValidation.perplexity.toFixed(3)}`);
      if (!Number.isFinite(lastValidation.loss)) throw new TrainingDivergedError(step, "validation loss", lastValidation.loss, "lower the learning rate");
    }
    if (step % settings.checkpointEvery === 0 || last) checkpoint();
    // Let signal handlers (and anything else waiting) run between steps.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  return { startStep, steps: step, stopped, finalLoss: lastLoss, validation: lastValidation, tokensPerSecond: tokensThisRun / Math.max(elapsedSeconds, 1e-9), elapsedSeconds, peakRssBytes: peakRssBytes(), engineMemory: model.memoryBytes() };
}

/** Token-weighted mean loss over the validation rows, dropout off; perplexity = exp(loss). */
export function validate(model: LlamaModel, rows: readonly TrainingRow[], batch: BatchBuffers): ValidationResult {
  const wasTraining = model.training;
  model.training = false;
  let weighted = 0, counted = 0;
  try {
    for (let start = 0; start < rows.length; start += batch.B) {
      const count = fillBatch(batch, rows.slice(start, start + batch.B));
      if (count === 0) continue;
      weighted += model.forward(batch, batch.B, batch.T) * count;
      counted += count;
    }
  } finally {
    model.training = wasTraining;
  }
  const loss = counted === 0 ? Number.NaN : weighted / counted;
  return { loss, perplexity: Math.exp(loss), tokens: counted };
}
