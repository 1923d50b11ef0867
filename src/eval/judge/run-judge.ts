import { z } from "zod";
import { ConfigError, InvalidArgumentError } from "../../errors/index.js";
import type { LanguageModel } from "../../spec/language-model.js";
import type { Answer } from "../data/answers.js";
import type { JudgePrompt, PairwiseOutputFormat } from "../data/judge-prompts.js";
import { referenceCategories, selectJudgePrompt } from "../data/judge-prompts.js";
import { JsonlAppender, readJsonlIfExists } from "../data/jsonl.js";
import type { Question } from "../data/questions.js";
import type { VicunaReviewSetup } from "../data/vicuna-review-prompts.js";
import { reviewerFor } from "../data/vicuna-review-prompts.js";
import type { JudgeCallOptions } from "../run/judge-call.js";
import { callJudge } from "../run/judge-call.js";
import type { ProgressListener } from "../../progress/progress.js";
import { createProgressTracker } from "../../progress/progress.js";
import { ChangedInputs, hashInputs, inputHashesSchema, type ItemInput, type ItemInputs } from "../run/resume-inputs.js";
import { runWithConcurrency } from "../run/worker-pool.js";
import { parsePairwiseJudgment, type PositionVerdict } from "../verdicts/pairwise-verdict.js";
import { JUDGE_ERROR_OUTPUT, parseSingleRating, type VerdictRules } from "../verdicts/single-rating.js";
import { parseVicunaScores } from "../verdicts/vicuna-scores.js";
import { pairwiseMessages, singleGradingMessages, vicunaReviewMessages } from "./judge-messages.js";
import type { PairwiseJudgmentRow, SingleJudgmentRow, VicunaReviewRow } from "./judgment-rows.js";

export type JudgeMode =
  | { kind: "single" }
  | { kind: "pairwise-baseline"; baseline: string }
  | { kind: "pairwise-all" }
  /**
   * The original Vicuna review format, pairs against a baseline (or all pairs without one). One order,
   * answer 1 = the first model, as eval_gpt_review.py; `bothOrders` (our extension) also reviews the
   * swapped order into `swapped_text`.
   */
  | { kind: "vicuna-review"; setup: VicunaReviewSetup; baseline?: string; bothOrders?: boolean };

export interface JudgeRunOptions {
  judge: LanguageModel;
  /** Name recorded in the rows (default: the judge's modelId). */
  judgeName?: string;
  questions: Question[];
  /** model → question id → answer. */
  answers: Map<string, Map<string, Answer>>;
  mode: JudgeMode;
  /** MT-bench judge prompts; required for single and pairwise modes. */
  judgePrompts?: Map<string, JudgePrompt>;
  /** question id → reference answer for math/reasoning/coding (FastChat's reference_answer/gpt-4.jsonl). */
  references?: Map<string, Answer>;
  /**
   * Where math/reasoning/coding references come from. FastChat always takes them from the reference
   * answer file; "question-file" (our extension) uses the short human `reference` inside question.jsonl.
   */
  referenceSource?: ReferenceSource;
  /** How verdicts are read: FastChat's rules (default) or our stricter ones (--strict-verdicts). */
  verdictRules?: VerdictRules;
  outputPath: string;
  /** Judge every item K times (judges vary between runs even at temperature 0). */
  repeat?: number;
  concurrency?: number;
  call?: JudgeCallOptions;
  onProgress?: ProgressListener;
  now?: () => number;
}

export type ReferenceSource = "reference-file" | "question-file";

/** eval_gpt_review.py's `--max-tokens` default for the Vicuna reviewer. */
export const VICUNA_REVIEW_MAX_TOKENS = 1024;
/** eval_gpt_review.py samples the Vicuna reviewer at 0.2 (llm_judge judges at 0). */
export const VICUNA_REVIEW_TEMPERATURE = 0.2;
/** FastChat's llm_judge asks GPT-4 judges for at most 2048 tokens. */
export const LLM_JUDGE_MAX_TOKENS = 2048;

