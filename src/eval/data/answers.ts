import { readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import { readJsonl } from "./jsonl.js";

/** One model's answer to one question, all turns. */
export interface Answer {
  questionId: number | string;
  modelId: string;
  answerId?: string;
  turns: string[];
  /** The prompt format the answers were generated with, when the answer stage recorded it. */
  promptFormat?: string;
}

const questionIdSchema = z.union([z.number().int(), z.string().min(1)]);

/** FastChat llm_judge answer rows: {question_id, model_id, choices: [{index, turns}]} (+ our prompt_format). */
const choicesAnswerSchema = z.object({
  question_id: questionIdSchema,
  model_id: z.string().min(1),
  answer_id: z.string().optional(),
  choices: z.array(z.object({ index: z.number().int().optional(), turns: z.array(z.string()) })).min(1),
  prompt_format: z.object({ name: z.string() }).passthrough().optional(),
});

/** Vicuna blog answer rows: {question_id, model_id, answer_id, text}. */
const textAnswerSchema = z.object({
  question_id: questionIdSchema,
  model_id: z.string().min(1),
  answer_id: z.string().optional(),
  text: z.string(),
});

export const answerRowSchema = z.union([choicesAnswerSchema, textAnswerSchema]).transform(
  (row): Answer => ({
    questionId: row.question_id,
    modelId: row.model_id,
    ...(row.answer_id ? { answerId: row.answer_id } : {}),
    turns: "choices" in row ? row.choices[0].turns : [row.text],
    ...("prompt_format" in row && row.prompt_format ? { promptFormat: row.prompt_format.name } : {}),
  }),
);

/**
 * Answers of one file. The model name is the file's name (`answer_<model>.jsonl` or `<model>.jsonl`,
 * as FastChat names them), not the rows' model_id, which is often a version tag like "llama-13b:v1".
 */
export function loadAnswerFile(path: string): { model: string; answers: Map<string, Answer> } {
  const model = basename(path).replace(/\.jsonl$/, "").replace(/^answer_/, "");
  const answers = new Map<string, Answer>();
  for (const answer of readJsonl(path, answerRowSchema, { parameter: "answers" })) answers.set(String(answer.questionId), answer);
  return { model, answers };
}

/** Every `*.jsonl` answer file of a directory, keyed by model name. */
export function loadAnswerDirectory(directory: string): Map<string, Map<string, Answer>> {
  if (!statSync(directory, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidArgumentError("answers", `answer directory not found: ${directory}`);
  }
  const byModel = new Map<string, Map<string, Answer>>();
  for (const name of readdirSync(directory).filter((file) => file.endsWith(".jsonl")).sort()) {
    const { model, answers } = loadAnswerFile(join(directory, name));
    byModel.set(model, answers);
  }
  if (byModel.size === 0) throw new InvalidArgumentError("answers", `no .jsonl answer files in ${directory}`);
  return byModel;
}
