import { z } from "zod";
import { adamWDefaults, trainableTargets } from "../engine/index.js";
import { InvalidArgumentError } from "../errors/index.js";
import { trainingDataFormats } from "./dataset.js";
import { checkDpoSettings, defaultDpoSettings, dpoLossTypes, trainMethods, type DpoSettings } from "./export-preference-recipes.js";
import { mergedTypes } from "./merged-export.js";
import { mismatchPolicies, truncationPolicies } from "./prepare-data.js";

/**
 * Every setting of a training run, validated at the edge (CLI flags, config files). Defaults:
 * LoRA r=8, alpha=16, dropout 0.05 on q,k,v,o (alpaca-lora's recipe minus its larger rank);
 * AdamW lr 2e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 (PyTorch's defaults, LoRA's usual lr);
 * warmup 3% of the steps then cosine decay to 0; gradient clipping at global norm 1.0; batch 4,
 * no accumulation; 3 epochs; max length 512 tokens, longer samples dropped; 5% validation; all
 * activations kept and base weights decoded to float32 on load (the fastest, most memory).
 */
export const trainingConfigSchema = z
  .object({
    modelPath: z.string().min(1),
    dataPath: z.string().min(1),
    dataFormat: z.enum(trainingDataFormats).optional(),
    /** A registry prompt format; otherwise the model's template, name heuristic or fallback. */
    promptFormat: z.string().min(1).optional(),
    outDir: z.string().min(1),
    rank: z.number().int().positive().default(8),
    alpha: z.number().positive().default(16),
    dropout: z.number().min(0).lt(1).default(0.05),
    /** Layer projections, and "lm_head" for the output head (see splitTargets). */
    targets: z.array(z.enum(trainableTargets)).min(1).default(["q", "k", "v", "o"]),
    learningRate: z.number().positive().default(adamWDefaults.learningRate),
    beta1: z.number().min(0).lt(1).default(adamWDefaults.beta1),
    beta2: z.number().min(0).lt(1).default(adamWDefaults.beta2),
    eps: z.number().positive().default(adamWDefaults.eps),
    weightDecay: z.number().min(0).default(adamWDefaults.weightDecay),
    /** Warmup as a share of all steps when warmupSteps is not given. */
    warmupRatio: z.number().min(0).max(1).default(0.03),
    warmupSteps: z.number().int().min(0).optional(),
    minLearningRateRatio: z.number().min(0).max(1).default(0),
    clipNorm: z.number().positive().default(1.0),
    batchSize: z.number().int().positive().default(4),
    gradientAccumulation: z.number().int().positive().default(1),
    epochs: z.number().positive().default(3),
    /** Overrides epochs. */
    maxSteps: z.number().int().positive().optional(),
    maxLength: z.number().int().min(2).default(512),
    truncation: z.enum(truncationPolicies).default("drop"),
    onMismatch: z.enum(mismatchPolicies).default("skip"),
    packing: z.boolean().default(false),
    validationFraction: z.number().min(0).max(0.5).default(0.05),
    /** Validation every N steps (and at the end); 0 = only at the end. */
    evalEvery: z.number().int().min(0).default(50),
    checkpointEvery: z.number().int().positive().default(50),
    seed: z.number().int().min(0).max(0xffffffff).default(42),
    resume: z.boolean().default(false),
    /** Replace a run already in outDir (without it, or resume, an existing run is refused). */
    overwrite: z.boolean().default(false),
    mergedType: z.enum(mergedTypes).optional(),
    /** Recompute each layer's activations in backward instead of keeping them all (same gradients, less memory). */
    checkpointActivations: z.boolean().default(false),
    /** Keep the base weights in the file's encoding and decode one matrix at a time (memory ~ file size). */
    keepQuantized: z.boolean().default(false),
    /** What is trained: sft when absent (a recipe of an SFT run does not name it). */
    method: z.enum(trainMethods).optional(),
    /** DPO's settings (trl's DPOConfig beta, loss_type, label_smoothing); with method dpo only, trl's defaults when absent. */
    beta: z.number().positive().optional(),
    dpoLoss: z.enum(dpoLossTypes).optional(),
    labelSmoothing: z.number().min(0).lt(0.5).optional(),
  })
  .strict();

