import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError, UnsupportedFeatureError } from "../errors/index.js";
import { axolotlTrainingLines, chatTemplateFor, trlLoadDataset, trlLoraConfig, trlTrainAndSave, trlTrainingArguments, type RecipeFiles, type RecipeSettings, type RecipeTarget } from "./export-recipes.js";
import type { PreferenceExample } from "./preference-rows.js";
import { withoutGenerationMarkers } from "./recipe-templates.js";

/** What `camelid train --method` trains; dpo and reward are exported as GPU recipes only, for now. */
export const trainMethods = ["sft", "dpo", "reward"] as const;
export type TrainMethod = (typeof trainMethods)[number];
export type PreferenceMethod = Exclude<TrainMethod, "sft">;

/** The DPO losses both trl (DPOConfig.loss_type) and axolotl (dpo_loss_type) name the same way. */
export const dpoLossTypes = ["sigmoid", "ipo"] as const;
export type DpoLossType = (typeof dpoLossTypes)[number];

/** trl's DPOConfig defaults: beta 0.1, loss_type "sigmoid", label_smoothing 0. */
export interface DpoSettings {
  beta: number;
  lossType: DpoLossType;
  labelSmoothing: number;
}
export const defaultDpoSettings: DpoSettings = { beta: 0.1, lossType: "sigmoid", labelSmoothing: 0 };

export function checkDpoSettings(settings: DpoSettings): DpoSettings {
  if (!(Number.isFinite(settings.beta) && settings.beta > 0)) throw new InvalidArgumentError("beta", `--beta must be a number > 0, got ${settings.beta}`);
  // trl's robust/sigmoid label smoothing is a probability that the label is flipped: below one half
  if (!(settings.labelSmoothing >= 0 && settings.labelSmoothing < 0.5)) {
    throw new InvalidArgumentError("label-smoothing", `--label-smoothing must be in [0, 0.5), got ${settings.labelSmoothing}`);
  }
  if (settings.lossType === "ipo" && settings.labelSmoothing !== 0) {
    throw new InvalidArgumentError("label-smoothing", "--label-smoothing applies to the sigmoid loss only (trl ignores it for ipo)");
  }
  return settings;
}

const assistant = (content: string) => ({ role: "assistant", content });
const withMargin = (pair: PreferenceExample) => (pair.margin !== undefined ? { margin: pair.margin } : {});

/** trl's conversational preference rows with an explicit prompt (what DPOTrainer recommends). */
export function trlDpoJsonl(pairs: readonly PreferenceExample[]): string {
  return pairs.map((pair) => `${JSON.stringify({ prompt: pair.prompt, chosen: [assistant(pair.chosen)], rejected: [assistant(pair.rejected)] })}\n`).join("");
}

/** trl's conversational preference rows with the prompt implicit (RewardTrainer's layout), and `margin` when the pair has one. */
export function trlRewardJsonl(pairs: readonly PreferenceExample[]): string {
  return pairs
    .map((pair) => `${JSON.stringify({ chosen: [...pair.prompt, assistant(pair.chosen)], rejected: [...pair.prompt, assistant(pair.rejected)], ...withMargin(pair) })}\n`)
    .join("");
}

/** axolotl's chat_template.default DPO rows: the prompt's messages, then one assistant message each side. */
export function axolotlDpoJsonl(pairs: readonly PreferenceExample[]): string {
  return pairs.map((pair) => `${JSON.stringify({ messages: pair.prompt, chosen: assistant(pair.chosen), rejected: assistant(pair.rejected) })}\n`).join("");
}

/**
 * axolotl's bradley_terry.chat_template rows: system (always present: the strategy reads the column),
 * one user input, chosen and rejected. It has neither history nor margin: such pairs are refused, not cut.
 */
