import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { AdamW, LlamaModel, loadLlamaGguf, parseLoraConfig, splitTargets, type KernelSet, type LlamaConfig } from "../engine/index.js";
import { svgToPng } from "../charts/png.js";
import { InvalidArgumentError } from "../errors/index.js";
import { checkModelFile, metadataString, type GgufMetadata } from "../gguf/index.js";
import { requireFittingPromptFormat, type PromptFormat } from "../prompts/index.js";
import { writeLoraAdapterGguf } from "./adapter-export.js";
import { writeFileAtomic } from "../files/atomic-write.js";
import { CheckpointError, TrainingInterruptedError } from "./errors.js";
import { readTrainingDataset } from "./dataset.js";
import { dpoObjective, pairSequenceLength } from "./dpo-objective.js";
import { preparePreferenceData, type PreparedPreferenceData } from "./preference-data.js";
import { writeMergedGguf } from "./merged-export.js";
import { lossChartSvg } from "./loss-chart.js";
import { MetricsLog } from "./metrics-log.js";
import { dataProblemsJsonl, prepareTrainingData, type PreparedData, type SampleProblem, type TrainingRow } from "./prepare-data.js";
import { loadGgufTokenizer, type TrainingTokenizer } from "./tokenizer.js";
import { dpoSettingsOf, parseTrainingConfig, settingsFreeOnResume, type TrainingConfig, type TrainingConfigInput, type TrainingSetting } from "./train-config.js";
import { runTrainingLoop, type LoopFiles, type LoopSettings, type LoopSummary } from "./training-loop.js";
import { checkResumedSettings, recipeOf, recipeYaml } from "./recipe.js";
import { markRunEnded, markRunStarted } from "./run-status.js";

export interface TrainingRunHooks {
  onProgress?: (line: string) => void;
  onLog?: (line: string) => void;
  /** Tests run the reference kernels; the default is the fast set. */
  kernels?: KernelSet;
  /** Aborted on Ctrl-C/SIGTERM: the current step finishes and everything is written as for a finished run. */
  stopSignal?: AbortSignal;
}

export interface TrainingRunResult {
  config: TrainingConfig;
  promptFormat: string;
  totalSteps: number;
  sequenceLength: number;
  summary: LoopSummary;
  dataStats: PreparedData["stats"] & { trainRows: number; validationRows: number };
  problems: SampleProblem[];
  files: { adapter: string; merged?: string; metrics: string; chart: string; chartPng: string; checkpoint: string; problems: string; run: string; serveConfig: string; recipe: string };
}

/** Where a run keeps its files inside outDir. */
export function runFiles(outDir: string) {
  return {
    adapter: join(outDir, "adapter.gguf"),
    metrics: join(outDir, "metrics.jsonl"),
    chart: join(outDir, "loss.svg"),
    chartPng: join(outDir, "loss.png"),
    checkpoint: join(outDir, "checkpoint.bin"),
    problems: join(outDir, "data-problems.jsonl"),
    run: join(outDir, "run.json"),
    serveConfig: join(outDir, "serve.json"),
    recipe: join(outDir, "recipe.yaml"),
    /** The reward model of `--method reward` (reward/reward-gguf.ts), written instead of adapter.gguf. */
    reward: join(outDir, "reward.gguf"),
  };
}

/**
 * `camelid train` as a library call: model + data → LoRA adapter GGUF (and optionally the merged
 * model), with metrics, a loss chart, checkpoints and a report of every sample that was left out.
 */
export async function runTraining(input: TrainingConfigInput, hooks: TrainingRunHooks = {}): Promise<TrainingRunResult> {
  const config = parseTrainingConfig(input);
  return runInRunDirectory(config, (files) => trainInto(config, files, hooks));
}

/**
 * The run folder's life around `train` (SFT's or another method's): refuses to resume without a
 * checkpoint or to overwrite a run by accident, saves recipe.yaml, keeps running.json/failed.json, and
 * removes a folder it created when the run failed before its first checkpoint.
 */
