import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import type { LanguageModel } from "../../spec/language-model.js";
import { readJsonl } from "../data/jsonl.js";
import type { ProgressListener } from "../run/progress.js";
import { createProgressTracker } from "../run/progress.js";
import { requireCapabilities } from "./require-capability.js";

export interface MultipleChoiceItem {
  id: string;
  context: string;
  choices: string[];
  /** Index of the correct choice. */
  answer: number;
}

const letterIndex = (value: string, labels?: string[]) => {
  const position = labels ? labels.indexOf(value) : -1;
  if (position >= 0) return position;
  if (/^[A-Z]$/.test(value)) return value.charCodeAt(0) - 65;
  if (/^\d+$/.test(value)) return Number(value);
  return -1;
};

/** Accepted row shapes: our own, HellaSwag ({ctx, endings, label}), ARC ({question, choices:{text,label}, answerKey}), MMLU ({question, choices, answer}). */
const rowSchema = z.union([
  z.object({ id: z.union([z.string(), z.number()]).optional(), context: z.string(), choices: z.array(z.string()).min(2), answer: z.union([z.number().int(), z.string()]) }),
  z.object({ ind: z.union([z.string(), z.number()]).optional(), ctx: z.string(), endings: z.array(z.string()).min(2), label: z.union([z.number().int(), z.string()]) }),
  z.object({ id: z.union([z.string(), z.number()]).optional(), question: z.string(), choices: z.object({ text: z.array(z.string()).min(2), label: z.array(z.string()) }), answerKey: z.string() }),
  z.object({ id: z.union([z.string(), z.number()]).optional(), question: z.string(), choices: z.array(z.string()).min(2), answer: z.union([z.number().int(), z.string()]) }),
]);

export function loadMultipleChoiceItems(path: string): MultipleChoiceItem[] {
  return readJsonl(path, rowSchema, { parameter: "benchmark" }).map((row, index): MultipleChoiceItem => {
    let item: MultipleChoiceItem;
    if ("ctx" in row) item = { id: String(row.ind ?? index), context: row.ctx, choices: row.endings, answer: typeof row.label === "number" ? row.label : letterIndex(row.label) };
    else if ("answerKey" in row) item = { id: String(row.id ?? index), context: `Question: ${row.question}\nAnswer:`, choices: row.choices.text, answer: letterIndex(row.answerKey, row.choices.label) };
    else if ("question" in row) item = { id: String(row.id ?? index), context: `Question: ${row.question}\nAnswer:`, choices: row.choices, answer: typeof row.answer === "number" ? row.answer : letterIndex(row.answer) };
    else item = { id: String(row.id ?? index), context: row.context, choices: row.choices, answer: typeof row.answer === "number" ? row.answer : letterIndex(row.answer) };
    if (item.answer < 0 || item.answer >= item.choices.length) {
      throw new InvalidArgumentError("benchmark", `${path}:${index + 1}: the answer does not name one of the ${item.choices.length} choices`);
    }
    return item;
  });
}

export interface MultipleChoiceItemResult {
  id: string;
  answer: number;
  predicted: number;
  predictedNormalized: number;
  logprobs: number[];
}

export interface MultipleChoiceResult {
  items: number;
  /** argmax of the choices' summed log-probabilities. */
  accuracy: number;
  /** argmax of log-probability per character of the choice (lm-evaluation-harness acc_norm). */
  normalizedAccuracy: number;
  perItem: MultipleChoiceItemResult[];
  method: string;
}

/**
 * Log-likelihood multiple choice as lm-evaluation-harness scores it: each choice is a continuation of
 * the context after a single space; the prediction is the most likely choice (accuracy) and the most
 * likely per character (normalized accuracy, which removes the bias towards short choices).
 */
export async function evaluateMultipleChoice(
  model: LanguageModel,
  items: MultipleChoiceItem[],
  options: { abortSignal?: AbortSignal; onProgress?: ProgressListener; limit?: number } = {},
): Promise<MultipleChoiceResult> {
  const capable = requireCapabilities(model, ["logLikelihood"], "multiple-choice evaluation");
  const selected = options.limit !== undefined ? items.slice(0, options.limit) : items;
  if (selected.length === 0) throw new InvalidArgumentError("benchmark", "the benchmark has no items");
  const progress = createProgressTracker("multiple-choice", selected.length, 0, options.onProgress);
  const perItem: MultipleChoiceItemResult[] = [];
  for (const item of selected) {
    const continuations = item.choices.map((choice) => ` ${choice}`);
    const results = await capable.logLikelihood(
      continuations.map((continuation) => ({ context: item.context, continuation })),
      options.abortSignal ? { abortSignal: options.abortSignal } : undefined,
    );
    const logprobs = results.map((r) => r.logprob);
    const normalized = logprobs.map((logprob, i) => logprob / Math.max(1, continuations[i].length));
    perItem.push({ id: item.id, answer: item.answer, predicted: argmax(logprobs), predictedNormalized: argmax(normalized), logprobs });
    progress.itemDone();
  }
  return {
    items: perItem.length,
    accuracy: perItem.filter((r) => r.predicted === r.answer).length / perItem.length,
    normalizedAccuracy: perItem.filter((r) => r.predictedNormalized === r.answer).length / perItem.length,
    perItem,
    method: 'log-likelihood of " " + choice given the context; acc = argmax sum, acc_norm = argmax sum / characters',
  };
}

/** First index of the largest value (ties go to the earlier choice, as numpy's argmax). */
function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
