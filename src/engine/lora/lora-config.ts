import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import type { LayerMatrix } from "../model/base-weights.js";

/** Projections LoRA can adapt, named as in PEFT's target_modules (q_proj → "q", gate_proj → "gate"). */
export const loraTargets = ["q", "k", "v", "o", "gate", "up", "down"] as const;
export type LoraTarget = (typeof loraTargets)[number];

export const targetMatrix: Record<LoraTarget, LayerMatrix> = {
  q: "wq",
  k: "wk",
  v: "wv",
  o: "wo",
  gate: "wGate",
  up: "wUp",
  down: "wDown",
};

export interface LoraConfig {
  rank: number;
  /** The update is scaled by alpha / rank (LoRA paper, PEFT default). */
  alpha: number;
  /** Dropout probability on the LoRA branch's input, in [0, 1). */
  dropout: number;
  targets: LoraTarget[];
}

export const loraConfigSchema = z.object({
  rank: z.number().int().positive(),
  alpha: z.number().positive(),
  dropout: z.number().min(0).lt(1),
  targets: z
    .array(z.enum(loraTargets))
    .min(1)
    .refine((targets) => new Set(targets).size === targets.length, "targets must not repeat"),
});

export function parseLoraConfig(value: unknown): LoraConfig {
  const parsed = loraConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join(".");
    throw new InvalidArgumentError(`lora.${path}`, `invalid LoRA config: ${path || "(root)"}: ${issue.message}`);
  }
  // keep the canonical order so the parameter layout does not depend on how the user listed them
  return { ...parsed.data, targets: loraTargets.filter((t) => parsed.data.targets.includes(t)) };
}
