import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainableTarget } from "../engine/index.js";
import { UnsupportedFeatureError } from "../errors/index.js";
import type { TrainingExample } from "./dataset.js";
import { recipeChatTemplates, withoutGenerationMarkers } from "./recipe-templates.js";
import type { TrainingConfig } from "./train-config.js";

export const recipeTargets = ["axolotl", "trl"] as const;
export type RecipeTarget = (typeof recipeTargets)[number];

/** PEFT's module names for LLaMA's projections. */
// PEFT adapts lm_head as a LoRA target too (a Linear layer), as camelid's lm_head target does.
export const peftModules: Record<TrainableTarget, string> = { q: "q_proj", k: "k_proj", v: "v_proj", o: "o_proj", gate: "gate_proj", up: "up_proj", down: "down_proj", lm_head: "lm_head" };

export type RecipeSettings = Pick<
  TrainingConfig,
  "rank" | "alpha" | "dropout" | "targets" | "learningRate" | "beta1" | "beta2" | "eps" | "weightDecay" | "warmupRatio" | "clipNorm" | "batchSize" | "gradientAccumulation" | "epochs" | "maxLength" | "packing" | "validationFraction" | "evalEvery" | "checkpointEvery" | "seed"
> & {
  /** The Hugging Face model id or local directory the GPU trainer starts from. */
  baseModel: string;
  promptFormat: string;
};

export interface RecipeFiles {
  dataset: string;
  recipe: string;
  /** The command that runs the recipe. */
  command: string;
}

/**
 * The conversations as OpenAI-messages JSONL: the one layout both axolotl's chat_template type and TRL
 * read. A reply without loss keeps its `"weight": 0` (axolotl reads it through message_field_training).
 */
export function recipeDatasetJsonl(examples: readonly TrainingExample[]): string {
  return examples
    .map((example) => {
      const untrained = new Set(example.untrained ?? []);
      const messages = example.messages.map((message, index) => (untrained.has(index) ? { ...message, weight: 0 } : message));
      return `${JSON.stringify({ messages })}\n`;
    })
    .join("");
}

const hasUntrainedReplies = (examples: readonly TrainingExample[]) => examples.some((example) => (example.untrained?.length ?? 0) > 0);

export function chatTemplateFor(promptFormat: string): string {
  const template = recipeChatTemplates[promptFormat];
  if (!template) {
    throw new UnsupportedFeatureError(`no recipe chat template for prompt format "${promptFormat}"; choose one of ${Object.keys(recipeChatTemplates).join(", ")} with --prompt-format`);
  }
  return template;
}

/** The LoRA, optimizer and schedule keys every axolotl recipe shares: camelid's settings one to one. */
export function axolotlTrainingLines(settings: RecipeSettings): string[] {
  const q = (value: string) => JSON.stringify(value);
  return [
    "adapter: lora",
    `lora_r: ${settings.rank}`,
    `lora_alpha: ${settings.alpha}`,
    `lora_dropout: ${settings.dropout}`,
    `lora_target_modules: [${settings.targets.map((t) => q(peftModules[t])).join(", ")}]`,
    `num_epochs: ${settings.epochs}`,
    `micro_batch_size: ${settings.batchSize}`,
    `gradient_accumulation_steps: ${settings.gradientAccumulation}`,
    "optimizer: adamw_torch",
    `learning_rate: ${settings.learningRate}`,
    `adam_beta1: ${settings.beta1}`,
    `adam_beta2: ${settings.beta2}`,
    `adam_epsilon: ${settings.eps}`,
    `weight_decay: ${settings.weightDecay}`,
    "lr_scheduler: cosine",
    `warmup_ratio: ${settings.warmupRatio}`,
    `max_grad_norm: ${settings.clipNorm}`,
    `eval_steps: ${settings.evalEvery || 50}`,
    `save_steps: ${settings.checkpointEvery}`,
    `seed: ${settings.seed}`,
    "bf16: auto",
  ];
}

/** axolotl YAML. JSON strings are valid YAML double-quoted scalars, so every string goes through JSON.stringify. */
export function axolotlRecipe(settings: RecipeSettings, datasetFile: string, options: { weightField?: boolean } = {}): string {
  const q = (value: string) => JSON.stringify(value);
  const lines = [
    "# written by camelid train --export axolotl: the same LoRA SFT as camelid train, for GPUs",
    `# run: axolotl train axolotl.yml   (from this directory)`,
    `base_model: ${q(settings.baseModel)}`,
    "datasets:",
    `  - path: ${q(datasetFile)}`,
    "    ds_type: json",
    "    type: chat_template",
    "    field_messages: messages",
    "    message_property_mappings:",
    "      role: role",
    "      content: content",
    "    roles_to_train: [\"assistant\"]",
    // a message's "weight": 0 (Ghost Attention samples) takes it out of the loss; absent, roles_to_train decides
    ...(options.weightField ? ["    message_field_training: weight"] : []),
    "    train_on_eos: turn",
    "chat_template: jinja",
    `chat_template_jinja: ${q(withoutGenerationMarkers(chatTemplateFor(settings.promptFormat)))}`,
    `val_set_size: ${settings.validationFraction}`,
    `sequence_len: ${settings.maxLength}`,
    `sample_packing: ${settings.packing}`,
    ...axolotlTrainingLines(settings),
    "output_dir: ./lora-out",
    "",
  ];
  return lines.join("\n");
}

