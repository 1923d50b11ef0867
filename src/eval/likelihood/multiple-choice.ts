import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";
import type { LanguageModel } from "../../spec/language-model.js";
import { pythonCapitalize, pythonStrip } from "../../text/python-compat.js";
import { readJsonl } from "../data/jsonl.js";
import { scoreItems, type BenchmarkOptions } from "./score-items.js";

export interface MultipleChoiceItem {
  id: string;
  /** The prompt exactly as the model sees it (the harness's description + doc_to_text). */
  context: string;
  /** The choices as the harness's doc_to_choice gives them: scored as " " + choice, normalised by their length. */
  choices: string[];
  /** Index of the correct choice. */
  answer: number;
  /** Which prompt layout built the context (reported, so figures are read against the right task); absent: "as given". */
  layout?: MultipleChoiceLayoutName;
}

/**
 * `harness` (default): each row type laid out as lm-evaluation-harness's task for it (hellaswag, arc,
 * mmlu with lettered choices); `continuation`: MMLU rows as the harness's mmlu_continuation task
 * (the answer text is scored instead of its letter). Rows in our own {context, choices} shape are used as given.
 */
export const multipleChoiceLayouts = ["harness", "continuation"] as const;
export type MultipleChoiceLayout = (typeof multipleChoiceLayouts)[number];
export const isMultipleChoiceLayout = (value: string): value is MultipleChoiceLayout => (multipleChoiceLayouts as readonly string[]).includes(value);

export type MultipleChoiceLayoutName = "hellaswag" | "hellaswag (ctx only)" | "arc" | "mmlu" | "mmlu_continuation" | "as given";

const letterIndex = (value: string, labels?: string[]) => {
  const position = labels ? labels.indexOf(value) : -1;
  if (position >= 0) return position;
  if (/^[A-Z]$/.test(value)) return value.charCodeAt(0) - 65;
  if (/^\d+$/.test(value)) return Number(value);
  return -1;
};

const idSchema = z.union([z.string(), z.number()]).optional();
const labelSchema = z.union([z.number().int(), z.string()]);

/** Accepted row shapes: our own, HellaSwag (HF: activity_label, ctx_a, ctx_b; or ctx only), ARC, MMLU (subject optional). */
const rowSchema = z.union([
  z.object({ id: idSchema, context: z.string(), choices: z.array(z.string()).min(2), answer: labelSchema }),
  z.object({
    ind: idSchema,
    activity_label: z.string().optional(),
    ctx_a: z.string().optional(),
    ctx_b: z.string().optional(),
    ctx: z.string().optional(),
    endings: z.array(z.string()).min(2),
    label: labelSchema,
  }),
  z.object({ id: idSchema, question: z.string(), choices: z.object({ text: z.array(z.string()).min(2), label: z.array(z.string()) }), answerKey: z.string() }),
  z.object({ id: idSchema, question: z.string(), subject: z.string().optional(), choices: z.array(z.string()).min(2), answer: labelSchema }),
]);
type Row = z.infer<typeof rowSchema>;

/** lm-evaluation-harness's hellaswag `preprocess`: WikiHow bracket artifacts removed. */
export function hellaswagPreprocess(text: string): string {
  let result = pythonStrip(text);
  result = result.split(" [title]").join(". ");
  result = result.replace(/\[.*?\]/g, "");
  return result.split("  ").join(" ");
}

const MMLU_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** The harness's per-subject description ("abstract_algebra" → "about abstract algebra."). */
function mmluDescription(subject: string | undefined, continuation: boolean): string {
  if (!subject) return "";
  const topic = subject.split("_").join(" ");
  return continuation ? `The following are questions (with answers) about ${topic}.\n\n` : `The following are multiple choice questions (with answers) about ${topic}.\n\n`;
}

const answerOf = (value: number | string) => (typeof value === "number" ? value : letterIndex(value));

