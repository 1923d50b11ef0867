import { createHash } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { AdamW, LlamaModel, loadLlamaGguf, parseLoraConfig, splitTargets } from "../../engine/index.js";
import { InvalidArgumentError } from "../../errors/index.js";
import { writeFileAtomic } from "../../files/atomic-write.js";
import { checkModelFile, metadataString } from "../../gguf/index.js";
import { TrainingInterruptedError } from "../errors.js";
import { dataProblemsJsonl, type SampleProblem } from "../prepare-data.js";
import { preparePreferenceData, type PreparedPreferenceData } from "../preference-data.js";
import type { TokenizedPreferencePair } from "../preference-tokens.js";
import { recipeOf } from "../recipe.js";
import { runTrainingLoop } from "../training-loop.js";
import { loopFiles, loopHooks, loopSettings, runFiles, runInRunDirectory, runPromptFormat, writeFinalCharts, type TrainingRunHooks } from "../run-training.js";
import { loadGgufTokenizer } from "../tokenizer.js";
import { parseTrainingConfig, settingsFreeOnResume, type TrainingConfig, type TrainingConfigInput, type TrainingSetting } from "../train-config.js";
import { initialRewardHead } from "./reward-head.js";
import { rewardObjective, rewardSummary, type RewardLoopSummary } from "./reward-objective.js";
import { RewardModel, type RewardPair } from "./reward-model.js";
import { writeRewardGguf } from "./reward-gguf.js";

export interface RewardRunResult {
  config: TrainingConfig;
  method: "reward";
  promptFormat: string;
  totalSteps: number;
  sequenceLength: number;
  summary: RewardLoopSummary;
  dataStats: PreparedPreferenceData["stats"] & { format: string; trainPairs: number; validationPairs: number };
  problems: SampleProblem[];
  files: { reward: string; metrics: string; chart: string; chartPng: string; checkpoint: string; problems: string; run: string; recipe: string };
}

/**
 * Training settings that mean nothing for a reward model, refused rather than ignored: packing (a
 * pair is two whole sequences), an SFT --data-format, --merged (there is no policy to merge), and a
 * LoRA on the vocabulary head (the reward model never runs it).
 */
export function checkRewardSettings(config: TrainingConfig): void {
  if (config.packing) throw new InvalidArgumentError("packing", "--packing does not apply to --method reward: each pair is two whole sequences");
  if (config.dataFormat !== undefined) throw new InvalidArgumentError("data-format", "--data-format names SFT layouts; --method reward detects the preference layout (LLaMA-Factory ranking, trl, arena export)");
  if (config.mergedType !== undefined) throw new InvalidArgumentError("merged", "--merged writes a merged policy; a reward model is written as <out>/reward.gguf");
  if (config.targets.includes("lm_head")) throw new InvalidArgumentError("targets", "--targets lm_head: a reward model scores with its own head and never runs the vocabulary head");
}

/** The pair's sequences and margin as the reward model takes them (the margin 0 when the row has none). */
export const rewardPairOf = (pair: TokenizedPreferencePair): RewardPair => ({ chosen: pair.chosen.tokens, rejected: pair.rejected.tokens, margin: pair.pair.margin ?? 0 });

/**
 * `camelid train --method reward`: preference pairs → a reward model (LLaMA-2 §3.2.2; trl's
 * RewardTrainer): LoRA on the body plus a scalar head on the last token, trained with
 * −log σ(r_chosen − r_rejected − margin). Writes <out>/reward.gguf and the run's usual files.
 */
export async function runRewardTraining(input: TrainingConfigInput, hooks: TrainingRunHooks = {}): Promise<RewardRunResult> {
  if (input.method !== undefined && input.method !== "reward") throw new InvalidArgumentError("method", `runRewardTraining trains --method reward, not ${input.method}`);
  // the saved recipe says which method it was, so that a resume from the command line matches it
  const config = parseTrainingConfig({ ...input, method: "reward" });
  checkRewardSettings(config);
  return runInRunDirectory(config, (files) => trainReward(config, files, hooks));
}