export interface JudgeRunSummary {
  outputPath: string;
  /** The judge's token limit and whether it is the original's default or the user's. */
  maxTokens: { value: number; source: "default" | "user" };
  temperature: { value: number; source: "default" | "user" };
  referenceSource: ReferenceSource;
  verdictRules: VerdictRules;
  /** Judge items (rows) in the plan. */
  total: number;
  /** Already in the output file from an earlier run. */
  resumed: number;
  written: number;
  /** Judge calls made by this run, and those that failed after all retries ($ERROR$; the next run retries their rows). */
  judgeCalls: number;
  judgeErrors: number;
  /** Rows whose judgment held no readable verdict or score. */
  noVerdict: number;
  /** (model, question) pairs skipped because the answer file lacks them. */
  missingAnswers: string[];
}

interface JudgeTask {
  key: string;
  /** What the judgment is made from; their hashes go into the row and are checked on resume. */
  inputs: ItemInputs;
  execute(): Promise<{ row: SingleJudgmentRow | PairwiseJudgmentRow | VicunaReviewRow; judgeCalls: number; judgeErrors: number; noVerdict: boolean }>;
}

/** Enough of any row to know which item it is; the row's own schema is checked when it is read for a report. */
const keyFieldsSchema = z
  .object({
    question_id: z.union([z.number(), z.string()]),
    model: z.string().optional(),
    model_1: z.string().optional(),
    model_2: z.string().optional(),
    turn: z.number().optional(),
    repeat: z.number().optional(),
    judge: z.tuple([z.string(), z.string()]).optional(),
    judgment: z.string().optional(),
    g1_judgment: z.string().optional(),
    g2_judgment: z.string().optional(),
    text: z.string().optional(),
    swapped_text: z.string().optional(),
    input_sha256: inputHashesSchema.optional(),
  })
  .passthrough();
type ExistingRow = z.infer<typeof keyFieldsSchema>;

function rowKey(row: ExistingRow): string {
  const models = row.model !== undefined ? row.model : `${row.model_1}|${row.model_2}`;
  return `${row.judge?.[0] ?? ""}|${models}|${row.question_id}|${row.turn ?? 1}|${row.repeat ?? 0}`;
}

function rowHasJudgeError(row: ExistingRow): boolean {
  return [row.judgment, row.g1_judgment, row.g2_judgment, row.text, row.swapped_text].some((text) => text === JUDGE_ERROR_OUTPUT);
}

function modelPairs(models: string[], mode: JudgeMode): Array<[string, string]> {
  const baseline = mode.kind === "pairwise-baseline" ? mode.baseline : mode.kind === "vicuna-review" ? mode.baseline : undefined;
  if (baseline !== undefined) {
    if (!models.includes(baseline)) throw new InvalidArgumentError("baseline", `baseline model "${baseline}" has no answers (have: ${models.join(", ")})`);
    return models.filter((model) => model !== baseline).map((model) => [model, baseline]);
  }
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < models.length; i++) for (let j = i + 1; j < models.length; j++) pairs.push([models[i], models[j]]);
  return pairs;
}

/**
 * The judge stage (FastChat's gen_judgment): one JSONL row per judged item, appended as soon as it is
 * done. A rerun skips the items already in the file, except $ERROR$ rows, which it tries again (the
 * report reads the last row of each item); it refuses to resume when a finished item's inputs (question,
 * answers, reference, judge prompt) changed since its row was written. Pairwise items are always judged
 * in both orders; Vicuna reviews in one order unless `bothOrders`.
 */
