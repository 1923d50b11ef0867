import { writeFileSync } from "node:fs";
import { clipGradientNormOf, type AdamW, type EngineMemory, type LlamaModel } from "../engine/index.js";
import { InvalidArgumentError } from "../errors/index.js";
import { allocateBatch, fillBatch, RowSchedule, type BatchBuffers } from "./batches.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { CheckpointError, TrainingDivergedError } from "./errors.js";
import { lossChartSvg } from "./loss-chart.js";
import type { MetricsLog } from "./metrics-log.js";
import type { TrainingRow } from "./prepare-data.js";
import { progressLine, type ProgressState } from "./progress.js";
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

/** What one micro-batch of a training objective gave. */
export interface MicroBatchResult {
  /** The micro-batch's mean loss, whose gradient was accumulated. */
  loss: number;
  /** How much the loss weighs in the step's logged mean (SFT: its counted tokens; DPO: its pairs). */
  weight: number;
  /** Positions read (tokens/s). */
  tokens: number;
  /** Extra per-step metrics (DPO's rewards/…, logps/…), averaged over the step's micro-batches by weight. */
  metrics?: Record<string, number>;
}

/** A validation run's figures: the loss, and what the objective adds (SFT: perplexity; DPO: rewards/…). */
export type ValidationFigures = { loss: number; tokens: number } & Record<string, number>;

/**
 * What the loop trains: SFT's next-token loss on rows, DPO's preference loss on pairs, or a reward
 * model's ranking loss on pairs. The loop owns the schedule, accumulation, clipping, optimizers,
 * checkpoints, metrics and stopping; an objective only turns the items the schedule picks into
 * accumulated gradients (LoRA's, and those of parameters it owns, such as a reward head).
 */
export interface TrainingObjective {
  /** How many training items (rows, pairs) the row schedule permutes. */
  trainCount: number;
  /**
   * Forward and backward on these training items (indices), accumulating the gradient of their mean
   * loss; an objective that `scalesGradients` multiplies that gradient by `gradientScale` (1 / micro-batches).
   */
  microBatch(items: readonly number[], gradientScale: number): MicroBatchResult;
  /** null without validation data; dropout is off while it runs. */
  validate(): ValidationFigures | null;
  /**
   * What the objective trains beside the LoRA weights (a reward model's head), each with its AdamW: the
   * loop zeroes, clips (one global norm with the LoRA's), steps and checkpoints them (after the LoRA's).
   */
  ownOptimizers?: readonly AdamW[];
  /**
   * True when microBatch scales its own gradient (the reward model, in its backward pass, as HF's
   * Trainer scales the loss); otherwise the loop divides the accumulated gradients by the micro-batch count.
   */
  scalesGradients?: boolean;
  /** The step's figures from its micro-batches (default: their metrics averaged by weight). */
  stepMetrics?(results: readonly MicroBatchResult[]): Record<string, number>;
  /** The progress line of a step (default: progressLine). */
  progressLine?(state: ProgressState): string;
  /** How a validation run is logged (default: validationLine). */
  validationLine?(figures: ValidationFigures): string;
}

export interface LoopInput {
  model: LlamaModel;
  optimizer: AdamW;
  /** SFT rows, or any other objective (the rows are then left out). */
  train?: readonly TrainingRow[];
  validation?: readonly TrainingRow[];
  objective?: TrainingObjective;
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
  validation: ValidationFigures | null;
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
  const { model, optimizer, settings, files } = input;
  const lora = model.lora;
  if (!lora) throw new InvalidArgumentError("model", "the model has no LoRA weights to train");
  const objective = input.objective ?? sftObjective(model, input.train ?? [], input.validation ?? [], settings);
  if (objective.trainCount === 0) throw new InvalidArgumentError("data", "no training rows");
  const { batchSize: B, gradientAccumulation: accumulation, totalSteps } = settings;
  const schedule = new RowSchedule(objective.trainCount, settings.seed);
  // the LoRA's optimizer first: the checkpoint holds its parameters and moments, then the objective's own
  const optimizers = [optimizer, ...(objective.ownOptimizers ?? [])];
  const trainedCount = optimizers.reduce((count, o) => count + o.params.length, 0);

