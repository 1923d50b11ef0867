import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { readJsonl } from "./jsonl.js";

/** The original Vicuna GPT-4 review prompt (`vicuna_blog/prompt.jsonl`). */
export interface VicunaReviewPrompt {
  promptId: number;
  systemPrompt: string;
  promptTemplate: string;
  defaults: Record<string, string>;
  category: string;
}

/** A reviewer (`reviewer.jsonl`): which prompt and sampling settings judge which category. */
export interface VicunaReviewer {
  reviewerId: string;
  promptId: number;
  category: string;
  temperature: number;
  maxTokens: number;
}

const promptSchema = z
  .object({
    prompt_id: z.number().int(),
    system_prompt: z.string(),
    prompt_template: z.string(),
    defaults: z.record(z.string(), z.string()),
    category: z.string(),
  })
  .transform((row): VicunaReviewPrompt => ({
    promptId: row.prompt_id,
    systemPrompt: row.system_prompt,
    promptTemplate: row.prompt_template,
    defaults: row.defaults,
    category: row.category,
  }));

const reviewerSchema = z
  .object({
    reviewer_id: z.string(),
    prompt_id: z.number().int(),
    metadata: z.object({ temperature: z.number(), max_tokens: z.number().int() }),
    category: z.string(),
  })
  .transform((row): VicunaReviewer => ({
    reviewerId: row.reviewer_id,
    promptId: row.prompt_id,
    category: row.category,
    temperature: row.metadata.temperature,
    maxTokens: row.metadata.max_tokens,
  }));

export interface VicunaReviewSetup {
  prompts: Map<number, VicunaReviewPrompt>;
  reviewers: VicunaReviewer[];
}

export function loadVicunaReviewSetup(promptPath: string, reviewerPath: string): VicunaReviewSetup {
  const prompts = new Map(readJsonl(promptPath, promptSchema, { parameter: "review prompts" }).map((p) => [p.promptId, p]));
  const reviewers = readJsonl(reviewerPath, reviewerSchema, { parameter: "reviewers" });
  for (const reviewer of reviewers) {
    if (!prompts.has(reviewer.promptId)) throw new InvalidArgumentError("reviewers", `reviewer ${reviewer.reviewerId} uses prompt ${reviewer.promptId}, which ${promptPath} lacks`);
  }
  return { prompts, reviewers };
}

/** FastChat's eval_gpt_review: coding and math questions get their own reviewer, the rest "general". */
export function reviewerFor(setup: VicunaReviewSetup, questionCategory: string): { reviewer: VicunaReviewer; prompt: VicunaReviewPrompt } {
  const reviewer = setup.reviewers.find((r) => r.category === questionCategory) ?? setup.reviewers.find((r) => r.category === "general");
  if (!reviewer) throw new InvalidArgumentError("reviewers", `no reviewer for category "${questionCategory}" and no "general" reviewer`);
  return { reviewer, prompt: setup.prompts.get(reviewer.promptId)! };
}
