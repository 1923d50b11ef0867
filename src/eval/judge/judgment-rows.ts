import { z } from "zod";
import { inputHashesSchema } from "../run/resume-inputs.js";

const questionIdSchema = z.union([z.number().int(), z.string().min(1)]);

/** A single-answer grading row, FastChat's `model_judgment/<judge>_single.jsonl` plus repeat/parse info. */
export const singleJudgmentRowSchema = z.object({
  question_id: questionIdSchema,
  model: z.string(),
  judge: z.tuple([z.string(), z.string()]),
  user_prompt: z.string(),
  judgment: z.string(),
  /** -1 when no score was found (FastChat's convention); such rows are excluded and counted. */
  score: z.number(),
  turn: z.number().int().min(1),
  repeat: z.number().int().min(0).default(0),
  category: z.string().optional(),
  no_score_reason: z.string().optional(),
  error: z.string().optional(),
  tstamp: z.number().optional(),
  /** SHA-256 of the inputs the row was made from (ignored by FastChat; checked on resume). */
  input_sha256: inputHashesSchema.optional(),
});
export type SingleJudgmentRow = z.infer<typeof singleJudgmentRowSchema>;

const modelWinnerSchema = z.enum(["model_1", "model_2", "tie", "error"]);

/** A pairwise row: game 1 shows model_1 as A, game 2 shows model_2 as A; winners named by model. */
export const pairwiseJudgmentRowSchema = z.object({
  question_id: questionIdSchema,
  model_1: z.string(),
  model_2: z.string(),
  g1_winner: modelWinnerSchema,
  g2_winner: modelWinnerSchema,
  judge: z.tuple([z.string(), z.string()]),
  g1_user_prompt: z.string(),
  g1_judgment: z.string(),
  g2_user_prompt: z.string(),
  g2_judgment: z.string(),
  turn: z.number().int().min(1),
  repeat: z.number().int().min(0).default(0),
  category: z.string().optional(),
  /** Characters of each model's judged answer (for the longer-answer diagnostic). */
  answer_1_length: z.number().int().optional(),
  answer_2_length: z.number().int().optional(),
  /** The grades of A and B in each game, for judges with the `[[rating_a,rating_b]]` output format. */
  g1_ratings: z.tuple([z.number(), z.number()]).optional(),
  g2_ratings: z.tuple([z.number(), z.number()]).optional(),
  /** Pairwise rows derived from single grades (FastChat's pairwise-from-single): each model's grade. */
  m1_score: z.number().optional(),
  m2_score: z.number().optional(),
  g1_error_reason: z.string().optional(),
  g2_error_reason: z.string().optional(),
  tstamp: z.number().optional(),
  /** SHA-256 of the inputs the row was made from (ignored by FastChat; checked on resume). */
  input_sha256: inputHashesSchema.optional(),
});
export type PairwiseJudgmentRow = z.infer<typeof pairwiseJudgmentRowSchema>;

/**
 * A review in the original Vicuna format (FastChat's `review_<m1>_<m2>.jsonl`): `text` reviews
 * model_1 as Assistant 1, `swapped_text` (our addition) the same pair in the other order.
 */
export const vicunaReviewRowSchema = z.object({
  review_id: z.string().optional(),
  question_id: questionIdSchema,
  answer1_id: z.string().optional(),
  answer2_id: z.string().optional(),
  model_1: z.string().optional(),
  model_2: z.string().optional(),
  reviewer_id: z.union([z.number(), z.string()]).optional(),
  judge: z.tuple([z.string(), z.string()]).optional(),
  category: z.string().optional(),
  text: z.string(),
  score: z.tuple([z.number(), z.number()]).optional(),
  swapped_text: z.string().optional(),
  swapped_score: z.tuple([z.number(), z.number()]).optional(),
  repeat: z.number().int().min(0).default(0),
  metadata: z.record(z.string(), z.unknown()).optional(),
  input_sha256: inputHashesSchema.optional(),
});
export type VicunaReviewRow = z.infer<typeof vicunaReviewRowSchema>;