export type TrainingConfigInput = z.input<typeof trainingConfigSchema>;
export type TrainingConfig = z.output<typeof trainingConfigSchema>;
export type TrainingSetting = keyof TrainingConfig;

/**
 * Each setting's name for people: `camelid train --<flag>` and the same key in a recipe file. The schema
 * above is the one list of settings (types, ranges, defaults); this only names them, in the order of
 * --help and of the recipe a run saves. A setting without a flag does not compile (see below).
 */
export const trainingFlags = {
  model: "modelPath",
  data: "dataPath",
  "data-format": "dataFormat",
  "prompt-format": "promptFormat",
  out: "outDir",
  "max-length": "maxLength",
  truncation: "truncation",
  "on-mismatch": "onMismatch",
  packing: "packing",
  "val-fraction": "validationFraction",
  rank: "rank",
  alpha: "alpha",
  dropout: "dropout",
  targets: "targets",
  lr: "learningRate",
  beta1: "beta1",
  beta2: "beta2",
  eps: "eps",
  "weight-decay": "weightDecay",
  "warmup-steps": "warmupSteps",
  "warmup-ratio": "warmupRatio",
  "min-lr-ratio": "minLearningRateRatio",
  "clip-norm": "clipNorm",
  "batch-size": "batchSize",
  "grad-accum": "gradientAccumulation",
  epochs: "epochs",
  "max-steps": "maxSteps",
  seed: "seed",
  "eval-every": "evalEvery",
  "checkpoint-every": "checkpointEvery",
  "checkpoint-activations": "checkpointActivations",
  "keep-quantized": "keepQuantized",
  method: "method",
  beta: "beta",
  "dpo-loss": "dpoLoss",
  "label-smoothing": "labelSmoothing",
  merged: "mergedType",
  resume: "resume",
  overwrite: "overwrite",
} as const satisfies Record<string, TrainingSetting>;
export type TrainingFlag = keyof typeof trainingFlags;

type SettingWithoutFlag = Exclude<TrainingSetting, (typeof trainingFlags)[TrainingFlag]>;
const everySettingHasAFlag: [SettingWithoutFlag] extends [never] ? true : SettingWithoutFlag = true;
void everySettingHasAFlag;

/**
 * What a resumed run may change: where the files are (their contents are checked), what is written at
 * the end, and activation checkpointing (bit-identical gradients). Every other setting decides the
 * numbers, so the checkpoint's fingerprint and the saved recipe's comparison both hold them fixed.
 */
export const settingsFreeOnResume: readonly TrainingSetting[] = ["outDir", "resume", "overwrite", "mergedType", "dataPath", "modelPath", "checkpointActivations"];

export function parseTrainingConfig(input: unknown): TrainingConfig {
  const parsed = trainingConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join(".") || "config";
    throw new InvalidArgumentError(key, `invalid training setting ${key}: ${issue.message}`);
  }
  return parsed.data;
}

const dpoSettingFlags = { beta: "beta", dpoLoss: "dpo-loss", labelSmoothing: "label-smoothing" } as const;

/**
 * A DPO run's beta, loss and label smoothing (trl's defaults where not given), checked together; null for
 * another method, which refuses them (they would silently do nothing).
 */
export function dpoSettingsOf(config: Pick<TrainingConfig, "method" | "beta" | "dpoLoss" | "labelSmoothing">): DpoSettings | null {
  if (config.method !== "dpo") {
    const given = (Object.keys(dpoSettingFlags) as (keyof typeof dpoSettingFlags)[]).find((key) => config[key] !== undefined);
    if (given) throw new InvalidArgumentError(dpoSettingFlags[given], `--${dpoSettingFlags[given]} is a DPO setting: it needs --method dpo`);
    return null;
  }
  return checkDpoSettings({
    beta: config.beta ?? defaultDpoSettings.beta,
    lossType: config.dpoLoss ?? defaultDpoSettings.lossType,
    labelSmoothing: config.labelSmoothing ?? defaultDpoSettings.labelSmoothing,
  });
}
