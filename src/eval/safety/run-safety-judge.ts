import type { LanguageModel } from "../../spec/language-model.js";
import type { Answer } from "../data/answers.js";
import { JsonlAppender, readJsonlIfExists } from "../data/jsonl.js";
import { LLM_JUDGE_MAX_TOKENS } from "../judge/run-judge.js";
import type { JudgeCallOptions } from "../run/judge-call.js";
import { callJudge } from "../run/judge-call.js";
import type { ProgressListener } from "../../progress/progress.js";
import { createProgressTracker } from "../../progress/progress.js";
import { ChangedInputs, hashInputs, type ItemInputs } from "../run/resume-inputs.js";
import { runWithConcurrency } from "../run/worker-pool.js";
import type { SafetyPrompt } from "./prompt-set.js";
import type { RefusalDetector } from "./refusal-detector.js";
import { parseSafetyVerdict, renderRubric, type SafetyRubric } from "./rubrics.js";
import { safetyJudgmentRowSchema, type SafetyJudgmentRow } from "./safety-judgments.js";

export interface SafetyJudgeOptions {
  judge: LanguageModel;
  judgeName?: string;
  rubric: SafetyRubric;
  detector: RefusalDetector;
  prompts: readonly SafetyPrompt[];
  model: string;
  /** prompt id → the model's answer (one per user turn). */
  answers: Map<string, Answer>;
  outputPath: string;
  concurrency?: number;
  call?: JudgeCallOptions;
  onProgress?: ProgressListener;
  now?: () => number;
}

export interface SafetyJudgeSummary {
  outputPath: string;
  total: number;
  resumed: number;
  written: number;
  judgeCalls: number;
  judgeErrors: number;
  /** Judgments whose verdict could not be read (counted as errors, never as safe). */
  unreadable: number;
  missingAnswers: string[];
}

/**
 * The judge stage of `eval safety`: each answer graded alone (single-answer grading, so no position
 * bias), one row appended per answer. A rerun skips finished rows, judges $ERROR$ rows again and
 * refuses to resume when a prompt, an answer or the rubric changed since a row was written.
 */
export async function runSafetyJudge(options: SafetyJudgeOptions): Promise<SafetyJudgeSummary> {
  const judgeName = options.judgeName ?? options.judge.modelId;
  const now = options.now ?? (() => Date.now() / 1000);
  const call: JudgeCallOptions = { ...options.call, temperature: options.call?.temperature ?? 0, maxTokens: options.call?.maxTokens ?? LLM_JUDGE_MAX_TOKENS };
  const keyOf = (id: string) => `${judgeName}|${options.rubric.name}|${options.model}|${id}`;
  const inputsOf = (prompt: SafetyPrompt, answer: Answer): ItemInputs => ({
    question: { content: { category: prompt.category, kind: prompt.kind, turns: prompt.turns }, label: `prompt ${prompt.id} (--prompts)` },
    answer: { content: answer.turns, label: `the answer of ${options.model} to prompt ${prompt.id} (--answers)` },
    judge_prompt: { content: options.rubric, label: `rubric "${options.rubric.name}" (--rubrics)` },
  });

  const existing = new Map(readJsonlIfExists(options.outputPath, safetyJudgmentRowSchema).map((row) => [`${row.judge[0]}|${row.judge[1]}|${row.model}|${row.id}`, row]));
  const missingAnswers: string[] = [];
  const planned: Array<{ prompt: SafetyPrompt; answer: Answer }> = [];
  const changed = new ChangedInputs();
  for (const prompt of options.prompts) {
    const answer = options.answers.get(prompt.id);
    if (!answer) {
      missingAnswers.push(prompt.id);
      continue;
    }
    changed.check(existing.get(keyOf(prompt.id))?.input_sha256, inputsOf(prompt, answer));
    planned.push({ prompt, answer });
  }
  changed.refuseIfAny("eval safety", options.outputPath);
  const pending = planned.filter(({ prompt }) => {
    const row = existing.get(keyOf(prompt.id));
    return !row || row.verdict === "error";
  });
  const summary: SafetyJudgeSummary = { outputPath: options.outputPath, total: planned.length, resumed: planned.length - pending.length, written: 0, judgeCalls: 0, judgeErrors: 0, unreadable: 0, missingAnswers };
  const progress = createProgressTracker("judge", planned.length, summary.resumed, options.onProgress);
  const appender = new JsonlAppender(options.outputPath);
  await runWithConcurrency(pending, options.concurrency ?? 1, async ({ prompt, answer }) => {
    const { messages, userPrompt } = renderRubric(options.rubric, prompt.turns, answer.turns);
    const result = await callJudge(options.judge, messages, call);
    const verdict = parseSafetyVerdict(options.rubric, result.text);
    const lastAnswer = answer.turns[answer.turns.length - 1] ?? "";
    const phrase = options.detector.matchedPhrase(lastAnswer);
    const row: SafetyJudgmentRow = {
      id: prompt.id,
      model: options.model,
      category: prompt.category,
      kind: prompt.kind,
      ...(prompt.subtype ? { subtype: prompt.subtype } : {}),
      judge: [judgeName, options.rubric.name],
      user_prompt: userPrompt,
      answer: lastAnswer,
      judgment: result.text,
      verdict: verdict.kind === "rated" ? (verdict.violation ? "violation" : "safe") : verdict.kind,
      score: verdict.kind === "rated" && verdict.score !== undefined ? verdict.score : -1,
      ...(verdict.kind === "rated" && verdict.guardCategories ? { guard_categories: verdict.guardCategories } : {}),
      judge_refusal: verdict.kind === "rated" && verdict.refusal !== undefined ? verdict.refusal : null,
      detector_refusal: phrase !== undefined,
      ...(phrase !== undefined ? { detector_phrase: phrase } : {}),
      ...(verdict.kind !== "rated" ? { reason: verdict.reason } : {}),
      ...(result.error ? { error: result.error } : {}),
      input_sha256: hashInputs(inputsOf(prompt, answer)),
      tstamp: now(),
    };
    await appender.append(row);
    summary.written++;
    summary.judgeCalls++;
    if (result.error !== undefined) summary.judgeErrors++;
    if (verdict.kind === "unreadable") summary.unreadable++;
    progress.itemDone();
  });
  await appender.flush();
  return summary;
}
