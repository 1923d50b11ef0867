// PEFT's tensor names for a LlamaForCausalLM adapter and the llama.cpp tensors they adapt (the LLaMA
// rows of llama.cpp's gguf-py tensor_mapping.py, which convert_lora_to_gguf.py goes through).

/** PEFT target_modules camelid can carry to llama.cpp: the seven block projections, the head, the embedding. */
export const peftModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head", "embed_tokens"] as const;
export type PeftModule = (typeof peftModules)[number];

const blockModules: Record<string, { group: "self_attn" | "mlp"; gguf: string }> = {
  q_proj: { group: "self_attn", gguf: "attn_q" },
  k_proj: { group: "self_attn", gguf: "attn_k" },
  v_proj: { group: "self_attn", gguf: "attn_v" },
  o_proj: { group: "self_attn", gguf: "attn_output" },
  gate_proj: { group: "mlp", gguf: "ffn_gate" },
  up_proj: { group: "mlp", gguf: "ffn_up" },
  down_proj: { group: "mlp", gguf: "ffn_down" },
};

export function isPeftModule(name: string): name is PeftModule {
  return (peftModules as readonly string[]).includes(name);
}

/** One adapted weight: which module, which layer (null for the head and the embedding). */
export interface AdaptedWeight {
  module: PeftModule;
  layer: number | null;
}

export interface PeftTensorRef extends AdaptedWeight {
  part: "A" | "B";
}

// PEFT prefixes the model's own names with base_model.model.; convert_lora_to_gguf.py strips it
const PEFT_PREFIX = "base_model.model.";
const blockPattern = /^model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_([AB])\.weight$/;
const headPattern = /^lm_head\.lora_([AB])\.weight$/;
const embeddingPattern = /^model\.embed_tokens\.lora_embedding_([AB])$/;

/** A PEFT LoRA tensor name → what it adapts; null for any other name. */
export function parsePeftTensorName(name: string): PeftTensorRef | null {
  const local = name.startsWith(PEFT_PREFIX) ? name.slice(PEFT_PREFIX.length) : name;
  const block = blockPattern.exec(local);
  if (block) {
    const [, layer, group, module, part] = block;
    const known = blockModules[module];
    if (!known || known.group !== group) return null;
    return { module: module as PeftModule, layer: Number(layer), part: part as "A" | "B" };
  }
  const head = headPattern.exec(local);
  if (head) return { module: "lm_head", layer: null, part: head[1] as "A" | "B" };
  const embedding = embeddingPattern.exec(local);
  if (embedding) return { module: "embed_tokens", layer: null, part: embedding[1] as "A" | "B" };
  return null;
}

/** The name PEFT's save_pretrained gives the tensor. */
export function peftTensorName({ module, layer, part }: PeftTensorRef): string {
  if (module === "lm_head") return `${PEFT_PREFIX}lm_head.lora_${part}.weight`;
  if (module === "embed_tokens") return `${PEFT_PREFIX}model.embed_tokens.lora_embedding_${part}`;
  return `${PEFT_PREFIX}model.layers.${layer}.${blockModules[module].group}.${module}.lora_${part}.weight`;
}

/** The module's path as PEFT's rank_pattern keys name it (model.layers.N.self_attn.q_proj). */
export function peftModulePath({ module, layer }: AdaptedWeight): string {
  if (module === "lm_head") return "lm_head";
  if (module === "embed_tokens") return "model.embed_tokens";
  return `model.layers.${layer}.${blockModules[module].group}.${module}`;
}

/** The llama.cpp base tensor the adapter applies to (its LoRA tensors add .lora_a / .lora_b). */
export function ggufBaseTensorName({ module, layer }: AdaptedWeight): string {
  if (module === "lm_head") return "output.weight";
  if (module === "embed_tokens") return "token_embd.weight";
  return `blk.${layer}.${blockModules[module].gguf}.weight`;
}

/** A llama.cpp base tensor name → the PEFT module it is; null for tensors outside this mapping. */
export function parseGgufBaseTensorName(name: string): AdaptedWeight | null {
  if (name === "output.weight") return { module: "lm_head", layer: null };
  if (name === "token_embd.weight") return { module: "embed_tokens", layer: null };
  const block = /^blk\.(\d+)\.([a-z_]+)\.weight$/.exec(name);
  if (!block) return null;
  const module = Object.entries(blockModules).find(([, known]) => known.gguf === block[2])?.[0];
  return module ? { module: module as PeftModule, layer: Number(block[1]) } : null;
}
