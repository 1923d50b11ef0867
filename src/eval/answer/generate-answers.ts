import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { ChatMessage } from "../../spec/messages.js";
import type { LanguageModel } from "../../spec/language-model.js";
import type { PromptFormatChoice } from "../../spec/prompt.js";
import { settleRequest } from "../../datagen/teacher/failures.js";
import { JsonlAppender, readJsonlIfExists } from "../data/jsonl.js";
import type { Question } from "../data/questions.js";
import { ChangedInputs, hashInputs, inputHashesSchema, type InputHashes, type ItemInputs } from "../run/resume-inputs.js";
import type { ProgressListener } from "../../progress/progress.js";
import { createProgressTracker } from "../../progress/progress.js";
import { runWithConcurrency } from "../run/worker-pool.js";
import { temperatureForCategory } from "./temperatures.js";

export interface AnswerRunOptions {
  model: LanguageModel;
  /** Name written as model_id and used for the file name by the CLI (default: the model's id). */
  modelName?: string;
  questions: Question[];
  outputPath: string;
  /** MT-bench: 1024. */
  maxTokens?: number;
  /** Overrides the per-category temperature for every question. */
  temperature?: number;
  /** Force a prompt format (registry name); default: the model's own choice, which is recorded. */
  promptFormat?: string;
  concurrency?: number;
  seed?: number;
  onProgress?: ProgressListener;
  now?: () => number;
}

export interface AnswerRunSummary {
  outputPath: string;
  total: number;
  resumed: number;
  written: number;
  /** Questions whose generation failed (no row written): the next run with the same output answers them. */
  failed: Array<{ questionId: number | string; error: string }>;
  /** The prompt format(s) the model used, as the model reported them. */
  promptFormats: PromptFormatChoice[];
  /** Turns that ended because of maxTokens (answers cut short). */
  truncatedTurns: number;
  warnings: string[];
}

/** An answer row: FastChat's llm_judge answer shape, plus the prompt format and finish reasons. */
export interface AnswerRow {
  question_id: number | string;
  answer_id: string;
  model_id: string;
  choices: Array<{ index: number; turns: string[] }>;
  prompt_format?: PromptFormatChoice;
  finish_reasons: string[];
  temperature: number;
  tstamp: number;
  /** SHA-256 of the question the answer was made from (ignored by FastChat; checked on resume). */
  input_sha256: InputHashes;
}

const existingAnswerSchema = z.object({ question_id: z.union([z.number(), z.string()]), input_sha256: inputHashesSchema.optional() }).passthrough();

/** What an answer depends on: the question's turns and its category (which picks the temperature). */
function answerInputs(question: Question): ItemInputs {
  return { question: { content: { category: question.category, turns: question.turns }, label: `question ${question.questionId} (--questions)` } };
}

/**
 * The answer stage (FastChat's gen_model_answer): every turn of every question, the conversation
 * carried across turns, MT-bench's per-category temperature, one row per question appended when done.
 * A rerun skips questions already answered from the same question text, and refuses to resume when
 * an answered question changed since. A question whose generation fails (after the provider's own
 * retries) is counted and left without a row, so the next run with the same output answers it; errors
 * no retry can mend (a bad key, an unknown model) stop the run.
 */
export async function generateAnswers(options: AnswerRunOptions): Promise<AnswerRunSummary> {
  const modelName = options.modelName ?? options.model.modelId;
  const now = options.now ?? (() => Date.now() / 1000);
  // FastChat reads the last row of a question id; so does the check.
  const existing = new Map(readJsonlIfExists(options.outputPath, existingAnswerSchema).map((row) => [String(row.question_id), row]));
  const changed = new ChangedInputs();
  for (const question of options.questions) changed.check(existing.get(String(question.questionId))?.input_sha256, answerInputs(question));
  changed.refuseIfAny("eval answer", options.outputPath);
  const done = new Set(existing.keys());
  const pending = options.questions.filter((q) => !done.has(String(q.questionId)));
  const resumed = options.questions.length - pending.length;
  const progress = createProgressTracker("answer", options.questions.length, resumed, options.onProgress);
  const appender = new JsonlAppender(options.outputPath);
  const formats = new Map<string, PromptFormatChoice>();
  const warnings = new Set<string>();
  const summary: AnswerRunSummary = { outputPath: options.outputPath, total: options.questions.length, resumed, written: 0, failed: [], promptFormats: [], truncatedTurns: 0, warnings: [] };

  // The stage has no cancel of its own; settleRequest only needs a signal to tell an abort from a failure.
  const signal = new AbortController().signal;
  await runWithConcurrency(pending, options.concurrency ?? 1, async (question) => {
    const settled = await settleRequest(() => answerQuestion(question), signal);
    if (!settled.ok) summary.failed.push({ questionId: question.questionId, error: settled.error });
    else {
      await appender.append(settled.value);
      summary.written++;
      summary.truncatedTurns += settled.value.finish_reasons.filter((reason) => reason === "length").length;
    }
    progress.itemDone();
  });
  await appender.flush();
  if (formats.size === 0 && options.model.describe) {
    // Only for the report: a model that cannot describe itself (a server without /v1/models) must not cost the summary.
    const description = await options.model.describe().catch((error: unknown) => {
      warnings.add(`the model could not report its prompt format: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
    if (description?.promptFormat) formats.set("described", { name: description.promptFormat.name, source: description.promptFormat.source as PromptFormatChoice["source"], reason: description.promptFormat.reason });
  }
  summary.promptFormats = [...formats.values()];
  summary.warnings = [...warnings];
  return summary;

  async function answerQuestion(question: Question): Promise<AnswerRow> {
    const temperature = temperatureForCategory(question.category, options.temperature);
    const messages: ChatMessage[] = [];
    const turns: string[] = [];
    const finishReasons: string[] = [];
    let format: PromptFormatChoice | undefined;
    for (const turn of question.turns) {
      messages.push({ role: "user", content: turn });
      const result = await options.model.doGenerate({
        messages: [...messages],
        temperature,
        maxTokens: options.maxTokens ?? 1024,
        ...(options.promptFormat ? { promptFormat: options.promptFormat } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
      });
      const choice = result.choices[0];
      // A turn that ended in an error is no answer: the question fails and the next run asks again.
      if (!choice) throw new Error(`the model returned no choices for turn ${turns.length + 1}`);
      if (choice.finishReason === "error" || choice.finishReason === "abort") throw new Error(`turn ${turns.length + 1} ended with finish reason "${choice.finishReason}"`);
      const text = choice.text.trim();
      for (const warning of result.warnings) warnings.add(warning.message);
      format ??= result.prompt?.format;
      finishReasons.push(choice.finishReason);
      turns.push(text);
      messages.push({ role: "assistant", content: text });
    }
    if (format) formats.set(`${format.name}|${format.source}`, format);
    const row: AnswerRow = {
      question_id: question.questionId,
      answer_id: randomUUID(),
      model_id: modelName,
      choices: [{ index: 0, turns }],
      ...(format ? { prompt_format: format } : {}),
      finish_reasons: finishReasons,
      temperature,
      tstamp: now(),
      input_sha256: hashInputs(answerInputs(question)),
    };
    return row;
  }
}
