// DPO's implicit reward on held-out pairs, measured from the files a run leaves behind: r(x, y) =
// β·(log π(y|x) − log π_ref(y|x)), with π the base model plus the adapter read back from its GGUF file and
// π_ref the same model with the adapter disabled (as the trainer's reference). A pair counts as right when
// r(chosen) > r(rejected), a tie as half (before training every reward is 0: 50%).
import { loadLlamaGguf, loadLoraGguf, LlamaModel, parseLoraConfig } from "../../../src/engine/index.js";
import { allocatePairBatch, fillPairBatch, pairLogProbs, pairSequenceLength } from "../../../src/train/dpo-objective.js";
import { preparePreferenceData } from "../../../src/train/preference-data.js";
import { loadGgufTokenizer } from "../../../src/train/tokenizer.js";
import { getPromptFormat } from "../../../src/prompts/index.js";

export interface ImplicitRewardOptions {
  modelPath: string;
  /** The adapter GGUF; without it the policy is the base model (LoRA's B starts at 0: every reward 0). */
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

export async function implicitRewardAccuracy(options: ImplicitRewardOptions): Promise<ImplicitRewardResult> {
  const { config, weights } = await loadLlamaGguf(options.modelPath);
  const model = new LlamaModel(config, weights, { lora: parseLoraConfig({ dropout: 0, ...options.lora }), seed: 1 });
  if (options.adapterPath) await loadLoraGguf(model.lora!, options.adapterPath);
  model.training = false;
  const tokenizer = await loadGgufTokenizer(options.modelPath);
  let pairs;
  try {
    pairs = preparePreferenceData(options.pairsPath, getPromptFormat(options.promptFormat), tokenizer, { maxLength: options.maxLength, validationFraction: 0, seed: 1 }).train;
  } finally {
    await tokenizer.dispose();
  }
  // all the pairs in one batch: chosen rows, then rejected rows
  const batch = allocatePairBatch(pairs.length, pairSequenceLength(pairs));
  fillPairBatch(batch, pairs);
  const logps = pairLogProbs(model, batch, pairs.length);
  const margins = pairs.map((_, i) => options.beta * (logps.policyChosen[i] - logps.referenceChosen[i] - (logps.policyRejected[i] - logps.referenceRejected[i])));
  const ties = margins.filter((margin) => margin === 0).length;
  const right = margins.filter((margin) => margin > 0).length;
  return { pairs: margins.length, accuracy: (right + ties / 2) / margins.length, ties, margins };
}
