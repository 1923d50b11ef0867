// DPO's implicit reward, measured independently of the trainer: r(x, y) = β·(log π(y|x) − log π_ref(y|x)),
// with π the base model plus the trained adapter (read back from its GGUF file) and π_ref the base model
// alone. A held-out pair counts as right when r(chosen) > r(rejected), a tie as half (before training
// every reward is 0: 50%).
import { loadLlamaGguf, loadLoraGguf, LlamaModel, parseLoraConfig, type LoraConfig } from "../../../src/engine/index.js";
import { allocateBatch, fillBatch } from "../../../src/train/batches.js";
import { preparePreferenceData } from "../../../src/train/preference-data.js";
import type { TrainingRow } from "../../../src/train/prepare-data.js";
import { loadGgufTokenizer } from "../../../src/train/tokenizer.js";
import { getPromptFormat } from "../../../src/prompts/index.js";

export interface ImplicitRewardOptions {
  modelPath: string;
  /** The adapter GGUF; without it the policy is the base model (every reward 0). */
  adapterPath?: string;
  /** The adapter's shape (rank, alpha, targets), as it was trained. */
  lora: { rank: number; alpha: number; targets: string[]; outputHead?: boolean };
  pairsPath: string;
  /** The prompt format's name (as `--prompt-format` takes it). */
  promptFormat: string;
  beta: number;
  maxLength: number;
}

export interface ImplicitRewardResult {
  pairs: number;
  /** Share of pairs with r(chosen) > r(rejected), ties counted half. */
  accuracy: number;
  ties: number;
  /** r(chosen) − r(rejected) per pair. */
  margins: number[];
}

/** Summed log-probability of each row's trainable tokens under `model` (one row per forward pass). */
function sequenceLogProbability(model: LlamaModel, row: TrainingRow): number {
  const T = row.tokens.length - 1;
  const batch = allocateBatch(1, T);
  fillBatch(batch, [row]);
  model.forward({ tokens: batch.tokens, targets: batch.targets, lossMask: batch.lossMask }, 1, T);
  // the per-position losses of the masked positions, compacted in order: −log p of each target
  const counted = batch.lossMask.reduce((sum, bit) => sum + bit, 0);
  let total = 0;
  for (let m = 0; m < counted; m++) total -= model.activations!.losses[m];
  return total;
}

export async function implicitRewardAccuracy(options: ImplicitRewardOptions): Promise<ImplicitRewardResult> {
  const { config, weights } = await loadLlamaGguf(options.modelPath);
  const loraConfig: LoraConfig = parseLoraConfig({ dropout: 0, ...options.lora });
  const policy = new LlamaModel(config, weights, { lora: loraConfig, seed: 1 });
  // LoRA starts with B = 0: without an adapter file the policy is the base model
  if (options.adapterPath) await loadLoraGguf(policy.lora!, options.adapterPath);
  const reference = new LlamaModel(config, weights, {});
  policy.training = reference.training = false;
  const tokenizer = await loadGgufTokenizer(options.modelPath);
  try {
    const data = preparePreferenceData(options.pairsPath, getPromptFormat(options.promptFormat), tokenizer, { maxLength: options.maxLength, validationFraction: 0, seed: 1 });
    const reward = (row: TrainingRow) => options.beta * (sequenceLogProbability(policy, row) - sequenceLogProbability(reference, row));
    const margins = data.train.map((pair) => reward(pair.chosen) - reward(pair.rejected));
    const ties = margins.filter((margin) => margin === 0).length;
    const right = margins.filter((margin) => margin > 0).length;
    return { pairs: margins.length, accuracy: (right + ties / 2) / margins.length, ties, margins };
  } finally {
    await tokenizer.dispose();
  }
}