export async function runInRunDirectory<Result>(config: TrainingConfig, train: (files: ReturnType<typeof runFiles>) => Promise<Result>): Promise<Result> {
  const files = runFiles(config.outDir);
  // fail before the slow part (tokenizer, data) when there is nothing to resume from
  if (config.resume && !existsSync(files.checkpoint)) throw new CheckpointError(files.checkpoint, `no checkpoint at ${files.checkpoint} to resume from`);
  if (config.resume && config.overwrite) throw new InvalidArgumentError("overwrite", "--resume continues the run in --out and --overwrite replaces it: give one of them");
  const existing = existingRunFiles(config.outDir);
  if (!config.resume && existing.length > 0) {
    if (!config.overwrite) {
      throw new InvalidArgumentError(
        "out",
        `${config.outDir} already holds a training run (${existing.map((path) => basename(path)).join(", ")}): continue it with --resume, replace it with --overwrite, or choose another --out`,
      );
    }
    for (const path of existing) rmSync(path, { force: true });
  }
  // the same settings as the run being resumed, named one by one (the fingerprint then checks the data)
  if (config.resume) checkResumedSettings(config, files.recipe);
  const createdOutDir = !existsSync(config.outDir);
  mkdirSync(config.outDir, { recursive: true });
  writeFileAtomic(files.recipe, recipeYaml(config));
  // running.json / failed.json let a viewer (the playground's Train tab) tell a live run from a dead one.
  markRunStarted(config.outDir, new Date());
  try {
    const result = await train(files);
    markRunEnded(config.outDir);
    return result;
  } catch (error) {
    markRunEnded(config.outDir, error instanceof TrainingInterruptedError ? undefined : error);
    // A run that failed before its first checkpoint leaves nothing to resume: do not leave a folder
    // behind that looks like a run (or is empty) and would stand in the way of the next attempt.
    if (createdOutDir && !existsSync(files.checkpoint)) rmSync(config.outDir, { recursive: true, force: true });
    throw error;
  }
}

/** The files of an earlier run in `outDir` that a fresh run would overwrite (what is worth keeping). */
export function existingRunFiles(outDir: string): string[] {
  if (!existsSync(outDir)) return [];
  const files = runFiles(outDir);
  const merged = readdirSync(outDir).filter((name) => /^merged-.*\.gguf$/.test(name)).map((name) => join(outDir, name));
  return [files.checkpoint, files.adapter, files.reward, files.run, files.metrics, ...merged].filter((path) => existsSync(path));
}