/** The TrainingArguments keys every TRL config shares (indented, one per line): camelid's settings one to one. */
export function trlTrainingArguments(settings: RecipeSettings): string {
  const evalSteps = settings.evalEvery || 50;
  return `    num_train_epochs=${settings.epochs},
    per_device_train_batch_size=${settings.batchSize},
    gradient_accumulation_steps=${settings.gradientAccumulation},
    learning_rate=${settings.learningRate},
    adam_beta1=${settings.beta1},
    adam_beta2=${settings.beta2},
    adam_epsilon=${settings.eps},
    weight_decay=${settings.weightDecay},
    lr_scheduler_type="cosine",
    warmup_ratio=${settings.warmupRatio},
    max_grad_norm=${settings.clipNorm},
    eval_strategy=${settings.validationFraction > 0 ? `"steps", eval_steps=${evalSteps}` : `"no"`},
    save_steps=${settings.checkpointEvery},
    logging_steps=1,
    seed=${settings.seed},`;
}

/** Loads the JSONL and holds out --val-fraction of it, seeded by --seed. */
export function trlLoadDataset(settings: RecipeSettings, datasetFile: string): string {
  return `dataset = load_dataset("json", data_files=${JSON.stringify(datasetFile)}, split="train")
${settings.validationFraction > 0 ? `split = dataset.train_test_split(test_size=${settings.validationFraction}, seed=${settings.seed})
train_dataset, eval_dataset = split["train"], split["test"]` : "train_dataset, eval_dataset = dataset, None"}`;
}

/** The trainer over the split, the tokenizer and the LoRA config, trained and saved to outDir. */
export function trlTrainAndSave(trainer: "SFTTrainer" | "DPOTrainer" | "RewardTrainer", model: string, outDir: string): string {
  return `trainer = ${trainer}(
    model=${model},
    args=config,
    train_dataset=train_dataset,
    eval_dataset=eval_dataset,
    processing_class=tokenizer,
    peft_config=peft_config,
)
trainer.train()
trainer.save_model(${JSON.stringify(outDir)})`;
}

/** PEFT's LoraConfig from camelid's LoRA flags. */
export function trlLoraConfig(settings: RecipeSettings, taskType: "CAUSAL_LM" | "SEQ_CLS"): string {
  const q = (value: string) => JSON.stringify(value);
  return `peft_config = LoraConfig(
    r=${settings.rank},
    lora_alpha=${settings.alpha},
    lora_dropout=${settings.dropout},
    target_modules=[${settings.targets.map((t) => q(peftModules[t])).join(", ")}],
    task_type="${taskType}",
)`;
}

/** A TRL SFTTrainer script with PEFT LoRA and assistant-only loss (the template's generation markers). */
export function trlRecipe(settings: RecipeSettings, datasetFile: string): string {
  const q = (value: string) => JSON.stringify(value); // JSON string escapes are valid Python string escapes
  return `# written by camelid train --export trl: the same LoRA SFT as camelid train, for GPUs
# run: python train_trl.py   (pip install trl peft datasets transformers)
# then: python llama.cpp/convert_lora_to_gguf.py lora-out --base <base model dir>  → a GGUF adapter for camelid serve
from datasets import load_dataset
from peft import LoraConfig
from transformers import AutoTokenizer
from trl import SFTConfig, SFTTrainer

BASE_MODEL = ${q(settings.baseModel)}
# renders exactly camelid's ${q(settings.promptFormat)} prompt format; {% generation %} marks what is trained
CHAT_TEMPLATE = ${q(chatTemplateFor(settings.promptFormat))}

tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL)
tokenizer.chat_template = CHAT_TEMPLATE
${trlLoadDataset(settings, datasetFile)}

config = SFTConfig(
    output_dir="lora-out",
${trlTrainingArguments(settings)}
    max_length=${settings.maxLength},
    packing=${settings.packing ? "True" : "False"},
    assistant_only_loss=True,
)
${trlLoraConfig(settings, "CAUSAL_LM")}
${trlTrainAndSave("SFTTrainer", "BASE_MODEL", "lora-out")}
`;
}

/** Writes train.jsonl and the recipe into outDir. */
export function writeRecipe(target: RecipeTarget, outDir: string, examples: readonly TrainingExample[], settings: RecipeSettings): RecipeFiles {
  chatTemplateFor(settings.promptFormat); // fail before writing anything
  const weighted = hasUntrainedReplies(examples);
  if (weighted && target === "trl") {
    // TRL's assistant_only_loss trains every assistant turn: the recipe would silently train the masked replies.
    throw new UnsupportedFeatureError('the data has replies with "weight": 0 (e.g. Ghost Attention samples), which TRL\'s assistant_only_loss would train; use --export axolotl');
  }
  mkdirSync(outDir, { recursive: true });
  const dataset = join(outDir, "train.jsonl");
  writeFileSync(dataset, recipeDatasetJsonl(examples));
  if (target === "axolotl") {
    const recipe = join(outDir, "axolotl.yml");
    writeFileSync(recipe, axolotlRecipe(settings, "train.jsonl", { weightField: weighted }));
    return { dataset, recipe, command: `cd ${outDir} && axolotl train axolotl.yml` };
  }
  const recipe = join(outDir, "train_trl.py");
  writeFileSync(recipe, trlRecipe(settings, "train.jsonl"));
  return { dataset, recipe, command: `cd ${outDir} && python train_trl.py` };
}