async function trainReward(config: TrainingConfig, files: ReturnType<typeof runFiles>, hooks: TrainingRunHooks): Promise<RewardRunResult> {
  const { metadata } = await checkModelFile(config.modelPath);
  const { config: modelConfig, weights } = await loadLlamaGguf(config.modelPath, { weightStorage: config.keepQuantized ? "quantized" : "dequantized" });
  if (config.maxLength > modelConfig.contextLength) {
    throw new InvalidArgumentError("max-length", `max length ${config.maxLength} exceeds the model's context of ${modelConfig.contextLength} tokens`);
  }
  const tokenizer = await loadGgufTokenizer(config.modelPath);
  let prepared: PreparedPreferenceData;
  let format, formatReason;
  try {
    ({ format, reason: formatReason } = runPromptFormat(config, metadata, modelConfig, tokenizer));
    prepared = preparePreferenceData(config.dataPath, format, tokenizer, {
      maxLength: config.maxLength,
      truncation: config.truncation,
      onMismatch: config.onMismatch,
      validationFraction: config.validationFraction,
      seed: config.seed,
    });
  } finally {
    await tokenizer.dispose();
  }
  const problems = prepared.problems;
  writeFileSync(files.problems, dataProblemsJsonl(problems));
  if (problems.length > 0) hooks.onLog?.(`${problems.length} pair(s) left out; see ${files.problems} (first: ${problems[0].file}:${problems[0].line}: ${problems[0].message})`);

  const train = prepared.train.map(rewardPairOf), validation = prepared.validation.map(rewardPairOf);
  const sequenceLength = Math.max(...[...train, ...validation].map((pair) => Math.max(pair.chosen.length, pair.rejected.length)));
  const pairsPerStep = config.batchSize * config.gradientAccumulation;
  const totalSteps = config.maxSteps ?? Math.max(1, Math.ceil((config.epochs * train.length) / pairsPerStep));
  const lora = parseLoraConfig({ rank: config.rank, alpha: config.alpha, dropout: config.dropout, ...splitTargets(config.targets) });
  const model = new LlamaModel(modelConfig, weights, { lora, seed: config.seed, checkpointActivations: config.checkpointActivations, ...(hooks.kernels ? { kernels: hooks.kernels } : {}) });
  // the model owns its kernel set (workspace, helper threads): given back however the run ends
  try {
    const reward = new RewardModel(model, initialRewardHead(modelConfig.dim, config.seed));
    const adamW = { learningRate: config.learningRate, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay };
    const withMargin = train.filter((pair) => pair.margin !== 0).length;
    hooks.onLog?.(
      `reward model; prompt format ${format.name} (${formatReason}); ${prepared.stats.used}/${prepared.stats.rows} pairs (${prepared.format} layout) → ${train.length} train, ${validation.length} validation pairs of ≤${sequenceLength} tokens` +
        `${withMargin > 0 ? `, ${withMargin} with a margin` : ""}; ${totalSteps} steps`,
    );

    const loop = loopFiles(files);
    const summary = rewardSummary(
      await runTrainingLoop({
        model,
        optimizer: new AdamW(model.lora!.params, model.lora!.grads, adamW),
        objective: rewardObjective(reward, train, validation, { pairsPerBatch: config.batchSize, sequenceLength, adamW }),
        settings: loopSettings(config, sequenceLength, totalSteps),
        files: loop,
        fingerprint: fingerprintOf(config, format.name, train, validation),
        resume: config.resume,
        ...loopHooks(hooks),
      }),
      loop.metrics,
    );
    if (summary.stopped && summary.steps === 0) throw new TrainingInterruptedError("training was interrupted before its first step; nothing was written");

    await writeFinalCharts(files);
    const name = `${metadataString(metadata, "general.name") ?? basename(config.modelPath, ".gguf")} reward model`;
    await writeRewardGguf(files.reward, model.lora!, reward.head, modelConfig, { name, architecture: metadataString(metadata, "general.architecture") ?? "llama", promptFormat: format.name });
    const result: RewardRunResult = {
      config,
      method: "reward",
      promptFormat: format.name,
      totalSteps,
      sequenceLength,
      summary,
      dataStats: { ...prepared.stats, format: prepared.format, trainPairs: train.length, validationPairs: validation.length },
      problems,
      files: { reward: files.reward, metrics: files.metrics, chart: files.chart, chartPng: files.chartPng, checkpoint: files.checkpoint, problems: files.problems, run: files.run, recipe: files.recipe },
    };
    const { problems: _, ...report } = result;
    writeFileAtomic(files.run, `${JSON.stringify({ ...report, recipe: recipeOf(config), problemCount: problems.length }, null, 2)}\n`);
    return result;
  } finally {
    model.dispose();
  }
}

/** As SFT's run fingerprint, for pairs: settings, "reward", prompt format, model size, every pair's tokens and margin. */
function fingerprintOf(config: TrainingConfig, formatName: string, train: readonly RewardPair[], validation: readonly RewardPair[]): string {
  const settings = Object.fromEntries(Object.entries(config).filter(([key]) => !settingsFreeOnResume.includes(key as TrainingSetting)));
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ method: "reward", settings, formatName, modelBytes: statSync(config.modelPath).size }));
  for (const [name, pairs] of [["train", train], ["validation", validation]] as const) {
    hash.update(name);
    for (const pair of pairs) {
      for (const tokens of [pair.chosen, pair.rejected]) hash.update(new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength));
      hash.update(String(pair.margin));
    }
  }
  return hash.digest("hex");
}