async function trainInto(config: TrainingConfig, files: ReturnType<typeof runFiles>, hooks: TrainingRunHooks): Promise<TrainingRunResult> {
  const { metadata } = await checkModelFile(config.modelPath);
  const { config: modelConfig, weights } = await loadLlamaGguf(config.modelPath, { weightStorage: config.keepQuantized ? "quantized" : "dequantized" });
  if (config.maxLength > modelConfig.contextLength) {
    throw new InvalidArgumentError("max-length", `max length ${config.maxLength} exceeds the model's context of ${modelConfig.contextLength} tokens`);
  }

  const dpo = dpoSettingsOf(config);
  if (dpo && (config.dataFormat !== undefined || config.packing)) {
    throw new InvalidArgumentError(config.packing ? "packing" : "data-format", `--method dpo reads preference pairs (their layout is detected) and trains each sequence on its own: --${config.packing ? "packing" : "data-format"} does not apply`);
  }
  const tokenizer = await loadGgufTokenizer(config.modelPath);
  let prepared: PreparedData;
  let format: PromptFormat;
  let formatReason = "";
  let pairs: PreparedPreferenceData | undefined;
  const problems: SampleProblem[] = [];
  try {
    ({ format, reason: formatReason } = runPromptFormat(config, metadata, modelConfig, tokenizer));
    if (dpo) {
      pairs = preparePreferenceData(config.dataPath, format, tokenizer, {
        maxLength: config.maxLength,
        truncation: config.truncation,
        onMismatch: config.onMismatch,
        validationFraction: config.validationFraction,
        seed: config.seed,
      });
      problems.push(...pairs.problems);
      prepared = pairsAsPreparedData(pairs);
    } else {
      const dataset = readTrainingDataset(config.dataPath, config.dataFormat ? { format: config.dataFormat } : {});
      problems.push(...dataset.problems);
      prepared = prepareTrainingData(dataset.examples, format, tokenizer, {
        maxLength: config.maxLength,
        truncation: config.truncation,
        onMismatch: config.onMismatch,
        packing: config.packing,
        validationFraction: config.validationFraction,
        seed: config.seed,
      });
      problems.push(...prepared.problems);
    }
  } finally {
    await tokenizer.dispose();
  }
  writeFileSync(files.problems, dataProblemsJsonl(problems));
  if (problems.length > 0) hooks.onLog?.(`${problems.length} sample(s) left out; see ${files.problems} (first: ${problems[0].file}:${problems[0].line}: ${problems[0].message})`);

  // a DPO batch holds batchSize pairs (2× as many sequences)
  const rowsPerStep = config.batchSize * config.gradientAccumulation;
  const totalSteps = config.maxSteps ?? Math.max(1, Math.ceil((config.epochs * (pairs ? pairs.train.length : prepared.train.length)) / rowsPerStep));
  // trl's DPOTrainer disables dropout in the model (DPOConfig.disable_dropout, on by default): the
  // policy's log-probs then compare with the reference's on the same footing
  const dropout = dpo ? 0 : config.dropout;
  const lora = parseLoraConfig({ rank: config.rank, alpha: config.alpha, dropout, ...splitTargets(config.targets) });
  const model = new LlamaModel(modelConfig, weights, { lora, seed: config.seed, checkpointActivations: config.checkpointActivations, ...(hooks.kernels ? { kernels: hooks.kernels } : {}) });
  // the model owns its kernel set (workspace, helper threads): given back however the run ends
  try {
    const optimizer = new AdamW(model.lora!.params, model.lora!.grads, { learningRate: config.learningRate, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay });
    hooks.onLog?.(
      pairs && dpo
        ? `prompt format ${format.name} (${formatReason}); DPO (loss ${dpo.lossType}, beta ${dpo.beta}, label smoothing ${dpo.labelSmoothing}, LoRA dropout off as in trl) on ${pairs.stats.used}/${pairs.stats.rows} pairs (${pairs.format} layout) → ${pairs.train.length} train, ${pairs.validation.length} validation pairs of ≤${prepared.sequenceLength} positions; ${totalSteps} steps`
        : `prompt format ${format.name} (${formatReason}); ${prepared.stats.used}/${prepared.stats.examples} samples → ${prepared.train.length} train rows, ${prepared.validation.length} validation rows of ≤${prepared.sequenceLength} positions; ${totalSteps} steps`,
    );

    const summary = await runTrainingLoop({
      model,
      optimizer,
      ...(pairs && dpo
        ? { objective: dpoObjective(model, pairs.train, pairs.validation, { pairsPerBatch: config.batchSize, sequenceLength: prepared.sequenceLength, dpo }) }
        : { train: prepared.train, validation: prepared.validation }),
      settings: loopSettings(config, prepared.sequenceLength, totalSteps),
      files: loopFiles(files),
      fingerprint: fingerprintOf(config, format.name, prepared),
      resume: config.resume,
      ...loopHooks(hooks),
    });
    if (summary.stopped && summary.steps === 0) throw new TrainingInterruptedError("training was interrupted before its first step; nothing was written");

    await writeFinalCharts(files);
    const name = `${metadataString(metadata, "general.name") ?? basename(config.modelPath, ".gguf")} LoRA`;
    await writeLoraAdapterGguf(files.adapter, model.lora!, modelConfig, { name, architecture: metadataString(metadata, "general.architecture") ?? "llama" });
    // a ready `camelid serve --config` file: the base model with the adapter, in the format it learned
    const servedId = `${basename(config.modelPath, ".gguf")}-lora`;
    writeFileAtomic(files.serveConfig, `${JSON.stringify({ models: [{ id: servedId, path: config.modelPath, lora: [{ path: files.adapter }], promptFormat: format.name }] }, null, 2)}\n`);
    let merged: string | undefined;
    if (config.mergedType) {
      merged = join(config.outDir, `merged-${config.mergedType.toLowerCase()}.gguf`);
      await writeMergedGguf(config.modelPath, merged, model.lora!, config.mergedType);
    }
    const result: TrainingRunResult = {
      config,
      promptFormat: format.name,
      totalSteps,
      sequenceLength: prepared.sequenceLength,
      summary,
      dataStats: { ...prepared.stats, trainRows: prepared.train.length, validationRows: prepared.validation.length },
      problems,
      files: { ...files, ...(merged ? { merged } : {}) },
    };
    const { problems: _, ...report } = result;
    writeFileAtomic(files.run, `${JSON.stringify({ ...report, recipe: recipeOf(config), problemCount: problems.length }, null, 2)}\n`);
    return result;
  } finally {
    model.dispose();
  }
}

/**
 * Preference pairs in PreparedData's shape, for what a run does the same with both: the step count
 * (one pair is one item of a batch), the fingerprint (each pair's chosen then rejected row), the stats.
 */
function pairsAsPreparedData(pairs: PreparedPreferenceData): PreparedData {
  const rowsOf = (list: PreparedPreferenceData["train"]) => list.flatMap((pair) => [pair.chosen, pair.rejected]);
  const train = rowsOf(pairs.train);
  let trainTokens = 0, trainableTokens = 0;
  for (const row of train) {
    trainTokens += row.tokens.length;
    for (let i = 1; i < row.trainable.length; i++) trainableTokens += row.trainable[i];
  }
  return {
    train,
    validation: rowsOf(pairs.validation),
    sequenceLength: pairSequenceLength([...pairs.train, ...pairs.validation]),
    problems: pairs.problems,
    stats: { examples: pairs.stats.rows, used: pairs.stats.used, truncated: pairs.stats.truncated, trainTokens, trainableTokens },
  };
}

