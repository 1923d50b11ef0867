import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import type { LayerMatrix } from "../model/base-weights.js";

/** Projections LoRA can adapt, named as in PEFT's target_modules (q_proj → "q", gate_proj → "gate"). */
export const loraTargets = ["q", "k", "v", "o", "gate", "up", "down"] as const;
export type LoraTarget = (typeof loraTargets)[number];

/** What `--targets` accepts: the layers' projections and the output head. */
export const trainableTargets = [...loraTargets, "lm_head"] as const;
export type TrainableTarget = (typeof trainableTargets)[number];

/** Splits `--targets` into the layers' projections and whether the output head is adapted. */
export function splitTargets(targets: readonly TrainableTarget[]): { targets: LoraTarget[]; outputHead: boolean } {
  return { targets: targets.filter((target): target is LoraTarget => target !== "lm_head"), outputHead: targets.includes("lm_head") };
}

export const targetMatrix: Record<LoraTarget, LayerMatrix> = {
  q: "wq",
  k: "wk",
  v: "wv",
  o: "wo",
  gate: "wGate",
  up: "wUp",
  down: "wDown",
};

/**
 * The output head (lm_head) as an extra target, like PEFT's modules_to_save for lm_head but low-rank:
 * a tiny model whose base never predicted EOS cannot learn to stop through the layers alone.
 */
export const OUTPUT_HEAD_TARGET = "lm_head";

export interface LoraConfig {
  rank: number;
  /** The update is scaled by alpha / rank (LoRA paper, PEFT default). */
  alpha: number;
  /** Dropout probability on the LoRA branch's input, in [0, 1). */
  dropout: number;
  targets: LoraTarget[];
  /** A LoRA branch on the output head too (logits += scale * B A x); exported as output.weight.lora_a/b. */
  outputHead?: boolean;
}

export const loraConfigSchema = z.object({
  rank: z.number().int().positive(),
  alpha: z.number().positive(),
  dropout: z.number().min(0).lt(1),
  targets: z.array(z.enum(loraTargets)).refine((targets) => new Set(targets).size === targets.length, "targets must not repeat"),
  outputHead: z.boolean().default(false),
}).refine((config) => config.targets.length > 0 || config.outputHead, { path: ["targets"], message: "give at least one target" });

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