export async function runJudge(options: JudgeRunOptions): Promise<JudgeRunSummary> {
  const judgeName = options.judgeName ?? options.judge.modelId;
  const repeat = options.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1) throw new InvalidArgumentError("repeat", `--repeat must be a positive integer, got ${repeat}`);
  const now = options.now ?? (() => Date.now() / 1000);
  const models = [...options.answers.keys()];
  const missingAnswers: string[] = [];
  const tasks: JudgeTask[] = [];
  const userMaxTokens = options.call?.maxTokens;
  const defaultMaxTokens = options.mode.kind === "vicuna-review" ? VICUNA_REVIEW_MAX_TOKENS : LLM_JUDGE_MAX_TOKENS;
  const userTemperature = options.call?.temperature;
  const defaultTemperature = options.mode.kind === "vicuna-review" ? VICUNA_REVIEW_TEMPERATURE : 0;
  const call: JudgeCallOptions = { ...options.call, temperature: userTemperature ?? defaultTemperature, maxTokens: userMaxTokens ?? defaultMaxTokens };
  const referenceSource = options.referenceSource ?? "reference-file";
  const verdictRules = options.verdictRules ?? "fastchat";

  const answerOf = (model: string, question: Question): Answer | undefined => {
    const answer = options.answers.get(model)?.get(String(question.questionId));
    if (!answer) missingAnswers.push(`${model}:${question.questionId}`);
    return answer;
  };
  const referenceOf = (question: Question): string[] | undefined => {
    if (options.mode.kind === "vicuna-review" || !referenceCategories.has(question.category)) return undefined;
    if (referenceSource === "question-file") {
      if (!question.reference) throw new InvalidArgumentError("reference", `question ${question.questionId} (${question.category}) has no "reference" field in the question file (--question-references)`);
      return question.reference;
    }
    const reference = options.references?.get(String(question.questionId))?.turns;
    if (!reference) {
      throw new InvalidArgumentError("reference", `question ${question.questionId} (${question.category}) is graded against a reference answer, but ${options.references ? "the reference file has none for it" : "no reference file was given"} (--reference)`);
    }
    return reference;
  };
  const promptsFor = (kind: "single" | "pairwise", question: Question, turn: number) => {
    if (!options.judgePrompts) throw new InvalidArgumentError("judge prompts", "judge prompts are required for single and pairwise judging");
    return selectJudgePrompt(options.judgePrompts, kind, question.category, turn > 1);
  };
  // What each judgment is made from, named as the user knows it (for the message when one changed).
  const questionInput = (question: Question): ItemInput => ({ content: { category: question.category, turns: question.turns }, label: `question ${question.questionId} (--questions)` });
  const answerInput = (model: string, question: Question, answer: Answer): ItemInput => ({ content: answer.turns, label: `the answer of ${model} to question ${question.questionId} (--answers)` });
  const judgePromptInput = (prompt: JudgePrompt): ItemInput => ({ content: prompt, label: `judge prompt "${prompt.name}" (--judge-prompts)` });
  const referenceInputs = (question: Question, reference: string[] | undefined): ItemInputs =>
    reference === undefined
      ? {}
      : {
          reference: {
            content: reference,
            label: referenceSource === "question-file" ? `the "reference" of question ${question.questionId} (--question-references)` : `the reference answer to question ${question.questionId} (--reference)`,
          },
        };

  for (const question of options.questions) {
    const reference = referenceOf(question);
    // FastChat grades turn 1, and turn 2 with the multi-turn prompt only for two-turn questions.
    const turns = options.mode.kind !== "vicuna-review" && question.turns.length === 2 ? 2 : 1;
    for (let turn = 1; turn <= turns; turn++) {
      for (let round = 0; round < repeat; round++) {
        if (options.mode.kind === "single") {
          const prompt = promptsFor("single", question, turn);
          for (const model of models) {
            const answer = answerOf(model, question);
            if (!answer) continue;
            tasks.push({
              key: `${judgeName}|${model}|${question.questionId}|${turn}|${round}`,
              inputs: { question: questionInput(question), answer: answerInput(model, question, answer), judge_prompt: judgePromptInput(prompt), ...referenceInputs(question, reference) },
              execute: async () => {
                const { messages, userPrompt } = singleGradingMessages(prompt, question, answer, turn, reference);
                const result = await callJudge(options.judge, messages, call);
                const parsed = parseSingleRating(result.text, verdictRules);
                const row: SingleJudgmentRow = {
                  question_id: question.questionId,
                  model,
                  judge: [judgeName, prompt.name],
                  user_prompt: userPrompt,
                  judgment: result.text,
                  score: parsed.kind === "score" ? parsed.score : -1,
                  turn,
                  repeat: round,
                  category: question.category,
                  ...(parsed.kind !== "score" ? { no_score_reason: parsed.reason } : {}),
                  ...(result.error ? { error: result.error } : {}),
                  tstamp: now(),
                };
                return { row, judgeCalls: 1, judgeErrors: result.error !== undefined ? 1 : 0, noVerdict: parsed.kind !== "score" };
              },
            });
          }
        } else {
          const mode = options.mode;
          for (const [model1, model2] of modelPairs(models, mode)) {
            const answer1 = answerOf(model1, question);
            const answer2 = answerOf(model2, question);
            if (!answer1 || !answer2) continue;
            const key = `${judgeName}|${model1}|${model2}|${question.questionId}|${turn}|${round}`;
            const answerInputs = { answer_1: answerInput(model1, question, answer1), answer_2: answerInput(model2, question, answer2) };
            if (mode.kind === "vicuna-review") {
              const reviewer = reviewerFor(mode.setup, question.category);
              const reviewPrompt: ItemInput = {
                content: { prompt: reviewer.prompt, reviewer: reviewer.reviewer },
                label: `review prompt ${reviewer.prompt.promptId} of reviewer ${reviewer.reviewer.reviewerId} (--review-prompts, --reviewers)`,
              };
              tasks.push({
                key,
                inputs: { question: questionInput(question), ...answerInputs, review_prompt: reviewPrompt },
                execute: () => reviewVicunaPair(options, reviewer, mode.bothOrders === true, judgeName, question, model1, model2, answer1, answer2, round, call),
              });
              continue;
            }
            const prompt = promptsFor("pairwise", question, turn);
            tasks.push({
              key,
              inputs: { question: questionInput(question), ...answerInputs, judge_prompt: judgePromptInput(prompt), ...referenceInputs(question, reference) },
              execute: async () => {
                const game1 = pairwiseMessages(prompt, question, answer1, answer2, turn, reference);
                const game2 = pairwiseMessages(prompt, question, answer2, answer1, turn, reference);
                const [result1, result2] = await Promise.all([callJudge(options.judge, game1.messages, call), callJudge(options.judge, game2.messages, call)]);
                const outputFormat = prompt.outputFormat as PairwiseOutputFormat;
                const verdict1 = parsePairwiseJudgment(result1.text, outputFormat, verdictRules);
                const verdict2 = parsePairwiseJudgment(result2.text, outputFormat, verdictRules);
                const row: PairwiseJudgmentRow = {
                  question_id: question.questionId,
                  model_1: model1,
                  model_2: model2,
                  g1_winner: positionToModel(verdict1.verdict, "game1"),
                  g2_winner: positionToModel(verdict2.verdict, "game2"),
                  judge: [judgeName, prompt.name],
                  g1_user_prompt: game1.userPrompt,
                  g1_judgment: result1.text,
                  g2_user_prompt: game2.userPrompt,
                  g2_judgment: result2.text,
                  turn,
                  repeat: round,
                  category: question.category,
                  answer_1_length: judgedLength(answer1, turn),
                  answer_2_length: judgedLength(answer2, turn),
                  ...(verdict1.ratings ? { g1_ratings: verdict1.ratings } : {}),
                  ...(verdict2.ratings ? { g2_ratings: verdict2.ratings } : {}),
                  ...(verdict1.reason ? { g1_error_reason: result1.error ?? verdict1.reason } : {}),
                  ...(verdict2.reason ? { g2_error_reason: result2.error ?? verdict2.reason } : {}),
                  tstamp: now(),
                };
                const judgeErrors = (result1.error !== undefined ? 1 : 0) + (result2.error !== undefined ? 1 : 0);
                return { row, judgeCalls: 2, judgeErrors, noVerdict: verdict1.verdict === "error" || verdict2.verdict === "error" };
              },
            });
          }
        }
      }
    }
  }

  const pending = pendingTasks(tasks, options.outputPath, options.mode);
  const resumed = tasks.length - pending.length;
  const progress = createProgressTracker("judge", tasks.length, resumed, options.onProgress);
  const appender = new JsonlAppender(options.outputPath);
  const summary: JudgeRunSummary = {
    outputPath: options.outputPath,
    maxTokens: { value: call.maxTokens!, source: userMaxTokens !== undefined ? "user" : "default" },
    temperature: { value: call.temperature!, source: userTemperature !== undefined ? "user" : "default" },
    referenceSource,
    verdictRules,
    total: tasks.length, resumed, written: 0, judgeCalls: 0, judgeErrors: 0, noVerdict: 0, missingAnswers };
  await runWithConcurrency(pending, options.concurrency ?? 1, async (task) => {
    const { row, judgeCalls, judgeErrors, noVerdict } = await task.execute();
    await appender.append({ ...row, input_sha256: hashInputs(task.inputs) });
    summary.written++;
    summary.judgeCalls += judgeCalls;
    summary.judgeErrors += judgeErrors;
    if (noVerdict) summary.noVerdict++;
    progress.itemDone();
  });
  await appender.flush();
  return summary;
}