export function axolotlRewardJsonl(pairs: readonly PreferenceExample[]): string {
  return pairs
    .map((pair) => {
      const hasSystem = pair.prompt[0]?.role === "system";
      const system = hasSystem ? pair.prompt[0].content : "";
      const turns = pair.prompt.slice(hasSystem ? 1 : 0);
      if (turns.length !== 1) {
        throw new UnsupportedFeatureError(`${pair.file}:${pair.line}: axolotl's bradley_terry.chat_template takes one user turn, this pair has ${turns.length} prompt turns; use --export trl`);
      }
      if (pair.margin !== undefined) throw new UnsupportedFeatureError(`${pair.file}:${pair.line}: axolotl's bradley_terry.chat_template has no margin column; use --export trl (RewardTrainer reads "margin")`);
      return `${JSON.stringify({ system, input: turns[0].content, chosen: pair.chosen, rejected: pair.rejected })}\n`;
    })
    .join("");
}

const q = (value: string) => JSON.stringify(value); // JSON strings are valid YAML double-quoted scalars and Python literals

function axolotlHeader(method: PreferenceMethod, settings: RecipeSettings): string[] {
  return [
    `# written by camelid train --method ${method} --export axolotl: ${method === "dpo" ? "LoRA DPO" : "a LoRA reward model"} on camelid's preference pairs, for GPUs`,
    "# run: axolotl train axolotl.yml   (from this directory)",
    `base_model: ${q(settings.baseModel)}`,
  ];
}

/** The prompt format as a Jinja template (axolotl's renderer does not know trl's generation markers). */
const axolotlTemplateLines = (settings: RecipeSettings) => ["chat_template: jinja", `chat_template_jinja: ${q(withoutGenerationMarkers(chatTemplateFor(settings.promptFormat)))}`];

export function axolotlDpoRecipe(settings: RecipeSettings, dpo: DpoSettings, datasetFile: string): string {
  return [
    ...axolotlHeader("dpo", settings),
    "rl: dpo",
    `rl_beta: ${dpo.beta}`,
    `dpo_loss_type: [${q(dpo.lossType)}]`,
    `dpo_label_smoothing: ${dpo.labelSmoothing}`,
    "datasets:",
    `  - path: ${q(datasetFile)}`,
    "    ds_type: json",
    "    split: train",
    "    type: chat_template.default",
    "    field_messages: messages",
    "    field_chosen: chosen",
    "    field_rejected: rejected",
    "    message_property_mappings:",
    "      role: role",
    "      content: content",
    "    roles:",
    '      system: ["system"]',
    '      user: ["user"]',
    '      assistant: ["assistant"]',
    ...axolotlTemplateLines(settings),
    `val_set_size: ${settings.validationFraction}`,
    `sequence_len: ${settings.maxLength}`,
    "sample_packing: false", // a packed row would mix pairs: DPO compares whole sequences
    ...axolotlTrainingLines(settings),
    "output_dir: ./lora-out",
    "",
  ].join("\n");
}

export function axolotlRewardRecipe(settings: RecipeSettings, datasetFile: string): string {
  return [
    ...axolotlHeader("reward", settings),
    "model_type: AutoModelForSequenceClassification",
    "num_labels: 1",
    "reward_model: true",
    "datasets:",
    `  - path: ${q(datasetFile)}`,
    "    ds_type: json",
    "    split: train",
    "    type: bradley_terry.chat_template",
    ...axolotlTemplateLines(settings),
    `val_set_size: ${settings.validationFraction}`,
    `sequence_len: ${settings.maxLength}`,
    "sample_packing: false",
    "pad_to_sequence_len: true",
    "remove_unused_columns: false",
    // the scalar head is new: trained in full beside the LoRA branches
    'lora_modules_to_save: ["score"]',
    ...axolotlTrainingLines(settings),
    "output_dir: ./reward-out",
    "",
  ].join("\n");
}

