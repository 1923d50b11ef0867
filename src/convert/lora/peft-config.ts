import { z } from "zod";
import { UnsupportedAdapterError } from "./errors.js";
import { isPeftModule, type PeftModule } from "./peft-names.js";

// adapter_config.json as PEFT's LoraConfig saves it. Only the keys that change what the adapter
// computes are read; every one that llama.cpp's LoRA format cannot express is refused by name.

const patternSchema = z.record(z.string(), z.number());

export const peftLoraConfigSchema = z
  .object({
    peft_type: z.string().optional(),
    task_type: z.string().nullable().optional(),
    base_model_name_or_path: z.string().nullable().optional(),
    r: z.number().int().positive(),
    lora_alpha: z.number(),
    target_modules: z.union([z.array(z.string()), z.string()]).nullable().optional(),
    bias: z.string().optional(),
    use_dora: z.boolean().optional(),
    use_rslora: z.boolean().optional(),
    lora_bias: z.boolean().optional(),
    fan_in_fan_out: z.boolean().optional(),
    modules_to_save: z.array(z.string()).nullable().optional(),
    rank_pattern: patternSchema.nullable().optional(),
    alpha_pattern: patternSchema.nullable().optional(),
    layer_replication: z.unknown().optional(),
    trainable_token_indices: z.unknown().optional(),
    alora_invocation_tokens: z.array(z.number().int().nonnegative()).nullable().optional(),
    invocation_string: z.string().nullable().optional(),
  })
  .passthrough();

export type PeftLoraConfig = z.infer<typeof peftLoraConfigSchema>;

/** Validates the JSON and refuses what llama.cpp's LoRA GGUF cannot carry, naming the key. */
export function parsePeftLoraConfig(value: unknown, file: string): PeftLoraConfig {
  const parsed = peftLoraConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join(".") || "adapter_config";
    throw new UnsupportedAdapterError(field, `${file}: ${field}: ${issue.message}`);
  }
  const config = parsed.data;
  const refuse = (field: string, why: string): never => {
    throw new UnsupportedAdapterError(field, `${file}: ${field}: ${why}`);
  };
  if (config.peft_type !== undefined && config.peft_type !== "LORA") refuse("peft_type", `"${config.peft_type}" is not a LoRA adapter (only peft_type LORA converts)`);
  if (config.task_type && config.task_type !== "CAUSAL_LM") refuse("task_type", `"${config.task_type}": only CAUSAL_LM adapters of a LlamaForCausalLM convert`);
  if (config.use_dora) refuse("use_dora", "DoRA adapters rescale the weight by a learned magnitude, which llama.cpp's LoRA format cannot express");
  if (config.use_rslora) {
    refuse("use_rslora", "rsLoRA scales by lora_alpha/sqrt(r) but llama.cpp scales every LoRA by alpha/r (convert_lora_to_gguf.py would write a wrong scale)");
  }
  if (config.lora_bias) refuse("lora_bias", "a LoRA bias term has no place in llama.cpp's LoRA format");
  if (config.bias !== undefined && config.bias !== "none") refuse("bias", `"${config.bias}": trained biases are not LoRA tensors; only bias "none" converts`);
  if (config.modules_to_save && config.modules_to_save.length > 0) {
    refuse("modules_to_save", `[${config.modules_to_save.join(", ")}] are fully trained copies of base weights, not LoRA factors; merge the adapter instead`);
  }
  if (config.alpha_pattern && Object.keys(config.alpha_pattern).length > 0) {
    refuse("alpha_pattern", "per-module alphas do not fit the single adapter.lora.alpha of a llama.cpp adapter");
  }
  if (config.layer_replication != null) refuse("layer_replication", "replicated layers have no llama.cpp counterpart");
  if (config.trainable_token_indices != null) refuse("trainable_token_indices", "trainable token rows are not LoRA factors");
  if (!(config.lora_alpha > 0)) refuse("lora_alpha", `${config.lora_alpha}: must be positive (llama.cpp reads alpha 0 as "no scaling", PEFT as a zero update)`);
  if (config.invocation_string && !config.alora_invocation_tokens) {
    refuse("invocation_string", "an aLoRA invocation string must be tokenized by the base model's Hugging Face tokenizer; give alora_invocation_tokens instead");
  }
  if (Array.isArray(config.target_modules)) {
    const unknown = config.target_modules.filter((module) => !isPeftModule(module));
    if (unknown.length > 0) refuse("target_modules", `[${unknown.join(", ")}] are not LLaMA modules llama.cpp adapts (known: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head, embed_tokens)`);
  }
  return config;
}

/** target_modules as PEFT writes them for the modules an adapter has. */
export function targetModulesOf(modules: Iterable<PeftModule>): PeftModule[] {
  return [...new Set(modules)].sort();
}