/**
 * The tasks a rerun still has to do: those without a row, or whose last row is an $ERROR$ one (the
 * report reads the last row of each item). A finished row made from inputs that changed since, or a
 * Vicuna review made in the other number of orders, is refused rather than kept as if current.
 */
function pendingTasks(tasks: JudgeTask[], outputPath: string, mode: JudgeMode): JudgeTask[] {
  const latest = new Map<string, ExistingRow>();
  for (const row of readJsonlIfExists(outputPath, keyFieldsSchema)) latest.set(rowKey(row), row);
  const changed = new ChangedInputs();
  let otherOrders = 0;
  const pending: JudgeTask[] = [];
  for (const task of tasks) {
    const row = latest.get(task.key);
    if (!row || rowHasJudgeError(row)) {
      pending.push(task);
      continue;
    }
    changed.check(row.input_sha256, task.inputs);
    if (mode.kind === "vicuna-review" && (row.swapped_text !== undefined) !== (mode.bothOrders === true)) otherOrders++;
  }
  changed.refuseIfAny("eval judge", outputPath);
  if (otherOrders > 0) {
    const both = mode.kind === "vicuna-review" && mode.bothOrders === true;
    throw new ConfigError(
      `eval judge: ${outputPath} holds ${otherOrders} reviews made in ${both ? "one order" : "both orders (--both-orders)"}; ` +
        `${both ? "drop --both-orders" : "add --both-orders"} to resume it, or start over with a new --out (or delete ${outputPath})`,
    );
  }
  return pending;
}

