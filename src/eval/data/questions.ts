import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { readJsonl } from "./jsonl.js";

/** A question as every stage sees it: MT-bench has two turns, Vicuna-80 one. */
export interface Question {
  questionId: number | string;
  category: string;
  turns: string[];
  /** Reference answers carried in the question file itself (some MT-bench variants do this). */
  reference?: string[];
}

const questionIdSchema = z.union([z.number().int(), z.string().min(1)]);

/** FastChat llm_judge shape: {question_id, category, turns[], reference?}. */
const turnsQuestionSchema = z.object({
  question_id: questionIdSchema,
  category: z.string().default("general"),
  turns: z.array(z.string()).min(1),
  reference: z.array(z.string()).optional(),
});

/** The Vicuna blog shape: {question_id, text, category}. */
const textQuestionSchema = z.object({
  question_id: questionIdSchema,
  category: z.string().default("general"),
  text: z.string(),
});

const questionRowSchema = z.union([turnsQuestionSchema, textQuestionSchema]).transform(
  (row): Question => ({
    questionId: row.question_id,
    category: row.category,
    turns: "turns" in row ? row.turns : [row.text],
    ...("reference" in row && row.reference ? { reference: row.reference } : {}),
  }),
);

export function loadQuestions(path: string): Question[] {
  const questions = readJsonl(path, questionRowSchema, { parameter: "questions" });
  const seen = new Set<string>();
  for (const question of questions) {
    const key = String(question.questionId);
    if (seen.has(key)) throw new InvalidArgumentError("questions", `${path}: duplicate question_id ${key}`);
    seen.add(key);
  }
  return questions;
}
