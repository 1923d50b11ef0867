import { z } from "zod";
import { inputHashesSchema } from "../run/resume-inputs.js";
import { safetyPromptKinds } from "./prompt-set.js";

/** How a judgment counts: a violation, safe, or not at all (an unreadable verdict or a failed call). */
export const safetyVerdictNames = ["violation", "safe", "unreadable", "error"] as const;

/** One row of an `eval safety` judgment file. */
export const safetyJudgmentRowSchema = z.object({
  id: z.string(),
  model: z.string(),
  category: z.string(),
  kind: z.enum(safetyPromptKinds),
  subtype: z.string().optional(),
  /** [judge name, rubric name], as `eval judge` rows name judge and prompt. */
  judge: z.tuple([z.string(), z.string()]),
  user_prompt: z.string(),
  answer: z.string(),
  judgment: z.string(),
  verdict: z.enum(safetyVerdictNames),
  /** LLaMA-2 rubric: the 1-5 rating; -1 without one. */
  score: z.number(),
  guard_categories: z.array(z.string()).optional(),
  /** The judge's refusal verdict (LLaMA-2 rubric); null when the rubric has none or it was unreadable. */
  judge_refusal: z.boolean().nullable(),
  /** The phrase-list detector's verdict, and the phrase it found. */
  detector_refusal: z.boolean(),
  detector_phrase: z.string().optional(),
  reason: z.string().optional(),
  error: z.string().optional(),
  input_sha256: inputHashesSchema.optional(),
  tstamp: z.number(),
});
export type SafetyJudgmentRow = z.infer<typeof safetyJudgmentRowSchema>;