  let step = 0;
  let tokensSeen = 0;
  if (input.resume) {
    const checkpoint = loadCheckpoint(files.checkpointPath);
    if (checkpoint.fingerprint !== input.fingerprint) {
      throw new CheckpointError(files.checkpointPath, `${files.checkpointPath} belongs to a run with other data or settings (or another --method); resume with the same flags, or start over without --resume`);
    }
    if (checkpoint.params.length !== trainedCount) throw new CheckpointError(files.checkpointPath, `${files.checkpointPath} holds ${checkpoint.params.length} parameters, this run has ${trainedCount}`);
    let offset = 0;
    for (const o of optimizers) {
      const part = (values: Float32Array) => values.subarray(offset, offset + o.params.length);
      o.params.set(part(checkpoint.params));
      o.m.set(part(checkpoint.m));
      o.v.set(part(checkpoint.v));
      o.step = checkpoint.adamStep;
      offset += o.params.length;
    }
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
  let lastValidation: ValidationFigures | null = null;

  const checkpoint = () => {
    const all = (part: (o: AdamW) => Float32Array) => joined(optimizers.map(part));
    saveCheckpoint(files.checkpointPath, { step, adamStep: optimizer.step, randomState: model.random.getState(), fingerprint: input.fingerprint, tokensSeen, params: all((o) => o.params), m: all((o) => o.m), v: all((o) => o.v) });
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
    for (const o of objective.ownOptimizers ?? []) o.grads.fill(0);
    let weightedLoss = 0, counted = 0, stepTokens = 0;
    const results: MicroBatchResult[] = [];
    for (let micro = 0; micro < accumulation; micro++) {
      const first = (step * accumulation + micro) * B;
      const result = objective.microBatch(Array.from({ length: B }, (_, b) => schedule.rowAt(first + b)), 1 / accumulation);
      if (!Number.isFinite(result.loss)) throw new TrainingDivergedError(step + 1, "loss", result.loss, "lower the learning rate or check the data");
      stepTokens += result.tokens;
      weightedLoss += result.loss * result.weight;
      counted += result.weight;
      results.push(result);
    }
    const stepMetrics = (objective.stepMetrics ?? weightedMeanMetrics)(results);
    if (accumulation > 1 && !objective.scalesGradients) for (const { grads } of optimizers) for (let i = 0; i < grads.length; i++) grads[i] /= accumulation;
    const gradientNorm = clipGradientNormOf(optimizers.map((o) => o.grads), settings.clipNorm);
    if (!Number.isFinite(gradientNorm)) throw new TrainingDivergedError(step + 1, "gradient norm", gradientNorm, "lower the learning rate; the adapter was not updated with it");
    const learningRate = learningRateAt(step, settings.schedule);
    for (const o of optimizers) o.update(learningRate);
    step++;
    tokensSeen += stepTokens;
    tokensThisRun += stepTokens;
    lastLoss = weightedLoss / counted;
    const elapsedSeconds = (performance.now() - started) / 1000;
    const tokensPerSecond = tokensThisRun / Math.max(elapsedSeconds, 1e-9);
    files.metrics.append({ type: "train", step, loss: lastLoss, learningRate, gradientNorm, tokens: tokensSeen, tokensPerSecond, elapsedSeconds, engineBytes: model.memoryBytes().total, peakRssBytes: peakRssBytes(), ...stepMetrics });
    input.onProgress?.((objective.progressLine ?? progressLine)({ step, totalSteps, loss: lastLoss, tokensPerSecond, elapsedSeconds, stepsThisRun: step - startStep, metrics: stepMetrics }));

    const last = step === totalSteps;
    if ((settings.evalEvery > 0 && step % settings.evalEvery === 0) || last) {
      const figures = objective.validate();
      if (figures) {
        lastValidation = figures;
        files.metrics.append({ type: "validation", step, ...figures });
        input.onLog?.(`step ${step}: ${(objective.validationLine ?? validationLine)(figures)}`);
        if (!Number.isFinite(figures.loss)) throw new TrainingDivergedError(step, "validation loss", figures.loss, "lower the learning rate");
      }
    }
    if (step % settings.checkpointEvery === 0 || last) checkpoint();
    // Let signal handlers (and anything else waiting) run between steps.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  return { startStep, steps: step, stopped, finalLoss: lastLoss, validation: lastValidation, tokensPerSecond: tokensThisRun / Math.max(elapsedSeconds, 1e-9), elapsedSeconds, peakRssBytes: peakRssBytes(), engineMemory: model.memoryBytes() };
}

/** A step's metrics: each micro-batch's, averaged by its weight (DPO's rewards/…: by its pairs). */
function weightedMeanMetrics(results: readonly MicroBatchResult[]): Record<string, number> {
  const sums: Record<string, number> = {};
  let counted = 0;
  for (const result of results) {
    counted += result.weight;
    for (const [name, value] of Object.entries(result.metrics ?? {})) sums[name] = (sums[name] ?? 0) + value * result.weight;
  }
  return Object.fromEntries(Object.entries(sums).map(([name, value]) => [name, value / counted]));
}

/** The buffers end to end (one buffer as it is). */
function joined(buffers: readonly Float32Array[]): Float32Array {
  if (buffers.length === 1) return buffers[0];
  const out = new Float32Array(buffers.reduce((length, buffer) => length + buffer.length, 0));
  let offset = 0;
  for (const buffer of buffers) {
    out.set(buffer, offset);
    offset += buffer.length;
  }
  return out;
}

/** "validation loss 1.2345, perplexity 3.456" (and an objective's own figures, the same way). */
export function validationLine(figures: ValidationFigures): string {
  const others = Object.entries(figures).filter(([name]) => name !== "loss" && name !== "tokens");
  return [`validation loss ${figures.loss.toFixed(4)}`, ...others.map(([name, value]) => `${name} ${value.toFixed(3)}`)].join(", ");
}

/** SFT: the masked next-token loss on rows, B at a time; validation reports loss and perplexity. */
export function sftObjective(model: LlamaModel, train: readonly TrainingRow[], validation: readonly TrainingRow[], settings: Pick<LoopSettings, "batchSize" | "sequenceLength">): TrainingObjective {
  const { batchSize: B, sequenceLength: T } = settings;
  const batch = allocateBatch(B, T);
  return {
    trainCount: train.length,
    microBatch(items) {
      const rows = items.map((i) => train[i]);
      const weight = fillBatch(batch, rows);
      let tokens = 0;
      for (const row of rows) tokens += Math.min(T, row.tokens.length - 1);
      const loss = model.forward(batch, B, T);
      if (Number.isFinite(loss)) model.backward();
      return { loss, weight, tokens };
    },
    validate: () => (validation.length > 0 ? { ...validate(model, validation, batch) } : null),
  };
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
