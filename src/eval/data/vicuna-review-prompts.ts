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

/**
 * eval_gpt_review.py's gen_prompt: the first reviewer of the question's category, else the first
 * reviewer of the file (the "general" one in the published reviewer.jsonl). `index` is the 1-based
 * position the original writes as the review's reviewer_id.
 */
export function reviewerFor(setup: VicunaReviewSetup, questionCategory: string): { reviewer: VicunaReviewer; prompt: VicunaReviewPrompt; index: number } {
  const found = setup.reviewers.findIndex((r) => r.category === questionCategory);
  const index = found >= 0 ? found : 0;
  const reviewer = setup.reviewers[index];
  if (!reviewer) throw new InvalidArgumentError("reviewers", "the reviewer file holds no reviewers");
  return { reviewer, prompt: setup.prompts.get(reviewer.promptId)!, index: index + 1 };
}