function trlPreamble(method: PreferenceMethod, settings: RecipeSettings, imports: string): string {
  return `# written by camelid train --method ${method} --export trl: ${method === "dpo" ? "LoRA DPO" : "a LoRA reward model"} on camelid's preference pairs, for GPUs
# run: python train_trl.py   (pip install trl peft datasets transformers)
${method === "dpo" ? "# then: python llama.cpp/convert_lora_to_gguf.py lora-out --base <base model dir>  → a GGUF adapter for camelid serve\n" : ""}from datasets import load_dataset
from peft import LoraConfig
${imports}

BASE_MODEL = ${q(settings.baseModel)}
# renders exactly camelid's ${q(settings.promptFormat)} prompt format
CHAT_TEMPLATE = ${q(withoutGenerationMarkers(chatTemplateFor(settings.promptFormat)))}

tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL)
tokenizer.chat_template = CHAT_TEMPLATE
if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token
`;
}

/** trl's DPOTrainer with PEFT LoRA: the reference model is the base with the adapter switched off. */
export function trlDpoRecipe(settings: RecipeSettings, dpo: DpoSettings, datasetFile: string): string {
  return `${trlPreamble("dpo", settings, "from transformers import AutoTokenizer\nfrom trl import DPOConfig, DPOTrainer")}${trlLoadDataset(settings, datasetFile)}

config = DPOConfig(
    output_dir="lora-out",
${trlTrainingArguments(settings)}
    beta=${dpo.beta},
    loss_type=${q(dpo.lossType)},
    label_smoothing=${dpo.labelSmoothing},
    max_length=${settings.maxLength},
)
${trlLoraConfig(settings, "CAUSAL_LM")}
${trlTrainAndSave("DPOTrainer", "BASE_MODEL", "lora-out")}
`;
}

/** trl's RewardTrainer (Bradley-Terry loss, minus the pair's margin when the data has one) on a one-label sequence classifier. */
export function trlRewardRecipe(settings: RecipeSettings, datasetFile: string): string {
  return `${trlPreamble("reward", settings, "from transformers import AutoModelForSequenceClassification, AutoTokenizer\nfrom trl import RewardConfig, RewardTrainer")}model = AutoModelForSequenceClassification.from_pretrained(BASE_MODEL, num_labels=1)
model.config.pad_token_id = tokenizer.pad_token_id
${trlLoadDataset(settings, datasetFile)}

config = RewardConfig(
    output_dir="reward-out",
${trlTrainingArguments(settings)}
    max_length=${settings.maxLength},
)
${trlLoraConfig(settings, "SEQ_CLS")}
${trlTrainAndSave("RewardTrainer", "model", "reward-out")}
`;
}

/** Writes train.jsonl (the pairs in the target's preference layout) and the recipe into outDir. */
export function writePreferenceRecipe(
  target: RecipeTarget,
  method: PreferenceMethod,
  outDir: string,
  pairs: readonly PreferenceExample[],
  settings: RecipeSettings,
  dpo: DpoSettings = defaultDpoSettings,
): RecipeFiles {
  chatTemplateFor(settings.promptFormat); // fail before writing anything
  checkDpoSettings(dpo);
  const rows =
    target === "trl" ? (method === "dpo" ? trlDpoJsonl(pairs) : trlRewardJsonl(pairs)) : method === "dpo" ? axolotlDpoJsonl(pairs) : axolotlRewardJsonl(pairs);
  mkdirSync(outDir, { recursive: true });
  const dataset = join(outDir, "train.jsonl");
  writeFileSync(dataset, rows);
  if (target === "axolotl") {
    const recipe = join(outDir, "axolotl.yml");
    writeFileSync(recipe, method === "dpo" ? axolotlDpoRecipe(settings, dpo, "train.jsonl") : axolotlRewardRecipe(settings, "train.jsonl"));
    return { dataset, recipe, command: `cd ${outDir} && axolotl train axolotl.yml` };
  }
  const recipe = join(outDir, "train_trl.py");
  writeFileSync(recipe, method === "dpo" ? trlDpoRecipe(settings, dpo, "train.jsonl") : trlRewardRecipe(settings, "train.jsonl"));
  return { dataset, recipe, command: `cd ${outDir} && python train_trl.py` };
}