/**
 * The prompt format a run renders its samples with (--prompt-format, else the model's template, name
 * or the fallback), refused when it does not fit the model's tokenizer; also checks that the tokenizer
 * and the embedding agree on the vocabulary.
 */
export function runPromptFormat(config: Pick<TrainingConfig, "modelPath" | "promptFormat">, metadata: GgufMetadata, modelConfig: LlamaConfig, tokenizer: TrainingTokenizer): { format: PromptFormat; reason: string } {
  if (tokenizer.vocabSize !== modelConfig.vocabSize) {
    throw new InvalidArgumentError("model", `${config.modelPath}: the tokenizer has ${tokenizer.vocabSize} tokens but the embedding ${modelConfig.vocabSize}`);
  }
  const resolved = requireFittingPromptFormat(
    {
      ...(config.promptFormat !== undefined ? { explicit: config.promptFormat } : {}),
      chatTemplate: metadataString(metadata, "tokenizer.chat_template"),
      modelName: metadataString(metadata, "general.name") ?? basename(config.modelPath),
      architecture: metadataString(metadata, "general.architecture"),
      ...(tokenizer.bosToken !== undefined ? { bosToken: tokenizer.bosToken } : {}),
      ...(tokenizer.eosToken !== undefined ? { eosToken: tokenizer.eosToken } : {}),
    },
    (text) => tokenizer.tokenizeSpecial(text).length,
    config.modelPath,
  );
  return { format: resolved.format, reason: resolved.choice.reason };
}

/**
 * Hash of everything that decides the numbers: settings (not paths or resume), prompt format, model file
 * size, rows. Activation checkpointing gives bit-identical gradients, so a run may resume with it
 * switched on or off; keeping weights encoded may sum the output head's gradient in another order.
 */
function fingerprintOf(config: TrainingConfig, formatName: string, data: PreparedData): string {
  const settings = Object.fromEntries(Object.entries(config).filter(([key]) => !settingsFreeOnResume.includes(key as TrainingSetting)));
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ settings, formatName, modelBytes: statSync(config.modelPath).size, T: data.sequenceLength }));
  const addRows = (rows: readonly TrainingRow[]) => {
    for (const row of rows) {
      hash.update(new Uint8Array(row.tokens.buffer, row.tokens.byteOffset, row.tokens.byteLength));
      hash.update(row.trainable);
    }
  };
  addRows(data.train);
  hash.update("validation");
  addRows(data.validation);
  return hash.digest("hex");
}

/** The run hooks the training loop takes (absent ones left out, as exactOptionalPropertyTypes wants). */
export function loopHooks(hooks: TrainingRunHooks): Pick<TrainingRunHooks, "onProgress" | "onLog" | "stopSignal"> {
  return {
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(hooks.onLog ? { onLog: hooks.onLog } : {}),
    ...(hooks.stopSignal ? { stopSignal: hooks.stopSignal } : {}),
  };
}

/**
 * loss.svg and loss.png drawn from the whole metrics log at the end of a run (the loop keeps loss.svg
 * current at every checkpoint). Written atomically: a second Ctrl-C (which exits at once) never leaves a torn one.
 */
export async function writeFinalCharts(files: Pick<ReturnType<typeof runFiles>, "metrics" | "chart" | "chartPng">): Promise<void> {
  const finalChart = lossChartSvg(new MetricsLog(files.metrics).read());
  writeFileAtomic(files.chart, finalChart);
  writeFileAtomic(files.chartPng, [await svgToPng(finalChart, { width: 1200 })]);
}

/** The training loop's settings from a run's config (SFT, DPO and reward runs alike); batchSize counts rows or pairs. */
export function loopSettings(config: TrainingConfig, sequenceLength: number, totalSteps: number): LoopSettings {
  const warmupSteps = config.warmupSteps ?? Math.round(config.warmupRatio * totalSteps);
  return {
    batchSize: config.batchSize,
    sequenceLength,
    gradientAccumulation: config.gradientAccumulation,
    totalSteps,
    schedule: { peak: config.learningRate, warmupSteps, totalSteps, minRatio: config.minLearningRateRatio },
    clipNorm: config.clipNorm,
    evalEvery: config.evalEvery,
    checkpointEvery: config.checkpointEvery,
    seed: config.seed,
  };
}

/** Where the training loop keeps its checkpoint, metrics and chart in a run folder. */
export function loopFiles(files: Pick<ReturnType<typeof runFiles>, "checkpoint" | "metrics" | "chart">): LoopFiles {
  return { checkpointPath: files.checkpoint, metrics: new MetricsLog(files.metrics), chartPath: files.chart };
}