/** Game 1 shows model_1 as A; game 2 shows model_2 as A. */
function positionToModel(verdict: PositionVerdict, game: "game1" | "game2"): PairwiseJudgmentRow["g1_winner"] {
  if (verdict === "tie" || verdict === "error") return verdict;
  const first = game === "game1" ? "model_1" : "model_2";
  const second = game === "game1" ? "model_2" : "model_1";
  return verdict === "A" ? first : second;
}

/** Length of what the judge compared: the turn's answer (the whole conversation for multi-turn prompts). */
function judgedLength(answer: Answer, turn: number): number {
  return turn > 1 ? answer.turns.slice(0, turn).join("").length : (answer.turns[0] ?? "").length;
}

async function reviewVicunaPair(
  options: JudgeRunOptions,
  { prompt, index }: ReturnType<typeof reviewerFor>,
  bothOrders: boolean,
  judgeName: string,
  question: Question,
  model1: string,
  model2: string,
  answer1: Answer,
  answer2: Answer,
  round: number,
  call: JudgeCallOptions,
) {
  const forward = vicunaReviewMessages(prompt, question, answer1, answer2);
  const backward = bothOrders ? vicunaReviewMessages(prompt, question, answer2, answer1) : undefined;
  const [result1, result2] = await Promise.all([callJudge(options.judge, forward.messages, call), backward ? callJudge(options.judge, backward.messages, call) : undefined]);
  const parsed1 = parseVicunaScores(result1.text);
  const parsed2 = result2 ? parseVicunaScores(result2.text) : undefined;
  const row: VicunaReviewRow = {
    question_id: question.questionId,
    ...(answer1.answerId ? { answer1_id: answer1.answerId } : {}),
    ...(answer2.answerId ? { answer2_id: answer2.answerId } : {}),
    model_1: model1,
    model_2: model2,
    // As eval_gpt_review.py writes it: the reviewer's 1-based position in reviewer.jsonl.
    reviewer_id: index,
    judge: [judgeName, `vicuna-review-${prompt.promptId}`],
    category: question.category,
    text: result1.text,
    score: parsed1.kind === "scores" ? parsed1.scores : [-1, -1],
    ...(result2 && parsed2
      ? {
          swapped_text: result2.text,
          // Stored in model order (model_1's score first), so both orders read the same way.
          swapped_score: parsed2.kind === "scores" ? ([parsed2.scores[1], parsed2.scores[0]] as [number, number]) : ([-1, -1] as [number, number]),
        }
      : {}),
    repeat: round,
    metadata: result1.error || result2?.error ? { error: result1.error ?? result2?.error } : {},
  };
  const judgeErrors = (result1.error !== undefined ? 1 : 0) + (result2?.error !== undefined ? 1 : 0);
  return { row, judgeCalls: result2 ? 2 : 1, judgeErrors, noVerdict: parsed1.kind !== "scores" || (parsed2 !== undefined && parsed2.kind !== "scores") };
}