function layoutRow(row: Row, index: number, layout: MultipleChoiceLayout, path: string): MultipleChoiceItem {
  if ("endings" in row) {
    const id = String(row.ind ?? index);
    const answer = answerOf(row.label);
    if (row.activity_label !== undefined && row.ctx_a !== undefined && row.ctx_b !== undefined) {
      // lm_eval/tasks/hellaswag/utils.py process_docs
      const context = hellaswagPreprocess(`${row.activity_label}: ${row.ctx_a} ${pythonCapitalize(row.ctx_b)}`);
      return { id, context, choices: row.endings.map(hellaswagPreprocess), answer, layout: "hellaswag" };
    }
    if (row.ctx === undefined) throw new InvalidArgumentError("benchmark", `${path}:${index + 1}: a HellaSwag row needs activity_label, ctx_a and ctx_b (or ctx)`);
    // Without activity_label the harness's query cannot be built: the context is used as given.
    return { id, context: row.ctx, choices: row.endings, answer, layout: "hellaswag (ctx only)" };
  }
  if ("answerKey" in row) {
    return { id: String(row.id ?? index), context: `Question: ${row.question}\nAnswer:`, choices: row.choices.text, answer: letterIndex(row.answerKey, row.choices.label), layout: "arc" };
  }
  if ("question" in row) {
    const id = String(row.id ?? index);
    const answer = answerOf(row.answer);
    if (layout === "continuation") {
      return { id, context: `${mmluDescription(row.subject, true)}Question: ${pythonStrip(row.question)}\nAnswer:`, choices: row.choices, answer, layout: "mmlu_continuation" };
    }
    if (row.choices.length > MMLU_LETTERS.length) throw new InvalidArgumentError("benchmark", `${path}:${index + 1}: more choices than letters`);
    const letters = row.choices.map((_, i) => MMLU_LETTERS[i]);
    const listed = row.choices.map((choice, i) => `\n${letters[i]}. ${choice}`).join("");
    return { id, context: `${mmluDescription(row.subject, false)}${pythonStrip(row.question)}${listed}\nAnswer:`, choices: letters, answer, layout: "mmlu" };
  }
  return { id: String(row.id ?? index), context: row.context, choices: row.choices, answer: answerOf(row.answer), layout: "as given" };
}

export function loadMultipleChoiceItems(path: string, options: { layout?: MultipleChoiceLayout } = {}): MultipleChoiceItem[] {
  const layout = options.layout ?? "harness";
  return readJsonl(path, rowSchema, { parameter: "benchmark" }).map((row, index): MultipleChoiceItem => {
    const item = layoutRow(row, index, layout, path);
    if (!Number.isInteger(item.answer) || item.answer < 0 || item.answer >= item.choices.length) {
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
  /** Items per prompt layout. */
  layouts: Partial<Record<MultipleChoiceLayoutName, number>>;
  method: string;
}

/**
 * Log-likelihood multiple choice as lm-evaluation-harness scores it: each choice is a continuation of
 * the context after its target delimiter, a single space; the prediction is the most likely choice
 * (acc) and the most likely per character of the choice itself (acc_norm: `lls / len(choice)`, the
 * delimiter not counted, characters as Python counts them, i.e. code points).
 */
export async function evaluateMultipleChoice(model: LanguageModel, items: MultipleChoiceItem[], options: BenchmarkOptions = {}): Promise<MultipleChoiceResult> {
  const selected = options.limit !== undefined ? items.slice(0, options.limit) : items;
  const perItem = await scoreItems(model, selected, options, { name: "multiple-choice evaluation", stage: "multiple-choice" }, async (item, logLikelihoods): Promise<MultipleChoiceItemResult> => {
    const logprobs = await logLikelihoods(item.choices.map((choice) => ({ context: item.context, continuation: ` ${choice}` })));
    const normalized = logprobs.map((logprob, i) => logprob / [...item.choices[i]].length);
    return { id: item.id, answer: item.answer, predicted: argmax(logprobs), predictedNormalized: argmax(normalized), logprobs };
  });
  const layouts: MultipleChoiceResult["layouts"] = {};
  for (const item of selected) layouts[item.layout ?? "as given"] = (layouts[item.layout ?? "as given"] ?? 0) + 1;
  return {
    items: perItem.length,
    accuracy: perItem.filter((r) => r.predicted === r.answer).length / perItem.length,
    normalizedAccuracy: perItem.filter((r) => r.predictedNormalized === r.answer).length / perItem.length,
    perItem,
    layouts,
    method:
      'lm-evaluation-harness multiple_choice: log-likelihood of " " + choice given the context; acc = argmax of the sums, ' +
      "acc_norm = argmax of sum / len(choice) in characters (the space not counted)",
  };
}

/** First index of the largest value (ties go to the earlier choice, as numpy's argmax). */
export function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
